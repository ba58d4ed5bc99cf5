from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from cotlit.cli import main as cotlit
from cotlit.sweep.grid import load_grid
from cotlit.sweep.runner import RunnerOptions, code_version, emit_script, run_sweep, state_of


def make_grid(tmp_path: Path, script: Path, levels=(1, 3, 6)) -> Path:
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump({
        "name": "fake",
        "runs_dir": str(tmp_path / "runs"),
        "configs": ["base.yaml"],
        "axes": {"data.init_args.granularity": list(levels)},
        "fit": f"{{python}} {script} fit {{configs}} {{overrides}} --run_dir {{run_dir}}",
        "test": f"{{python}} {script} test --config {{run_dir}}/config.yaml --run_dir {{run_dir}}",
    }))
    return path


def calls_of(calls: Path) -> list[str]:
    lines = calls.read_text().splitlines() if calls.exists() else []
    calls.unlink(missing_ok=True)
    return lines


def test_runs_fit_then_test_and_resumes(tmp_path, fake_program):
    script, control, calls = fake_program
    control(fail=["granularity=3"])
    grid = load_grid(make_grid(tmp_path, script))
    runs = grid.expand()
    assert cotlit(["sweep", "--grid", str(grid.path)]) == 1  # a run failed; the sweep went on
    assert calls_of(calls) == ["fit granularity=1", "test granularity=1", "fit granularity=3", "test granularity=3",
                               "fit granularity=6", "test granularity=6"]
    run_dir = tmp_path / "runs" / "granularity=1"
    assert json.loads((run_dir / "config.yaml").read_text()) == [
        "--config", "base.yaml", "--data.init_args.granularity=1", "--run_dir", str(run_dir)]
    assert (run_dir / "fit.log").read_text().startswith("$ ")
    failed = json.loads((tmp_path / "runs" / "granularity=3" / "status.json").read_text())
    assert failed["state"] == "failed" and failed["step"] == "test" and failed["returncode"] == 3
    assert "something broke in granularity=3" in failed["error"]
    summary = json.loads((tmp_path / "runs" / "sweep.json").read_text())
    assert summary["counts"] == {"done": 2, "failed": 1}

    # resume: finished runs and failed runs are skipped
    control()
    counts = run_sweep(grid, runs, log=lambda _: None)
    assert calls_of(calls) == [] and counts == {"skipped": 3}
    # --retry_failed re-runs only the failed one
    assert cotlit(["sweep", "--grid", str(grid.path), "--retry_failed"]) == 0
    assert calls_of(calls) == ["fit granularity=3", "test granularity=3"]
    assert [state_of(grid.run_dir(r)) for r in runs] == ["done"] * 3


def test_done_needs_metrics(tmp_path, fake_program):
    script, control, calls = fake_program
    control(no_metrics=["granularity=1"])
    grid = load_grid(make_grid(tmp_path, script, levels=(1,)))
    counts = run_sweep(grid, grid.expand(), log=lambda _: None)
    assert counts["failed"] == 1
    status = json.loads((grid.run_dir(grid.expand()[0]) / "status.json").read_text())
    assert status["error"] == "test exited 0 but wrote no metrics.json"
    assert status["code"] == code_version()  # the commit the run's code came from, recorded with its results
    # a done run whose metrics were deleted is run again
    control()
    run_sweep(grid, grid.expand(), RunnerOptions(retry_failed=True), log=lambda _: None)
    (grid.run_dir(grid.expand()[0]) / "metrics.json").unlink()
    calls_of(calls)
    run_sweep(grid, grid.expand(), log=lambda _: None)
    assert calls_of(calls) == ["fit granularity=1", "test granularity=1"]


def test_grid_without_test_step(tmp_path, fake_program):
    script, control, calls = fake_program
    path = make_grid(tmp_path, script, levels=(1,))
    content = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump(content | {"test": None}))
    grid = load_grid(path)
    assert grid.test is None
    assert run_sweep(grid, grid.expand(), log=lambda _: None) == {"failed": 1}
    assert calls_of(calls) == ["fit granularity=1"]
    status = json.loads((grid.run_dir(grid.expand()[0]) / "status.json").read_text())
    assert status["error"] == "fit exited 0 but wrote no metrics.json"


