"""``cotlit score``: re-score saved predictions or teacher outputs offline, with the task's answer rules.

Defaults fit a run's ``predictions.jsonl`` (``generated`` text, ``gold`` answer). For teacher files, name the
text field and take gold from another file joined on a key::

    cotlit score --task svamp --input SVAMP_ChatGPT_level3_ranked.json --pred-field output \\
        --gold SVAMP_only_ans.json --gold-field output --key instruction
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from cotlit.core import example_id
from cotlit.data.gold import field_value, join_key, lookup, read_gold
from cotlit.io import field, read_records
from cotlit.tasks.base import get_task


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cotlit score", description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True, help="task whose answer rules to use (svamp, gsm8k, ...)")
    parser.add_argument("--input", required=True, type=Path, help="JSON array or JSON Lines file of records")
    parser.add_argument("--pred-field", default="generated", help="field with the text to score (default: generated)")
    parser.add_argument(
        "--gold-field", default="gold", help="gold-answer field, in --gold when given, else in --input (default: gold)"
    )
    parser.add_argument("--gold", type=Path, help="separate file with the gold answers, joined on --key")
    parser.add_argument("--key", default="id", help="field joining --input to --gold (default: id)")
    parser.add_argument("--out", type=Path, help="write one JSON line per record: id, extracted, gold, correct")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    task = get_task(args.task)
    records = read_records(args.input)
    gold = read_gold(args.gold, key=args.key, field=args.gold_field) if args.gold else None
    rows, seen = [], Counter()
    for index, record in enumerate(records):
        text = field(record, index, args.pred_field, path=args.input, empty_ok=True)
        if gold is None:
            gold_value = field_value(record, args.gold_field, index, args.input)
        else:
            key_value = field_value(record, args.key, index, args.input)
            gold_value = lookup(gold, key_value, gold_path=args.gold, where=args.input, record=index)
        score = task.score(text, gold_value)
        rows.append(
            {
                "id": _record_id(record, args, task.name, index, seen),
                "extracted": score.extracted,
                "gold": task.normalize_gold(gold_value),
                "correct": score.correct,
                "format_ok": score.format_ok,
            }
        )
    summary = summarize(rows, task=task.name, source=str(args.input))
    if any("truncated" in record for record in records if isinstance(record, dict)):
        summary["truncated"] = sum(bool(record.get("truncated")) for record in records)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w", encoding="utf-8") as out:
            out.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    json.dump(summary, sys.stdout)
    print()
    return 0


def summarize(rows: list[dict[str, Any]], *, task: str, source: str) -> dict[str, Any]:
    """Counts and rates over scored rows (each with ``correct``, ``extracted`` and ``format_ok``)."""
    n = len(rows)
    correct = sum(row["correct"] for row in rows)
    format_ok = sum(row["format_ok"] for row in rows)
    return {
        "task": task,
        "input": source,
        "n": n,
        "correct": correct,
        "accuracy": correct / n if n else 0.0,
        "unparsed": sum(row["extracted"] is None for row in rows),
        "format_ok": format_ok,
        "format_ok_rate": format_ok / n if n else 0.0,
    }


def _record_id(record: dict[str, Any], args: argparse.Namespace, task: str, index: int, seen: Counter) -> str:
    """The record's ``id``; else the loader's example id of its key text (``#k`` on repeats); else its index."""
    if "id" in record:
        return str(record["id"])
    if args.key in record:
        base = example_id(task, join_key(record[args.key]))
        seen[base] += 1
        return base if seen[base] == 1 else f"{base}#{seen[base]}"
    return f"{args.input.name}#{index}"
