"""``cotlit score``: re-score saved predictions or teacher outputs offline, with cotlit's or the paper's rules.

Defaults fit a run's ``predictions.jsonl`` (``generated`` text, ``gold`` answer). For teacher files, name the
text field and take gold from another file joined on a key; records whose key has no gold answer are skipped
and counted (``no_gold``), or refused with ``--strict``::

    cotlit score --task svamp --input SVAMP_ChatGPT_level3_ranked.json --pred_field output \\
        --gold SVAMP_only_ans.json --gold_field output --key instruction --rules both

``--rules cotlit`` (default) uses cotlit's answer rules, ``paper`` the paper's evaluation scripts' (see
:mod:`cotlit.tasks.paper_rules`), ``both`` reports the two side by side.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from cotlit.cli.args import ArgumentParser
from cotlit.core import example_id
from cotlit.data.gold import field_value, join_key, lookup, read_gold
from cotlit.errors import CotlitError
from cotlit.io import field, read_records
from cotlit.tasks.base import Task, get_task, task_names

RULES = ("cotlit", "paper", "both")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="cotlit score", description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True, help=f"task whose answer rules to use: {', '.join(task_names())}")
    parser.add_argument("--input", required=True, type=Path, help="JSON array or JSON Lines file of records")
    parser.add_argument("--pred_field", default="generated", help="field with the text to score (default: generated)")
    parser.add_argument(
        "--gold_field", default="gold", help="gold-answer field, in --gold when given, else in --input (default: gold)"
    )
    parser.add_argument("--gold", type=Path, help="separate file with the gold answers, joined on --key")
    parser.add_argument("--key", default="id", help="field joining --input to --gold (default: id)")
    parser.add_argument("--rules", choices=RULES, default="cotlit",
                        help="answer rules: cotlit's, the paper's, or both side by side (default: cotlit)")
    parser.add_argument("--strict", action="store_true",
                        help="a record whose key has no answer in --gold is an error (default: skip and count it)")
    parser.add_argument("--out", type=Path, help="write one JSON line per scored record: id, extracted, gold, correct")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    _refuse_overwriting_inputs(args)
    names = ("cotlit", "paper") if args.rules == "both" else (args.rules,)
    tasks = {name: get_task(args.task, paper_compat=name == "paper") for name in names}
    task_name = tasks[names[0]].name
    records = read_records(args.input)
    gold = read_gold(args.gold, key=args.key, field=args.gold_field) if args.gold else None
    rows: list[dict[str, Any]] = []
    scored: list[dict[str, Any]] = []
    seen: Counter = Counter()
    for index, record in enumerate(records):
        text = field(record, index, args.pred_field, path=args.input, empty_ok=True)
        if gold is None:
            gold_value = field_value(record, args.gold_field, index, args.input)
        else:
            key_value = field_value(record, args.key, index, args.input)
            if not args.strict and join_key(key_value) not in gold:
                continue
            gold_value = lookup(gold, key_value, gold_path=args.gold, where=args.input, record=index)
        results = {name: score_one(task, text, gold_value, index, args.input) for name, task in tasks.items()}
        row_id = _record_id(record, args, task_name, index, seen)
        rows.append({"id": row_id} | (results[names[0]] if len(names) == 1 else results))
        scored.append(record)
    summary = {"task": task_name, "input": str(args.input), "rules": args.rules, "n": len(rows)}
    if gold is not None:
        summary["no_gold"] = len(records) - len(rows)
    if len(names) == 1:
        summary |= summarize(rows)
    else:
        summary |= {name: summarize([row[name] for row in rows]) for name in names}
    if any("truncated" in record for record in scored):
        summary["truncated"] = sum(bool(record.get("truncated")) for record in scored)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w", encoding="utf-8") as out:
            out.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    json.dump(summary, sys.stdout)
    print()
    return 0


def score_one(task: Task, text: str, gold_value: Any, index: int, path: Path) -> dict[str, Any]:
    """One text scored by ``task``'s rules: extracted answer, normalised gold, correct, format_ok."""
    try:
        gold = task.normalize_gold(gold_value)
    except CotlitError as error:
        raise CotlitError(str(error), path=path, record=index) from None
    score = task.score(text, gold_value)
    return {"extracted": score.extracted, "gold": gold, "correct": score.correct, "format_ok": score.format_ok}


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts and rates over scored rows (each with ``correct``, ``extracted`` and ``format_ok``)."""
    n = len(rows)
    correct = sum(row["correct"] for row in rows)
    format_ok = sum(row["format_ok"] for row in rows)
    return {
        "correct": correct,
        "accuracy": correct / n if n else 0.0,
        "unparsed": sum(row["extracted"] is None for row in rows),
        "format_ok": format_ok,
        "format_ok_rate": format_ok / n if n else 0.0,
    }


def _refuse_overwriting_inputs(args: argparse.Namespace) -> None:
    """``--out`` must not name the input or the gold file: writing it would destroy what is being scored."""
    if args.out is None:
        return
    for name, path in (("--input", args.input), ("--gold", args.gold)):
        if path is not None and args.out.resolve() == path.resolve():
            raise CotlitError(f"--out is the {name} file; choose another path", path=args.out)


def _record_id(record: dict[str, Any], args: argparse.Namespace, task: str, index: int, seen: Counter) -> str:
    """The record's ``id``; else the loader's example id of its key text (``#k`` on repeats); else its index."""
    if "id" in record:
        return str(record["id"])
    if args.key in record:
        base = example_id(task, join_key(record[args.key]))
        seen[base] += 1
        return base if seen[base] == 1 else f"{base}#{seen[base]}"
    return f"{args.input.name}#{index}"