def test_killed_sweep_reruns_only_the_unfinished_run(tmp_path, fake_program):
    script, control, calls = fake_program
    control(hang=["granularity=3"])
    grid_path = make_grid(tmp_path, script)
    sweep, pid_path = start_hanging_sweep(tmp_path, grid_path)
    status_path = pid_path.parent / "status.json"
    os.kill(sweep.pid, signal.SIGKILL)  # no chance to clean up: the status stays "running"
    sweep.wait()
    step = int(pid_path.read_text())
    deadline = time.time() + 20
    while _alive(step):  # the orphaned step gets SIGTERM from the kernel and stops
        assert time.time() < deadline, "the step outlived its sweep"
        time.sleep(0.1)
    assert json.loads(status_path.read_text())["state"] == "running"
    grid = load_grid(grid_path)
    assert state_of(status_path.parent) == "pending"  # its process is gone

    calls_of(calls)
    control()
    assert run_sweep(grid, grid.expand(), log=lambda _: None)["done"] == 2
    assert calls_of(calls) == ["fit granularity=3", "test granularity=3", "fit granularity=6", "test granularity=6"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"


def start_hanging_sweep(tmp_path: Path, grid_path: Path) -> tuple[subprocess.Popen, Path]:
    """Start a sweep whose run granularity=3 hangs in fit; return it once that fit runs, and its pid file."""
    sweep = subprocess.Popen([sys.executable, "-m", "cotlit", "sweep", "--grid", str(grid_path)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    status_path = tmp_path / "runs" / "granularity=3" / "status.json"
    pid_path = status_path.parent / "fake.pid"
    deadline = time.time() + 30
    while not (status_path.exists() and pid_path.exists()
               and json.loads(status_path.read_text())["state"] == "running"):
        assert time.time() < deadline and sweep.poll() is None
        time.sleep(0.1)
    return sweep, pid_path


def test_terminated_sweep_stops_its_step_and_leaves_the_run_pending(tmp_path, fake_program):
    script, control, _ = fake_program
    control(hang=["granularity=3"])
    sweep, pid_path = start_hanging_sweep(tmp_path, make_grid(tmp_path, script))
    sweep.terminate()
    assert sweep.wait(timeout=20) == 130
    status = json.loads((pid_path.parent / "status.json").read_text())
    assert status["state"] == "pending" and status["error"] == "interrupted during fit"
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_path.read_text()), 0)


def test_running_elsewhere_is_left_alone_until_stale(tmp_path, fake_program):
    script, _, calls = fake_program
    grid = load_grid(make_grid(tmp_path, script, levels=(1,)))
    run_dir = grid.run_dir(grid.expand()[0])
    run_dir.mkdir(parents=True)
    record = {"state": "running", "host": "another-node", "pid": 1, "heartbeat": time.time()}
    (run_dir / "status.json").write_text(json.dumps(record))
    assert run_sweep(grid, grid.expand(), log=lambda _: None) == {"skipped": 1}
    assert calls_of(calls) == []
    (run_dir / "status.json").write_text(json.dumps(record | {"heartbeat": time.time() - 1000}))
    assert run_sweep(grid, grid.expand(), log=lambda _: None)["done"] == 1


def test_dry_run_only_index_and_emit(tmp_path, fake_program, capsys):
    script, _, calls = fake_program
    grid_path = make_grid(tmp_path, script)
    assert cotlit(["sweep", "--grid", str(grid_path), "--dry_run"]) == 0
    out = capsys.readouterr().out
    assert "[2] granularity=6  (pending)" in out and "3 runs" in out
    assert not calls.exists() and not (tmp_path / "runs" / "granularity=1").exists()

    assert cotlit(["sweep", "--grid", str(grid_path), "--only_index", "1"]) == 0
    assert calls_of(calls) == ["fit granularity=3", "test granularity=3"]
    summary = json.loads((tmp_path / "runs" / "sweep.json").read_text())
    assert summary["counts"] == {"pending": 2, "done": 1} and len(summary["runs"]) == 3
    assert cotlit(["sweep", "--grid", str(grid_path), "--only_index", "7"]) == 2

    grid = load_grid(grid_path)
    slurm = emit_script(grid, grid.expand(), "slurm").read_text()
    assert "#SBATCH --array=0-2" in slurm and '--only_index "$SLURM_ARRAY_TASK_ID"' in slurm
    shell = emit_script(grid, grid.expand(), "shell")
    assert shell.read_text().count("--only_index") == 3
    result = subprocess.run(["bash", str(shell)], env=os.environ | {"COTLIT": f"{sys.executable} -m cotlit"},
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert calls_of(calls) == ["fit granularity=1", "test granularity=1", "fit granularity=6", "test granularity=6"]


def test_code_version_names_the_commit_and_a_dirty_tree(tmp_path):
    assert code_version(tmp_path) is None  # not a checkout (e.g. cotlit installed from a wheel)
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git + ["init", "-q"], check=True)
    (tmp_path / "f.py").write_text("a = 1\n")
    subprocess.run(git + ["add", "f.py"], check=True)
    subprocess.run(git + ["commit", "-qm", "c"], check=True)
    head = subprocess.run(git + ["rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    assert code_version(tmp_path) == head[:12]
    (tmp_path / "f.py").write_text("a = 2\n")
    assert code_version(tmp_path) == head[:12] + "-dirty"
