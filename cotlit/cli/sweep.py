"""``cotlit sweep --grid G``: run (or list, or write a launcher for) every run of a grid file."""

from __future__ import annotations

import shlex
from collections import Counter
from pathlib import Path

from cotlit.cli.args import ArgumentParser
from cotlit.cli.outputs import check_output
from cotlit.errors import CotlitError
from cotlit.sweep.grid import load_grid
from cotlit.sweep.runner import RunnerOptions, emit_script, publish, run_sweep, state_of


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="cotlit sweep",
        description="Run each run of a grid as 'fit' then 'test' in fresh processes, resumably: finished runs "
        "are skipped, failed runs are recorded and the sweep goes on; a run killed mid-way is run again.",
    )
    p.add_argument("--grid", required=True, type=Path, help="grid file (see configs/sweeps/)")
    p.add_argument("--runs_dir", type=Path, help="where run directories go (default: the grid's runs_dir)")
    p.add_argument("--dry_run", action="store_true", help="list the runs, their state and fit command; run nothing")
    p.add_argument("--emit", choices=("slurm", "shell"), help="write a launch script instead of running")
    p.add_argument("--out", type=Path, help="path of the --emit script (default: RUNS_DIR/launch.slurm|sh)")
    p.add_argument("--only_index", type=int, help="run only the run with this index (e.g. $SLURM_ARRAY_TASK_ID)")
    p.add_argument("--retry_failed", action="store_true", help="run failed runs again")
    p.add_argument("--publish", action="store_true",
                   help="copy the results of done runs (metrics, predictions, config, status; never checkpoints) "
                   "into the grid's results_dir, where later sweeps, on any machine, reuse them instead of "
                   "running them")
    p.add_argument("--stale_after", type=float, default=300.0,
                   help="seconds without heartbeat after which a run marked running on another host counts as "
                   "killed (default: %(default)s)")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    grid = load_grid(args.grid, args.runs_dir)
    check_output(grid.runs_dir, folder=True, inputs=[grid.path], flag="runs_dir")
    runs = grid.expand()
    if not runs:
        raise CotlitError("the grid expands to no runs (every run of the product is excluded)", path=args.grid)
    if args.only_index is not None:
        if not 0 <= args.only_index < len(runs):
            raise CotlitError(f"--only_index {args.only_index} is out of range: the grid has {len(runs)} runs",
                              path=args.grid)
        selected = [runs[args.only_index]]
    else:
        selected = runs
    if args.emit:
        if args.out is not None:
            check_output(args.out, folder=False, inputs=[grid.path])
        print(f"wrote {emit_script(grid, runs, args.emit, args.out)} ({len(runs)} runs)")
        return 0
    if args.publish:
        published = publish(grid, selected)
        print(f"published {len(published)} of {len(selected)} runs (the done ones) to {grid.results_dir}")
        return 0 if published else 1
    if args.dry_run:
        for run in selected:
            state = state_of(grid.run_dir(run), args.stale_after)
            print(f"[{run.index}] {run.name}  ({state})\n    {shlex.join(grid.command(grid.fit, run))}")
        print(f"{len(selected)} runs in {grid.runs_dir}")
        return 0
    counts = run_sweep(grid, selected, RunnerOptions(retry_failed=args.retry_failed, stale_after=args.stale_after))
    states = Counter(state_of(grid.run_dir(run), args.stale_after) for run in selected)
    print(f"sweep {grid.name}: ran {counts['done'] + counts['failed']}, skipped {counts['skipped']}; now "
          + ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
          + f"; status in {grid.runs_dir / 'sweep.json'}")
    return 1 if states["failed"] else 0
