"""``cotlit report RUNS_DIR``: results.csv, report.md (paper-shaped tables with exact CIs and paired tests
against answer-only) and plots."""

from __future__ import annotations

from pathlib import Path

from cotlit.cli.args import ArgumentParser
from cotlit.cli.outputs import check_output
from cotlit.errors import CotlitError
from cotlit.sweep.report import ReportOptions, build_report
from cotlit.sweep.results import collect
from cotlit.sweep.stats import INTERVAL_METHODS


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="cotlit report", description=__doc__.split(": ", 1)[1])
    p.add_argument("runs_dir", type=Path, help="directory searched (recursively) for run directories")
    p.add_argument("--out", type=Path, help="output directory (default: RUNS_DIR)")
    p.add_argument("--interval", choices=INTERVAL_METHODS, default="clopper-pearson",
                   help="interval of an accuracy (default: %(default)s, exact)")
    p.add_argument("--n_boot", type=int, default=2000,
                   help="paired bootstrap resamples for the interval of a difference (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: %(default)s)")
    p.add_argument("--no_plots", action="store_true", help="write only the CSV and the markdown report")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    _check_paths(args.runs_dir, args.out)
    written = build_report(args.runs_dir, args.out or args.runs_dir,
                           ReportOptions(n_boot=args.n_boot, seed=args.seed, interval=args.interval,
                                         plots=not args.no_plots))
    for path in written.values():
        print(path)
    return 0


def _check_paths(runs_dir: Path, out: Path | None) -> None:
    """A report needs finished runs to read and an output folder that is not a file."""
    check_output(out or runs_dir, folder=True)
    if not collect(runs_dir).runs:
        raise CotlitError("no finished runs here (no metrics.json of a done run): nothing to report", path=runs_dir)
