"""Multi-process runs of ``python -m cotlit`` on CPU (gloo): 2-rank DDP and a simulated 2-node job."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cotlit.cli import main

HERE = Path(__file__).resolve().parent
LAUNCH_VARS = ("COTLIT_RUN_DIR", "MASTER_ADDR", "MASTER_PORT", "NODE_RANK", "WORLD_SIZE", "LOCAL_RANK", "RANK",
               "GROUP_RANK", "LOCAL_WORLD_SIZE", "TORCHELASTIC_RUN_ID")
TEST_SIZE = 5
"""Test examples: not divisible by ranks x eval batch (2 x 2), and the 3 batches are padded to 4 with a repeat."""


def cli_args(command: str, model: str, run_dir: Path, probe: Path, *extra: str) -> list[str]:
    return [
        "-m", "cotlit", command,
        f"--run_dir={run_dir}",
        "--seed_everything=0",
        "--trainer.accelerator=cpu",
        "--trainer.precision=32-true",
        "--trainer.max_steps=3",
        "--trainer.limit_val_batches=0",
        "--trainer.num_sanity_val_steps=0",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
        "--trainer.log_every_n_steps=1",
        "--trainer.callbacks+=rank_probe.RankProbe",
        f"--trainer.callbacks.out_dir={probe}",
        "--model=cotlit.model.student.StudentModule",
        f"--model.name_or_path={model}",
        "--model.finetuning=lora",
        "--model.lr=1e-2",
        "--model.warmup=0",
        "--model.decoding.max_new_tokens=12",
        "--data=cotlit.data.arithmetic.ArithmeticData",
        "--data.granularity=1",
        "--data.train_size=16",
        "--data.val_size=4",
        f"--data.test_size={TEST_SIZE}",
        "--data.batch_size=4",
        "--data.eval_batch_size=2",
        *extra,
    ]


def child_env(tmp_path: Path, **launch: str) -> dict[str, str]:
    """This environment without launcher variables, one thread per process (same float sums at any world size)."""
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_VARS and not k.startswith("SLURM_")}
    env.update(OMP_NUM_THREADS="1", COTLIT_CACHE=str(tmp_path / "cache"), PYTHONPATH=str(HERE), **launch)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    return done


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def predictions(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]


def assert_rank_zero_wrote_everything(run_dir: Path, probe: Path, world_size: int) -> None:
    rows = predictions(run_dir)
    assert len(rows) == TEST_SIZE and len({r["id"] for r in rows}) == TEST_SIZE
    assert json.loads((run_dir / "metrics.json").read_text())["n"] == TEST_SIZE
    assert (run_dir / "config.yaml").is_file() and (run_dir / "adapter" / "adapter_model.safetensors").is_file()
    for rank in range(1, world_size):
        assert json.loads((probe / f"writes-rank{rank}.json").read_text()) == []


def assert_ranks_hold_the_same_trained_weights(probe: Path, world_size: int) -> dict[str, torch.Tensor]:
    dumps = [torch.load(probe / f"rank{rank}.pt") for rank in range(world_size)]
    first = dumps[0]["trainable"]
    assert any("lora_B" in name and param.abs().sum() > 0 for name, param in first.items()), "nothing trained"
    for dump in dumps:
        assert dump["world_size"] == world_size
        assert dump["trainable"].keys() == first.keys()
        assert all(torch.equal(dump["trainable"][name], first[name]) for name in first)
        # DDP all-reduces the LoRA weights only, not the frozen base
        assert dump["reduced_tensors"] == len(first)
        assert dump["reduced_bytes"] == sum(p.numel() * p.element_size() for p in first.values())
    return first


@pytest.mark.slow
def test_two_rank_ddp_fit_and_test_match_one_process(tiny_llama, tmp_path):
    ddp_dir, probe = tmp_path / "ddp", tmp_path / "probe"
    env = child_env(tmp_path)
    done = run(cli_args("fit", tiny_llama, ddp_dir, probe, "--trainer.strategy=ddp", "--trainer.devices=2"), env)
    for split in ("train", "val", "test"):  # rank 0 tokenised once; rank 1 and the later passes read the cache
        assert done.stderr.count(f"tokenising {split}: 100%") == 1, done.stderr
    assert_rank_zero_wrote_everything(ddp_dir, probe, world_size=2)
    trained = assert_ranks_hold_the_same_trained_weights(probe, world_size=2)

    from safetensors.torch import load_file

    adapter = load_file(ddp_dir / "adapter" / "adapter_model.safetensors")
    assert adapter.keys() == {n.removeprefix("model.").replace(".default", "") for n in trained}
    assert all(torch.equal(adapter[n.removeprefix("model.").replace(".default", "")], p) for n, p in trained.items())

    one_dir = tmp_path / "one"
    run(cli_args("test", tiny_llama, one_dir, tmp_path / "probe-one", "--trainer.devices=1",
                 f"--ckpt_path={ddp_dir / 'checkpoints' / 'last.ckpt'}"), env)
    ddp, one = (json.loads((d / "metrics.json").read_text()) for d in (ddp_dir, one_dir))
    for key in ("answer_accuracy", "format_ok_rate", "gen_tokens", "gen_truncated", "n"):
        assert ddp[key] == one[key], key
    by_id = {r["id"]: r for r in predictions(one_dir)}
    assert predictions(ddp_dir) == [by_id[r["id"]] for r in predictions(ddp_dir)]


@pytest.mark.slow
def test_simulated_two_node_job_completes(tiny_llama, tmp_path):
    run_dir, probe, port = tmp_path / "run", tmp_path / "probe", str(free_port())
    args = cli_args("fit", tiny_llama, run_dir, probe, "--trainer.strategy=ddp", "--trainer.num_nodes=2",
                    "--trainer.devices=1", "--trainer.max_steps=2")
    nodes = [
        subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         env=child_env(tmp_path, MASTER_ADDR="127.0.0.1", MASTER_PORT=port, WORLD_SIZE="2",
                                       NODE_RANK=str(node), LOCAL_RANK="0"))
        for node in range(2)
    ]
    outputs = [node.communicate(timeout=300)[0] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in outputs[1]
    assert_rank_zero_wrote_everything(run_dir, probe, world_size=2)
    assert_ranks_hold_the_same_trained_weights(probe, world_size=2)


def test_externally_launched_ranks_without_a_run_dir_fail_clearly(tiny_llama, tmp_path, monkeypatch, capsys):
    for name in LAUNCH_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.chdir(tmp_path)
    args = cli_args("fit", tiny_llama, tmp_path, tmp_path)[2:]
    assert main([a for a in args if not a.startswith(("--run_dir", "--trainer.callbacks"))]) == 2
    err = capsys.readouterr().err
    assert "--run_dir" in err and "COTLIT_RUN_DIR" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


FAKE_SRUN = """#!/usr/bin/env bash
# srun on one machine: 2 tasks, each the only task of its "node"
for i in 0 1; do
  SLURM_PROCID=$i SLURM_LOCALID=0 SLURM_NODEID=$i SLURM_STEP_ID=0 SLURM_STEP_NUM_TASKS=2 "$@" & pids[$i]=$!
