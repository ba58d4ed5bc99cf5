"""An experiment tracker given as ``--trainer.logger`` (TensorBoard, set up as docs/tracking.md shows) replaces the
default CSV log and receives the training scalars, while the config, checkpoints and adapter stay in the run
directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lightning.pytorch.loggers import Logger

from cotlit.cli import main

STEPS = 3


def test_tensorboard_logger_through_cotlit_fit(tiny_llama: str, tmp_path: Path) -> None:
    pytest.importorskip("tensorboard", reason="tensorboard is not installed (pip install -e '.[tensorboard]')")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = tmp_path / "run"
    logger = {"class_path": "lightning.pytorch.loggers.TensorBoardLogger",
              "init_args": {"save_dir": str(run_dir), "name": "", "version": ""}}
    assert main([
        "fit", f"--run_dir={run_dir}", "--seed_everything=0", "--trainer.accelerator=cpu", "--trainer.devices=1",
        f"--trainer.max_steps={STEPS}", "--trainer.log_every_n_steps=1", "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false", "--trainer.limit_val_batches=0", "--test_after_fit=false",
        f"--trainer.logger={json.dumps(logger)}",
        "--model=cotlit.model.student.StudentModule", f"--model.name_or_path={tiny_llama}",
        "--data=cotlit.data.arithmetic.ArithmeticData", "--data.granularity=1", "--data.train_size=8",
        "--data.val_size=0", "--data.test_size=2", "--data.batch_size=4",
    ]) == 0

    events = EventAccumulator(str(run_dir))
    events.Reload()
    assert [event.step for event in events.Scalars("train/loss")] == list(range(STEPS))
    assert "train/lr" in events.Tags()["scalars"]
    assert not (run_dir / "metrics.csv").exists()  # the tracker replaced the CSV log, it was not added to it
    assert (run_dir / "config.yaml").is_file() and (run_dir / "adapter").is_dir()
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()


class FolderlessLogger(Logger):
    """A tracker with no local folder (as MLflow with a database or server store): ``log_dir`` is None."""

    name, version, save_dir, log_dir = "folderless", "0", None, None

    def log_metrics(self, metrics, step=None) -> None:
        pass

    def log_hyperparams(self, params, *args, **kwargs) -> None:
        pass


@pytest.mark.parametrize("logger", [
    {"class_path": "lightning.pytorch.loggers.CSVLogger", "init_args": {"save_dir": "ELSEWHERE"}},
    {"class_path": f"{__name__}.FolderlessLogger"},
])
def test_config_lands_in_the_run_dir_whatever_the_logger(tiny_llama: str, tmp_path: Path, logger: dict) -> None:
    run_dir, elsewhere = tmp_path / "run", tmp_path / "elsewhere"
    logger = json.loads(json.dumps(logger).replace("ELSEWHERE", str(elsewhere)))
    assert main([
        "fit", f"--run_dir={run_dir}", "--seed_everything=0", "--trainer.accelerator=cpu", "--trainer.devices=1",
        "--trainer.max_steps=1", "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false",
        "--trainer.limit_val_batches=0", "--test_after_fit=false", f"--trainer.logger={json.dumps(logger)}",
        "--model=cotlit.model.student.StudentModule", f"--model.name_or_path={tiny_llama}",
        "--data=cotlit.data.arithmetic.ArithmeticData", "--data.granularity=1", "--data.train_size=4",
        "--data.val_size=0", "--data.test_size=2", "--data.batch_size=4",
    ]) == 0
    assert f"run_dir: {run_dir}" in (run_dir / "config.yaml").read_text()
    assert not list(elsewhere.rglob("config.yaml"))  # not (only) in the logger's folder
