"""``cotlit recommend RUNS_DIR``: each student's best level / format / teacher, and whether it is
significantly better than the runner-up (exact McNemar test on their shared test examples)."""

from __future__ import annotations

import json
from pathlib import Path

from cotlit.cli.args import ArgumentParser
from cotlit.errors import CotlitError
from cotlit.sweep.recommend import recommend, render
from cotlit.sweep.results import collect, pool
from cotlit.sweep.stats import INTERVAL_METHODS
from cotlit.tasks.base import task_names


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="cotlit recommend", description=__doc__.split(": ", 1)[1])
    p.add_argument("runs_dir", type=Path, help="directory searched (recursively) for run directories")
    p.add_argument("--task", help=f"only runs of this task: {', '.join(task_names())}")
    p.add_argument("--teacher", help="only runs of this teacher (e.g. gpt4o, human; none: answer-only): the best "
                   "level and format for that teacher's rationales")
    p.add_argument("--interval", choices=INTERVAL_METHODS, default="clopper-pearson",
                   help="interval of an accuracy (default: %(default)s, exact)")
    p.add_argument("--n_boot", type=int, default=2000,
                   help="paired bootstrap resamples for the interval of a difference (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a markdown table")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    teacher = None if args.teacher in (None, "none") else args.teacher
    runs = [run for run in collect(args.runs_dir).runs
            if (args.task is None or run.metrics["task"] == args.task)
            and (args.teacher is None or run.metrics["teacher"] == teacher)]
    if not runs:
        wanted = [f"task {args.task!r}"] if args.task else []
        wanted += [f"teacher {args.teacher!r}"] if args.teacher else []
        raise CotlitError("no finished runs" + (f" of {' and '.join(wanted)}" if wanted else ""), path=args.runs_dir)
    results = recommend(pool(runs, method=args.interval), n_boot=args.n_boot, seed=args.seed, method=args.interval)
    print(json.dumps([r.to_dict() for r in results], indent=2) if args.json else render(results))
    return 0