done
wait ${pids[0]} && wait ${pids[1]}
"""


@pytest.mark.slow
@pytest.mark.parametrize("script", ["torchrun.sh", "slurm.sbatch"])
def test_launch_script_runs_two_ranks_into_one_run_dir(script, tiny_llama, tmp_path):
    probe = tmp_path / "probe"
    args = [a for a in cli_args("fit", tiny_llama, tmp_path, probe, "--trainer.strategy=ddp",
                                "--trainer.max_steps=1")[3:] if not a.startswith("--run_dir")]
    env = child_env(tmp_path)
    if script == "torchrun.sh":
        command = [str(HERE.parents[1] / "scripts" / script), "2", *args]
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    else:  # sbatch would set these; srun is replaced by a stand-in that starts the 2 tasks here
        (tmp_path / "bin").mkdir()
        (tmp_path / "bin" / "srun").write_text(FAKE_SRUN)
        (tmp_path / "bin" / "srun").chmod(0o755)
        env.update(PATH=f"{tmp_path / 'bin'}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
                   SLURM_JOB_ID="4242", SLURM_JOB_NAME="cotlit", SLURM_NTASKS="2", SLURM_NTASKS_PER_NODE="1",
                   SLURM_NNODES="2", SLURM_JOB_NUM_NODES="2", SLURM_NODELIST="127.0.0.1",
                   SLURM_SUBMIT_DIR=str(tmp_path), MASTER_PORT=str(free_port()))
        command = ["bash", str(HERE.parents[1] / "scripts" / script), *args]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "GLOBAL_RANK: 1, MEMBER: 2/2" in done.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    if script == "slurm.sbatch":
        assert run_dir.name == "fit-slurm4242"
    assert_rank_zero_wrote_everything(run_dir, probe, world_size=2)
