"""Sweeps across interruptions and machines: a killed fit is continued from its checkpoint (same spec) or started
clean (changed spec, so the test step never scores old weights), published runs are reused instead of recomputed,
progress shows done/total and an ETA, and generated scripts never carry a control character."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cotlit.cli import main as cotlit
from cotlit.errors import CotlitError
from cotlit.sweep.grid import load_grid
from cotlit.sweep.runner import PUBLISHED, publish, run_sweep, state_of


def make_grid(tmp_path: Path, script: Path, **extra) -> Path:
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump({
        "name": "fake", "runs_dir": str(tmp_path / "runs"), "configs": ["base.yaml"],
        "axes": {"data.init_args.granularity": [1, 3]},
        "fit": f"{{python}} {script} fit {{configs}} {{overrides}} --run_dir {{run_dir}} {{resume}}",
        "test": f"{{python}} {script} test --config {{run_dir}}/config.yaml --run_dir {{run_dir}}", **extra,
    }))
    return path


def fit_args(run_dir: Path) -> list[str]:
    return json.loads((run_dir / "config.yaml").read_text())


def interrupted(run_dir: Path, grid, run, overrides=None) -> None:
    """The traces of a fit killed mid-way: a running status of a dead process and an interval checkpoint."""
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "last.ckpt").write_text("weights of the killed attempt")
    status = {"state": "running", "host": "elsewhere", "heartbeat": 0, "configs": list(run.configs),
              "overrides": run.overrides if overrides is None else overrides}
    (run_dir / "status.json").write_text(json.dumps(status))


def test_killed_fit_resumes_with_the_same_spec_and_restarts_clean_with_another(tmp_path, fake_program):
    script, _, _ = fake_program
    grid = load_grid(make_grid(tmp_path, script))
    same, changed = grid.expand()
    interrupted(grid.run_dir(same), grid, same)
    interrupted(grid.run_dir(changed), grid, changed, overrides={"data.init_args.granularity": 2})
    run_sweep(grid, grid.expand(), log=lambda _: None)
    assert fit_args(grid.run_dir(same))[-1] == "--ckpt_path=last"
    assert (grid.run_dir(same) / "checkpoints" / "last.ckpt").is_file()
    assert "--ckpt_path=last" not in fit_args(grid.run_dir(changed))
    assert not (grid.run_dir(changed) / "checkpoints" / "last.ckpt").exists()


def test_published_runs_are_reused_on_another_machine(tmp_path, fake_program):
    script, control, calls = fake_program
    grid_path = make_grid(tmp_path, script, results_dir=str(tmp_path / "results"))
    assert cotlit(["sweep", "--grid", str(grid_path), "--only_index", "0"]) == 0
    first = load_grid(grid_path).run_dir(load_grid(grid_path).expand()[0])
    (first / PREDICTIONS).write_text('{"id": "a", "correct": true}\n')
    (first / "checkpoints").mkdir()
    (first / "checkpoints" / "last.ckpt").write_text("weights")
    assert cotlit(["sweep", "--grid", str(grid_path), "--publish"]) == 0
    published = tmp_path / "results" / first.name
    assert sorted(p.name for p in published.iterdir()) == sorted(PUBLISHED)
    calls.unlink()

    # another machine: a fresh runs folder, the committed results folder
    other = load_grid(grid_path, runs_dir=tmp_path / "other")
    lines: list[str] = []
    run_sweep(other, other.expand(), log=lines.append)
    assert calls.read_text().splitlines() == ["fit granularity=3", "test granularity=3"]  # only the unpublished run
    reused = other.run_dir(other.expand()[0])
    assert state_of(reused) == "done" and json.loads((reused / "status.json").read_text())["reused_from"]
    assert (reused / PREDICTIONS).read_text() == (first / PREDICTIONS).read_text()
    assert not (reused / "checkpoints").exists()
    assert any("reused the published results" in line for line in lines)
    assert any(line.startswith("progress: 2/2 runs done, elapsed") for line in lines)


def test_a_published_run_of_another_spec_is_not_reused(tmp_path, fake_program):
    script, _, calls = fake_program
    grid_path = make_grid(tmp_path, script, results_dir=str(tmp_path / "results"))
    grid = load_grid(grid_path)
    run = grid.expand()[0]
    published = tmp_path / "results" / run.name
    published.mkdir(parents=True)
    (published / "metrics.json").write_text("{}")
    (published / PREDICTIONS).write_text("")
    (published / "status.json").write_text(json.dumps({"state": "done", "configs": ["other.yaml"],
                                                        "overrides": run.overrides}))
    run_sweep(grid, [run], log=lambda _: None)
    assert calls.read_text().splitlines() == ["fit granularity=1", "test granularity=1"]


def test_publish_without_results_dir_or_done_runs(tmp_path, fake_program):
    script, _, _ = fake_program
    grid = load_grid(make_grid(tmp_path, script))
    with pytest.raises(CotlitError, match="results_dir"):
        publish(grid, grid.expand())
    grid_path = make_grid(tmp_path, script, results_dir=str(tmp_path / "results"))
    assert cotlit(["sweep", "--grid", str(grid_path), "--publish"]) == 1  # nothing done: nothing published


def test_progress_reports_done_total_and_eta(tmp_path, fake_program):
    script, _, _ = fake_program
    grid = load_grid(make_grid(tmp_path, script))
    lines: list[str] = []
    run_sweep(grid, grid.expand(), log=lines.append)
    progress = [line for line in lines if line.startswith("progress:")]
    assert progress[0].startswith("progress: 1/2 runs done, elapsed ") and "ETA " in progress[0]
    assert "for 1 more" in progress[0] and "ETA" not in progress[1]


def test_eta_uses_the_durations_of_runs_finished_by_earlier_sweeps(tmp_path, fake_program):
    script, _, _ = fake_program
    grid = load_grid(make_grid(tmp_path, script, axes={"data.init_args.granularity": [1, 3, 6]}))
    first = grid.run_dir(grid.expand()[0])
    first.mkdir(parents=True)
    (first / "metrics.json").write_text("{}")
    (first / "status.json").write_text(json.dumps({"state": "done", "started": "2026-01-01T00:00:00+00:00",
                                                   "finished": "2026-01-01T02:00:00+00:00"}))
    lines: list[str] = []
    run_sweep(grid, grid.expand(), log=lines.append)
    progress = [line for line in lines if line.startswith("progress:")]
    # the mean of a 2-hour run and a run of a second or so
    assert progress[0].startswith("progress: 2/3 runs done") and "ETA 1h0" in progress[0] and "1 more" in progress[0]


@pytest.mark.parametrize("value", ["01:00:00\nrm -rf ~", "01:00:00\r", "a\tb"])
def test_control_characters_never_reach_a_generated_script(tmp_path, fake_program, value):
    script, _, _ = fake_program
    with pytest.raises(CotlitError, match="slurm.time.*control character"):
        load_grid(make_grid(tmp_path, script, slurm={"time": value}))
    with pytest.raises(CotlitError, match="name"):
        load_grid(make_grid(tmp_path, script, name=f"fake{value}"))


def test_zero_runs_exit_non_zero_and_write_no_script(tmp_path, fake_program):
    script, _, _ = fake_program
    grid_path = make_grid(tmp_path, script, exclude=[{"granularity": [1, 3]}])
    assert cotlit(["sweep", "--grid", str(grid_path), "--emit", "slurm"]) == 2
    assert not (tmp_path / "runs" / "launch.slurm").exists()


PREDICTIONS = "predictions.jsonl"
