"""Fixtures for sweep tests: a fake ``fit``/``test`` program and synthetic run directories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FAKE = '''
import json, os, sys, time
from pathlib import Path

step, args = sys.argv[1], sys.argv[2:]
run_dir = Path(args[args.index("--run_dir") + 1])
control = json.loads(Path(os.environ["FAKE_CONTROL"]).read_text())
with open(control["calls"], "a") as calls:
    calls.write(f"{step} {run_dir.name}\\n")
if step == "fit":
    (run_dir / "fake.pid").write_text(str(os.getpid()))
    if any(key in run_dir.name for key in control.get("hang", [])):
        time.sleep(60)
    (run_dir / "config.yaml").write_text(json.dumps(args))
    print("fit", args)
    sys.exit(0)
if any(key in run_dir.name for key in control.get("fail", [])):
    print("Traceback: something broke in", run_dir.name)
    sys.exit(3)
if any(key in run_dir.name for key in control.get("no_metrics", [])):
    sys.exit(0)
(run_dir / "metrics.json").write_text(json.dumps({"task": "arithmetic", "answer_accuracy": 1.0}))
'''


@pytest.fixture
def fake_program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fake training CLI; returns (script path, control dict writer, calls file)."""
    script = tmp_path / "fake_cli.py"
    script.write_text(FAKE)
    control_path = tmp_path / "control.json"
    calls = tmp_path / "calls.log"
    monkeypatch.setenv("FAKE_CONTROL", str(control_path))

    def control(**settings) -> None:
        control_path.write_text(json.dumps({"calls": str(calls)} | settings))

    control()
    return script, control, calls


@pytest.fixture
def make_run():
    """The :func:`write_run` helper."""
    return write_run


def write_run(root: Path, name: str, *, correct: list[bool], student: str = "tiny", teacher: str | None = "gpt4o",
              granularity: int | None = 1, fmt: str = "plain", seed: int = 0, task: str = "arithmetic",
              cot_words: float = 10.0, ids: list[str] | None = None, state: str | None = "done",
              baseline: float | None = None) -> Path:
    """A run directory as ``cotlit test`` leaves it, with a given correctness vector."""
    run_dir = root / name
    run_dir.mkdir(parents=True)
    ids = ids or [f"q{i}" for i in range(len(correct))]
    accuracy = sum(correct) / len(correct)
    metrics = {"task": task, "split": "test", "n": len(correct), "answer_accuracy": accuracy, "answer_found": 1.0,
               "gen_tokens": 20.0, "gen_truncated": 0.0, "student": student, "finetuning": "lora",
               "teacher": teacher, "granularity": granularity, "format": fmt, "seed": seed,
               "train_cot_words": cot_words}
    if baseline is not None:
        metrics["baseline"] = {"answer_accuracy": baseline}
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    rows = [{"id": i, "question": "?", "gold": "1", "generated": "The answer is 1", "extracted": "1",
             "format_ok": True, "correct": c, "gen_tokens": 5, "truncated": False} for i, c in zip(ids, correct)]
    (run_dir / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    if state is not None:
        (run_dir / "status.json").write_text(json.dumps({"state": state}))
    return run_dir
