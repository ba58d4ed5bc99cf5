"""``cotlit teach`` from a YAML config and flags; the API key never reaches a file, a log or an error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import FAKE_KEY, write_questions

from cotlit.cli.teach import build_parser, parse_config
from cotlit.teach.runner import validate


def run_cli(args: list[str], cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "COTLIT_TEST_KEY": FAKE_KEY}
    return subprocess.run([sys.executable, "-m", "cotlit", "teach", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_config_file_and_flags_compose(tmp_path):
    config = tmp_path / "t.yaml"
    config.write_text(yaml.safe_dump({"task": "gsm8k", "backend": {"name": "openai", "model": "a"}, "levels": [1, 2]}))
    parsed = parse_config(["--config", str(config), "--backend.model", "b", "--formats", "[plain, rar]"])
    assert (parsed.task, parsed.backend.name, parsed.backend.model, parsed.levels, parsed.formats) == (
        "gsm8k", "openai", "b", [1, 2], ["plain", "rar"]
    )


def test_the_key_appears_in_no_output_log_or_error(tmp_path, fake_openai):
    fake_openai.script = {"q0:": ["429", "500"], "q1:": ["truncated"], "q2:": ["notrigger"] * 3}
    config = tmp_path / "teach.yaml"
    config.write_text(yaml.safe_dump({
        "task": "svamp", "teacher": "tester", "levels": [1, 3], "formats": ["plain", "sym"], "out_dir": "out",
        "data": {"source": str(write_questions(tmp_path / "toy_onlyans.json", 4))},
        "backend": {"name": "openai", "model": "m", "base_url": fake_openai.url, "api_key_env": "COTLIT_TEST_KEY",
                    "timeout_s": 2, "backoff_s": 0.01},
    }))
    runs = [run_cli(["--config", str(config)], tmp_path)]
    runs.append(run_cli(["--config", str(config), "--print_config"], tmp_path))
    assert runs[0].returncode == 0, runs[0].stderr
    # 8 plain CoTs; the 3 usable plain CoTs of each level are identical here, so their rewrites share 3 requests
    assert "this run: 11 items generated" in runs[0].stderr and "failed no-trigger: 1" in runs[0].stderr
    fake_openai.script = {"q3:": ["401"]}  # the server echoes the key in its error body
    runs.append(run_cli(["--config", str(config), "--retry_failed", "true", "--levels", "[2]"], tmp_path))
    assert runs[2].returncode == 2 and "HTTP 401" in runs[2].stderr and "COTLIT_TEST_KEY" in runs[2].stderr
    assert fake_openai.authorization == {f"Bearer {FAKE_KEY}"}  # the key was read and sent

    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) >= 4 * 3 + 3  # data, provenance, profile per file; registry, cache, saved config
    for path in written:
        assert FAKE_KEY not in path.read_text(errors="replace"), path
    for run in runs:
        assert FAKE_KEY not in run.stdout + run.stderr


def test_shipped_configs_parse_and_validate():
    configs = sorted((Path(__file__).resolve().parents[2] / "configs" / "teach").glob("*.yaml"))
    assert len(configs) == 8
    for path in configs:
        config = parse_config(["--config", str(path)])
        validate(config)
        remote = config.backend.name in ("openai", "openai_batch")
        assert not remote or config.backend.base_url or config.backend.api_key_env


def test_every_teach_flag_has_plain_help_and_one_spelling():
    parser = build_parser()
    for action in parser._actions:
        assert action.help and "``" not in action.help, action.option_strings
        assert all("-" not in option.lstrip("-") for option in action.option_strings), action.option_strings
    task = next(action for action in parser._actions if action.dest == "task")
    assert "gsm8k" in task.help and "svamp" in task.help
