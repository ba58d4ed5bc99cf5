"""Bad input to every command ends in one clear line on stderr, a non-zero exit, no traceback, no usage block,
and leaves every file as it was (nothing is created, changed or run)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

NOT_UTF8 = b"model: caf\xe9\n"
MODEL = ["--model=cotlit.model.student.StudentModule", "--data=cotlit.data.arithmetic.ArithmeticData",
         "--seed_everything=false", "--trainer.max_steps=1"]


class Evil:
    """Unpickling it would create the file ``MARKER`` (what a crafted checkpoint could do)."""

    def __reduce__(self):
        return (open, ("MARKER", "w"))


def write_files(folder: Path) -> None:
    import torch

    (folder / "bad.yaml").write_bytes(NOT_UTF8)
    (folder / "preds.jsonl").write_bytes(b'{"generated": "caf\xe9"}\n')
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "a_file").write_text("in the way\n")
    (folder / "empty").mkdir()
    (folder / "blocked").mkdir()
    (folder / "blocked" / "checkpoints").write_text("a file where checkpoints go\n")
    (folder / "script").mkdir()
    (folder / "script" / "script.py").write_text("raise SystemExit('dataset code ran')\n")
    torch.save({"state_dict": {}, "hyper_parameters": Evil()}, folder / "evil.ckpt")
    torch.save({"state_dict": {"w": torch.zeros(64)}, "hyper_parameters": {}}, folder / "whole.ckpt")
    (folder / "truncated.ckpt").write_bytes((folder / "whole.ckpt").read_bytes()[:200])
    grid = {"axes": {"data.init_args.granularity": [1, 2]}, "exclude": [{"granularity": [1, 2]}]}
    (folder / "zero.yaml").write_text(yaml.safe_dump(grid))
    slurm = {"axes": {"seed_everything": [0]}, "slurm": {"time": "01:00:00\nrm -rf ~"}}
    (folder / "newline.yaml").write_text(yaml.safe_dump(slurm))
    (folder / "ok.yaml").write_text(yaml.safe_dump({"axes": {"seed_everything": [0]}, "runs_dir": "runs"}))
    (folder / "grid.yaml").write_bytes(b"name: gr\xfcn\n")


CASES = {
    "fit-non-utf8-config": (["fit", "--config=bad.yaml"], "not UTF-8"),
    "fit-last-without-checkpoint": (["fit", *MODEL, "--run_dir=empty", "--ckpt_path=last"], "does not exist"),
    "validate-run-dir-is-a-file": (["validate", *MODEL, "--run_dir=a_file"], "a file is in the way"),
    "fit-checkpoint-folder-is-a-file": (["fit", *MODEL, "--run_dir=blocked"], "a file is in the way"),
    "test-crafted-checkpoint": (["test", *MODEL, "--ckpt_path=evil.ckpt"], "refusing to load"),
    "test-truncated-checkpoint": (["test", *MODEL, "--ckpt_path=truncated.ckpt"], "corrupt, truncated"),
    "predict-bad-value": (["predict", *MODEL, "--trainer.max_steps=abc"], "trainer.max_steps"),
    "score-non-utf8": (["score", "--task", "svamp", "--input", "preds.jsonl"], "preds.jsonl"),
    "score-deep-json": (["score", "--task", "svamp", "--input", "deep.json"], "deep.json: nested too deeply"),
    "inspect-dataset-script": (["inspect", "script"], "dataset script"),
    "render-non-utf8-config": (["render", "--config", "bad.yaml"], "bad.yaml"),
    "export-crafted-checkpoint": (["export", "--ckpt", "evil.ckpt", "--out", "out"], "refusing to load"),
    "export-truncated-checkpoint": (["export", "--ckpt", "truncated.ckpt", "--out", "out"], "truncated.ckpt"),
    "export-out-is-input": (["export", "--ckpt", "whole.ckpt", "--out", "whole.ckpt"], "overwrite the input"),
    "export-missing-flag": (["export", "--ckpt", "whole.ckpt"], "--out"),
    "teach-non-utf8-config": (["teach", "--config", "bad.yaml"], "not UTF-8"),
    "teach-unknown-flag": (["teach", "--no_such_flag=1"], "no_such_flag"),
    "sweep-zero-runs": (["sweep", "--grid", "zero.yaml", "--dry_run"], "no runs"),
    "sweep-newline-in-slurm": (["sweep", "--grid", "newline.yaml", "--emit", "slurm"], "slurm.time"),
    "sweep-emit-out-is-a-folder": (["sweep", "--grid", "ok.yaml", "--emit", "shell", "--out", "empty"], "folder"),
    "sweep-non-utf8-grid": (["sweep", "--grid", "grid.yaml", "--dry_run"], "not UTF-8"),
    "sweep-runs-dir-is-a-file": (["sweep", "--grid", "ok.yaml", "--runs_dir", "a_file", "--dry_run"],
                                 "a file is in the way"),
    "report-no-finished-runs": (["report", "empty"], "no finished runs"),
    "report-out-is-a-file": (["report", "empty", "--out", "a_file"], "a file is in the way"),
    "recommend-no-finished-runs": (["recommend", "empty"], "no finished runs"),
}


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bad-inputs")
    write_files(folder)
    return folder


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_and_touches_nothing(case, inputs):
    args, expected = CASES[case]
    before = snapshot(inputs)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    result = subprocess.run([sys.executable, "-m", "cotlit", *args], cwd=inputs, env=env, capture_output=True,
                            text=True, timeout=120)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0, result.stdout
    assert len(lines) == 1 and lines[0].startswith(f"cotlit {args[0]}: error: "), result.stderr[-3000:]
    assert expected in lines[0]
    assert "Traceback" not in result.stderr and "usage:" not in result.stderr + result.stdout
    assert snapshot(inputs) == before


def test_debug_shows_the_traceback(tmp_path):
    from cotlit.cli import main
    from cotlit.errors import CotlitError

    assert main(["sweep", "--grid", str(tmp_path / "missing.yaml")]) == 2
    with pytest.raises(CotlitError, match="missing.yaml"):
        main(["--debug", "sweep", "--grid", str(tmp_path / "missing.yaml")])
