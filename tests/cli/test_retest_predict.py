"""Re-testing a finished run (``--run``) into a new folder, the warning and the protection of a run's results when
no trained weights are given, and ``predict --input`` on a file of new questions without gold answers."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from cotlit.cli import main
from cotlit.cli.train import RUN_DIR_ENV

QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]


@pytest.fixture(scope="module")
def finished_run(tiny_llama: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny fit that tested its student: config.yaml, checkpoints/, adapter/, predictions and metrics."""
    run_dir = tmp_path_factory.mktemp("finished") / "run"
    assert main([
        "fit", f"--run_dir={run_dir}", "--seed_everything=0", "--trainer.accelerator=cpu", "--trainer.devices=1",
        "--trainer.max_steps=2", "--trainer.limit_val_batches=0", *QUIET,
        "--model=cotlit.model.student.StudentModule", f"--model.name_or_path={tiny_llama}", "--model.lr=1e-2",
        "--model.decoding.max_new_tokens=6", "--data=cotlit.data.arithmetic.ArithmeticData", "--data.granularity=1",
        "--data.train_size=8", "--data.val_size=0", "--data.test_size=3", "--data.batch_size=4",
    ]) == 0
    return run_dir


@pytest.fixture(autouse=True)
def fresh_run_dir_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each command picks its own default folder (the variable only carries one command's folder to its ranks)."""
    monkeypatch.delenv(RUN_DIR_ENV, raising=False)


def files(run: Path, names: set[str]) -> dict[str, str]:
    """The hash of every file below the entries ``names`` of a run folder."""
    return {str(path.relative_to(run)): hashlib.sha1(path.read_bytes()).hexdigest()
            for path in sorted(run.rglob("*")) if path.is_file() and path.relative_to(run).parts[0] in names}


def snapshot(run: Path) -> tuple[set[str], dict[str, str]]:
    names = {path.name for path in run.iterdir()}
    return names, files(run, names)


def only_new_folder(run: Path, before: tuple[set[str], dict[str, str]]) -> Path:
    """The one folder a command added to ``run``, after checking that it changed nothing else there."""
    names, own = before
    [added] = {path.name for path in run.iterdir()} - names
    assert files(run, names) == own  # predictions, metrics, config, CSV log and weights untouched
    return run / added


def scores(path: Path) -> dict:
    metrics = json.loads(path.read_text())
    return {key: metrics[key] for key in ("n", "answer_accuracy", "format_ok_rate", "gen_tokens", "gen_truncated")}


def test_retest_of_a_finished_run_writes_a_new_folder_with_equal_results(finished_run: Path, capsys) -> None:
    before = snapshot(finished_run)
    assert main(["test", "--run", str(finished_run), *QUIET]) == 0
    retest = only_new_folder(finished_run, before)
    assert retest.name.startswith("test-")
    assert scores(retest / "metrics.json") == scores(finished_run / "metrics.json")
    assert (retest / "predictions.jsonl").read_text() == (finished_run / "predictions.jsonl").read_text()
    assert "WARNING" not in capsys.readouterr().err
    metrics = json.loads((retest / "metrics.json").read_text())
    trained = json.loads((finished_run / "metrics.json").read_text())["global_step"]
    assert trained > 0 and metrics["global_step"] == trained  # the steps behind the weights, not the test's 0
    assert metrics["data_report"]["skipped_bad_records"] == {"train": 0, "val": 0, "test": 0}
    assert (retest / "metrics.csv").is_file()  # the run's CSV logger moved with the results


def test_run_dir_given_with_run_is_used(finished_run: Path, tmp_path: Path) -> None:
    assert main(["test", "--run", str(finished_run), f"--run_dir={tmp_path / 'out'}", *QUIET]) == 0
    assert scores(tmp_path / "out" / "metrics.json") == scores(finished_run / "metrics.json")


def test_config_without_weights_warns_and_keeps_the_run_results(finished_run: Path, capsys) -> None:
    before = snapshot(finished_run)
    assert main(["test", "--config", str(finished_run / "config.yaml"), *QUIET]) == 0
    err = capsys.readouterr().err
    assert "WARNING: no trained weights" in err and "untrained student" in err
    elsewhere = only_new_folder(finished_run, before)
    assert f"writing to {elsewhere}" in err
    # the untrained student answers otherwise: the re-test's equal predictions come from the trained weights
    assert (elsewhere / "predictions.jsonl").read_text() != (finished_run / "predictions.jsonl").read_text()


def test_run_needs_a_run_folder_and_an_evaluating_command(finished_run: Path, tmp_path: Path, capsys) -> None:
    assert main(["test", "--run", str(tmp_path)]) == 2
    assert "no config.yaml" in capsys.readouterr().err
    assert main(["fit", "--run", str(finished_run)]) == 2
    assert "--ckpt_path last" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_predict_input_answers_new_questions_without_gold(finished_run: Path, tmp_path: Path, suffix: str) -> None:
    questions = [{"id": "q1", "question": "What is 2 plus 3?"}, {"question": "What is 4 times 5?"},
                 {"id": 7, "question": "Which is larger?", "choices": ["3", "9"]}]
    path = tmp_path / f"questions{suffix}"
    path.write_text("".join(json.dumps(q) + "\n" for q in questions) if suffix == ".jsonl" else json.dumps(questions))
    out = tmp_path / "out"
    assert main(["predict", "--run", str(finished_run), "--input", str(path), f"--run_dir={out}", *QUIET]) == 0
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [row["question"] for row in rows] == [q["question"] for q in questions]
    assert rows[0]["id"] == "q1" and rows[2]["id"] == "7" and len(rows[1]["id"]) == 16
    assert rows[2]["choices"] == ["3", "9"]
    for row in rows:
        assert {"generated", "extracted", "gen_tokens"} <= row.keys()
        assert "correct" not in row and "gold" not in row
    assert not (out / "metrics.json").exists()


def test_predict_input_bad_record_names_file_record_and_field(finished_run: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "questions.jsonl"
    path.write_text('{"question": "What is 1 plus 1?"}\n{"text": "no question field"}\n')
    assert main(["predict", "--run", str(finished_run), "--input", str(path), f"--run_dir={tmp_path / 'out'}",
                 *QUIET]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "question" in err and "missing field" in err
