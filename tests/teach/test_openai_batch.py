"""The OpenAI Batch API backend through the real ``openai`` client against the fake server's files and batches
endpoints: upload, poll, download, map back, count every failure, and resume a killed run by its batch id."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml
from conftest import FAKE_KEY, make_config, provenance, rows, write_questions

from cotlit.cli.teach import parse_config
from cotlit.errors import CotlitError
from cotlit.teach.runner import run_teach


def batch_config(tmp_path, url, n, **overrides):
    return make_config(tmp_path, url, n=n, backend={"name": "openai_batch"}, **overrides)


def state(tmp_path) -> list[dict]:
    path = tmp_path / "out" / "svamp_tester.cache.batches.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_batch_run_maps_every_result_back_and_counts_each_failure(tmp_path, fake_openai, monkeypatch):
    monkeypatch.setenv("COTLIT_TEST_KEY", FAKE_KEY)
    fake_openai.script = {"q1:": ["500"], "q2:": ["nochoices"], "q3:": ["errorline"], "q4:": ["notrigger"]}
    log = io.StringIO()
    summary = run_teach(batch_config(tmp_path, fake_openai.url, n=6), log=log)

    assert fake_openai.calls["POST /chat/completions"] == 0 and fake_openai.calls["POST /batches"] == 2
    first_input = [json.loads(line) for line in fake_openai.files["file-1"].decode().splitlines()]
    cache = (tmp_path / "out" / "svamp_tester.cache.jsonl").read_text().splitlines()
    assert sorted(line["custom_id"] for line in first_input) == sorted(json.loads(line)["key"] for line in cache)
    assert {(line["method"], line["url"], line["body"]["max_tokens"]) for line in first_input} == {
        ("POST", "/v1/chat/completions", 64)
    }
    assert [r["instruction"][:3] for r in rows(tmp_path)] == ["q0:", "q4:", "q5:"]  # q4: content retry, batch 2
    assert [p.get("reason") for p in provenance(tmp_path)][1:4] == [
        "HTTP 500: fake 500 for key ***", "malformed reply (no choices)",
        "batch error: This request could not be executed.",
    ]
    assert summary.tally.content_retries == 1 and summary.tally.prompt_tokens == 10 * 4  # 4 replies had usage
    assert [(record["key"], record["status"]) for record in state(tmp_path)] == [
        ("batch-1", "open"), ("batch-1", "closed"), ("batch-2", "open"), ("batch-2", "closed")
    ]
    assert "submitted batch batch-1 (6 requests)" in log.getvalue()

    fake_openai.script = {}
    config = batch_config(tmp_path, fake_openai.url, n=6, retry_failed=True)
    again = run_teach(config, log=io.StringIO())
    assert (again.tally.sent, again.tally.cached, again.files[0].rows) == (3, 3, 6)
    assert len(fake_openai.batches) == 3


@pytest.mark.parametrize(
    ("outcome", "failed"),
    [("expired", {"no result (batch expired)": 2}),
     ("failed", {"batch failed: invalid_request: line 1: the model does not exist": 4})],
)
def test_expired_and_failed_batches_count_every_request_without_a_result(tmp_path, fake_openai, monkeypatch,
                                                                           outcome, failed):
    monkeypatch.setenv("COTLIT_TEST_KEY", FAKE_KEY)
    fake_openai.batch_outcome = outcome
    summary = run_teach(batch_config(tmp_path, fake_openai.url, n=4), log=io.StringIO())
    assert dict(summary.files[0].failed) == failed and summary.files[0].rows == 4 - sum(failed.values())


def test_a_refused_setting_in_a_batch_stops_the_run_and_closes_that_batch(tmp_path, fake_openai, monkeypatch):
    monkeypatch.setenv("COTLIT_TEST_KEY", FAKE_KEY)
    fake_openai.reject_params = {"max_tokens"}
    config = batch_config(tmp_path, fake_openai.url, n=3)
    with pytest.raises(CotlitError, match="Unsupported parameter: 'max_tokens'"):
        run_teach(config, log=io.StringIO())
    assert state(tmp_path)[-1]["status"] == "closed"
    config.backend.token_param = "max_completion_tokens"  # the fix: a re-run submits a new batch
    assert run_teach(config, log=io.StringIO()).files[0].rows == 3 and len(fake_openai.batches) == 2


def test_a_run_killed_while_waiting_resumes_its_batch_by_id(tmp_path, fake_openai, monkeypatch):
    fake_openai.batch_polls = 10**9  # never finishes while the first run waits
    out = tmp_path / "out"
    config = tmp_path / "teach.yaml"
    config.write_text(yaml.safe_dump({
        "task": "svamp", "teacher": "tester", "levels": [1], "out_dir": str(out), "progress": False,
        "data": {"source": str(write_questions(tmp_path / "toy_onlyans.json", 5))},
        "backend": {"name": "openai_batch", "model": "m", "base_url": fake_openai.url,
                    "api_key_env": "COTLIT_TEST_KEY", "poll_s": 0.05},
    }))
    env = {**os.environ, "COTLIT_TEST_KEY": FAKE_KEY}
    first = subprocess.Popen([sys.executable, "-m", "cotlit", "teach", "--config", str(config)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while fake_openai.calls["GET /batches"] < 2 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert [record["key"] for record in state(tmp_path)] == ["batch-1"]

    fake_openai.batch_polls = 1
    monkeypatch.setenv("COTLIT_TEST_KEY", FAKE_KEY)
    log = io.StringIO()
    summary = run_teach(parse_config(["--config", str(config)]), log=log)
    assert "resuming batch batch-1 (5 requests)" in log.getvalue()
    assert fake_openai.calls["POST /batches"] == 1 and summary.files[0].rows == 5
    assert [record["status"] for record in state(tmp_path)] == ["open", "closed"]
