"""``cotlit data``: download the paper's registry, the training files of chosen entries or tasks, and test sets."""

from __future__ import annotations

import argparse
from pathlib import Path

from cotlit.errors import CotlitError

TASKS = ("svamp", "gsm8k", "aqua", "math", "csqa", "obqa", "strategyqa")


def parser() -> argparse.ArgumentParser:
    from cotlit.data.download import DEFAULT_BASE_URL

    p = argparse.ArgumentParser(
        prog="cotlit data",
        description="Download the paper's data/ folder (dataset_info.json and the files of the entries you name) "
        "and public test sets, with SHA-256 checks; an interrupted download continues where it stopped.",
        epilog="Example: cotlit data --task gsm8k --eval   (then train with configs/data/gsm8k_paper.yaml)",
    )
    p.add_argument("--dest", type=Path, default=Path("data/paper/train"),
                   help="folder for dataset_info.json and the training files (default: %(default)s)")
    p.add_argument("--eval-dest", type=Path, default=Path("data/paper/eval"),
                   help="folder for the test sets (default: %(default)s)")
    p.add_argument("--task", action="append", choices=TASKS, default=[], help="every entry of this task (repeatable)")
    p.add_argument("--entry", action="append", default=[], help="a registry entry by name (repeatable)")
    p.add_argument("--all", action="store_true", help="every entry of the registry")
    p.add_argument("--eval", action="store_true", help="also the test sets of the chosen tasks (all with --all)")
    p.add_argument("--base-url", default=DEFAULT_BASE_URL,
                   help="raw-file URL of the paper's repository root (default: the checked commit on GitHub)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the server (default: %(default)s)")
    return p


def main(argv: list[str]) -> int:
    from cotlit.data.download import RemoteFile, entries_of, eval_files, fetch, registry_file, training_files
    from cotlit.data.registry import read_registry

    args = parser().parse_args(argv)
    if not (args.task or args.entry or args.all):
        raise CotlitError("name what to download: --task T, --entry NAME or --all")
    results = []

    def get(file: RemoteFile) -> None:
        results.append(fetch(file, args.base_url, timeout=args.timeout))
        print(f"{results[-1].status:<10} {results[-1].size:>11,d} B  {file.dest}")

    get(RemoteFile(registry_file(), args.dest / "dataset_info.json"))
    entries = list(read_registry(args.dest)) if args.all else [*args.entry, *entries_of(args.dest, args.task)]
    files = training_files(args.dest, dict.fromkeys(entries))
    if args.eval:
        files += eval_files(args.eval_dest, TASKS if args.all else args.task)
    for file in files:
        get(file)
    counts = {status: sum(r.status == status for r in results) for status in ("downloaded", "resumed", "present")}
    print(f"cotlit data: {len(entries)} entries, {len(results)} files ("
          + ", ".join(f"{n} {status}" for status, n in counts.items()) + f"); registry in {args.dest}")
    return 0
