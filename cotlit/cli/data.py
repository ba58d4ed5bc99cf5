"""``cotlit data``: download the paper's registry, the training files of chosen entries or tasks, and test sets."""

from __future__ import annotations

from pathlib import Path

from cotlit.cli.args import ArgumentParser
from cotlit.data.download import (
    DEFAULT_BASE_URL,
    SVAMP_TRAIN_ENTRY,
    Fetched,
    RemoteFile,
    derive_svamp_test,
    entries_of,
    eval_files,
    fetch,
    registry_file,
    training_files,
)
from cotlit.data.registry import read_registry
from cotlit.errors import CotlitError

TASKS = ("svamp", "gsm8k", "aqua", "math", "csqa", "obqa", "strategyqa")


def build_parser() -> ArgumentParser:
    p = ArgumentParser(
        prog="cotlit data",
        description="Download the paper's data/ folder (dataset_info.json and the files of the entries you name) "
        "and public test sets, with SHA-256 checks; an interrupted download continues where it stopped.",
        epilog="Example: cotlit data --task svamp --eval   (then train with configs/data/svamp_paper.yaml)",
    )
    p.add_argument("--dest", type=Path, default=Path("data/paper/train"),
                   help="folder for dataset_info.json and the training files (default: %(default)s)")
    p.add_argument("--eval_dest", type=Path, default=Path("data/paper/eval"),
                   help="folder for the test sets (default: %(default)s)")
    p.add_argument("--task", action="append", choices=TASKS, default=[], help="every entry of this task (repeatable)")
    p.add_argument("--entry", action="append", default=[], help="a registry entry by name (repeatable)")
    p.add_argument("--all", action="store_true", help="every entry of the registry")
    p.add_argument("--eval", action="store_true",
                   help="also the test sets of the chosen tasks (all with --all); SVAMP's 300-problem split is cut "
                   "from SVAMP.json and checked against its SHA-256")
    p.add_argument("--base_url", default=DEFAULT_BASE_URL,
                   help="raw-file URL of the paper's repository root (default: the checked commit on GitHub)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the server (default: %(default)s)")
    return p


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if not (args.task or args.entry or args.all):
        raise CotlitError("name what to download: --task T, --entry NAME or --all")
    results: list[Fetched] = []

    def done(result: Fetched) -> None:
        results.append(result)
        print(f"{result.status:<10} {result.size:>11,d} B  {result.dest}")

    done(fetch(RemoteFile(registry_file(), args.dest / "dataset_info.json"), args.base_url, timeout=args.timeout))
    entries = list(read_registry(args.dest)) if args.all else [*args.entry, *entries_of(args.dest, args.task)]
    test_sets = (TASKS if args.all else args.task) if args.eval else []
    if "svamp" in test_sets:
        entries.append(SVAMP_TRAIN_ENTRY)  # its training questions are what SVAMP's test split leaves out
    files = training_files(args.dest, dict.fromkeys(entries)) + eval_files(args.eval_dest, dict.fromkeys(test_sets))
    for file in files:
        done(fetch(file, args.base_url, timeout=args.timeout))
    if "svamp" in test_sets:
        done(derive_svamp_test(args.eval_dest, args.dest))
    counts = {status: sum(r.status == status for r in results)
              for status in ("downloaded", "resumed", "present", "derived")}
    print(f"cotlit data: {len(dict.fromkeys(entries))} entries, {len(results)} files ("
          + ", ".join(f"{n} {status}" for status, n in counts.items()) + f"); registry in {args.dest}")
    return 0
