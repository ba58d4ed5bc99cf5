"""A ``cotlit teach`` run killed with SIGKILL part-way and restarted: every item once, no saved item re-sent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from conftest import FAKE_KEY, write_questions

N = 40


def start(config: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cotlit", "teach", "--config", str(config)],
        env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )


def cache_records(path: Path) -> list[dict]:
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line) for line in lines if line.endswith("}")]


def test_sigkill_then_restart_completes_every_item_once(tmp_path, fake_openai):
    fake_openai.delay_s = 0.05
    out = tmp_path / "out"
    config = tmp_path / "teach.yaml"
    config.write_text(yaml.safe_dump({
        "task": "svamp", "teacher": "tester", "levels": [2], "formats": ["plain"], "out_dir": str(out),
        "progress": False,
        "data": {"source": str(write_questions(tmp_path / "toy_onlyans.json", N))},
        "backend": {"name": "openai", "model": "m", "base_url": fake_openai.url, "api_key_env": "COTLIT_TEST_KEY",
                    "concurrency": 2, "timeout_s": 5, "backoff_s": 0.01},
    }))
    env = {**os.environ, "COTLIT_TEST_KEY": FAKE_KEY}
    cache = out / "svamp_tester.cache.jsonl"
    log = tmp_path / "run.log"

    first = start(config, env, log)
    deadline = time.monotonic() + 60
    while len(cache_records(cache)) < 8 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait()
    saved = cache_records(cache)
    assert first.returncode == -signal.SIGKILL and 8 <= len(saved) < N

    second = start(config, env, log)
    assert second.wait(timeout=120) == 0, log.read_text()

    rows = json.loads((out / "svamp_tester_level2.json").read_text())
    assert sorted(r["instruction"].split(":")[0] for r in rows) == sorted(f"q{i}" for i in range(N))
    final = cache_records(cache)
    assert len(final) == len({r["key"] for r in final}) == N  # no duplicate records
    assert all(fake_openai.requests[r["prompt_hash"]] == 1 for r in saved)  # nothing saved was sent again
    sent = sum(fake_openai.requests.values())
    assert sent <= N + 2, log.read_text()  # at most the two in flight at the kill were repeated
