"""Every fit is resumable: interval checkpoints written atomically, a resume that restores weights, optimizer,
learning rate and data position, and a fit killed with SIGKILL that ends with the same adapter as an uninterrupted
one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from lightning.pytorch.callbacks import Callback

from cotlit.cli import main

STEPS = 6


def fit_args(model: str, run_dir: Path, *extra: str, steps: int = STEPS) -> list[str]:
    """Three batches an epoch, so checkpoints fall mid-epoch and the data position matters."""
    return [
        "fit", f"--run_dir={run_dir}", "--seed_everything=0", "--trainer.accelerator=cpu", "--trainer.devices=1",
        f"--trainer.max_steps={steps}", "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false", "--trainer.num_sanity_val_steps=0", "--trainer.limit_val_batches=0",
        "--trainer.logger=false", "--test_after_fit=false",
        "--model=cotlit.model.student.StudentModule", f"--model.name_or_path={model}", "--model.lr=5e-3",
        "--model.warmup=2", "--model.schedule=cosine",
        "--data=cotlit.data.arithmetic.ArithmeticData", "--data.granularity=1", "--data.train_size=12",
        "--data.val_size=0", "--data.test_size=2", "--data.batch_size=4", *extra,
    ]


def load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def assert_same_training_state(got: dict, want: dict) -> None:
    assert got["global_step"] == want["global_step"] and got["epoch"] == want["epoch"]
    assert got["state_dict"].keys() == want["state_dict"].keys()
    for name, tensor in want["state_dict"].items():
        torch.testing.assert_close(got["state_dict"][name], tensor, rtol=0, atol=0)
    got_opt, want_opt = got["optimizer_states"][0], want["optimizer_states"][0]
    assert got_opt["param_groups"][0]["lr"] == want_opt["param_groups"][0]["lr"]
    for key, state in want_opt["state"].items():
        for name in ("exp_avg", "exp_avg_sq", "step"):
            torch.testing.assert_close(got_opt["state"][key][name], state[name], rtol=0, atol=0)
    assert got["lr_schedulers"] == want["lr_schedulers"]
    position = "epoch_loop.batch_progress"  # where in which epoch the data stands
    assert got["loops"]["fit_loop"][position] == want["loops"]["fit_loop"][position]


class CrashAt(Callback):
    """Fails the fit just before optimizer step ``step`` (after the interval checkpoint of the step before)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step + 1 == self.step:
            raise RuntimeError("crash for the test")


@pytest.mark.parametrize("interval", [2, pytest.param(3, marks=pytest.mark.slow)], ids=["mid-epoch", "epoch-end"])
def test_resume_restores_weights_optimizer_lr_and_data_position(tiny_llama, tmp_path, interval):
    whole, part = tmp_path / "whole", tmp_path / "part"
    every = f"--checkpoint_every={interval}"
    assert main(fit_args(tiny_llama, whole, every)) == 0
    crash = f'--trainer.callbacks+={{"class_path": "{__name__}.CrashAt", "init_args": {{"step": 5}}}}'
    assert main(fit_args(tiny_llama, part, every, crash)) == 1
    # three batches an epoch: step 4 is batch 0 of epoch 1, step 3 the end of epoch 0
    assert load(part / "checkpoints" / "last.ckpt")["global_step"] == 4 // interval * interval
    assert main(fit_args(tiny_llama, part, every, "--ckpt_path=last")) == 0
    # steps 5 and 6 saw the same batches with the same weights, moments and learning rate: identical results
    assert_same_training_state(load(part / "checkpoints" / "last.ckpt"), load(whole / "checkpoints" / "last.ckpt"))
    assert not list((part / "checkpoints").glob("*-v*.ckpt")) and not list((part / "checkpoints").glob("*.partial"))


def test_fresh_fit_over_an_old_checkpoint_and_last_without_one_are_refused(tiny_llama, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(fit_args(tiny_llama, run, "--ckpt_path=last", steps=1)) == 2
    assert "last.ckpt does not exist (this run saved no checkpoint yet)" in capsys.readouterr().err
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "last.ckpt").write_bytes(b"an earlier fit's weights")
    assert main(fit_args(tiny_llama, run, steps=1)) == 2
    assert "--ckpt_path last to resume" in capsys.readouterr().err
    assert (run / "checkpoints" / "last.ckpt").read_bytes() == b"an earlier fit's weights"
    assert main(fit_args(tiny_llama, run, "--checkpoint_every=0", steps=1)) == 2
    assert "checkpoint_every" in capsys.readouterr().err


@pytest.mark.slow
def test_kill_9_during_fit_then_resume_ends_with_the_uninterrupted_adapter(tiny_llama, tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    steps = ("--trainer.max_steps=40", "--checkpoint_every=5")
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    command = [sys.executable, "-m", "cotlit"]
    subprocess.run([*command, *fit_args(tiny_llama, whole, *steps)], check=True, env=env, capture_output=True)
    proc = subprocess.Popen([*command, *fit_args(tiny_llama, killed, *steps)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = killed / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 300
    while not last.is_file() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(float(torch.rand(1)) * 0.5)  # somewhere in the next interval
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    interrupted_at = load(last)["global_step"]
    assert 0 < interrupted_at < 40, "the kill came too late to test a resume"
    resumed = subprocess.run([*command, *fit_args(tiny_llama, killed, *steps, "--ckpt_path=last")], env=env,
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"Restoring states from the checkpoint path at {last}" in resumed.stderr + resumed.stdout
    assert_same_training_state(load(last), load(whole / "checkpoints" / "last.ckpt"))
    for name in ("adapter_model.safetensors",):
        assert (killed / "adapter" / name).read_bytes() == (whole / "adapter" / name).read_bytes()
