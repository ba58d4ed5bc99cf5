"""``cotlit inspect``: profile a CoT file (trigger rate, rationale length, steps, diversity, agreement with gold).

    cotlit inspect SVAMP_ChatGPT_level3_ranked.json --gold SVAMP_only_ans.json
    cotlit inspect --dataset_dir data/train SVAMP_ChatGPT_level3 --json

Definitions are in :mod:`cotlit.data.profile`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cotlit.cli.args import ArgumentParser
from cotlit.data.gold import lookup, read_gold
from cotlit.data.loaders import load_examples
from cotlit.data.profile import profile_examples
from cotlit.errors import CotlitError
from cotlit.tasks.base import get_task, task_names


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="cotlit inspect", description=__doc__.splitlines()[0])
    parser.add_argument("source", help="a .json/.jsonl file, a registry entry (with --dataset_dir) or a HF dataset")
    parser.add_argument("--dataset_dir", type=Path, help="folder with a LLaMA-Factory dataset_info.json")
    parser.add_argument("--task", help=f"task: {', '.join(task_names())} (default: read from the file name)")
    parser.add_argument("--prompt_field", help="question field (default: instruction)")
    parser.add_argument("--response_field", help="CoT field (default: output)")
    parser.add_argument("--teacher", help="teacher name (default: read from the file name)")
    parser.add_argument("--level", type=int, help="granularity level, 1 to 6 (default: read from the file name)")
    parser.add_argument("--format", help="plain, bsm, rar or sym (default: read from the file name)")
    parser.add_argument("--split", default="train", help="split of a Hugging Face dataset (default: train)")
    parser.add_argument("--gold", type=Path, help="file with gold answers, joined on the question text")
    parser.add_argument("--gold_field", default="output", help="gold-answer field of --gold (default: output)")
    parser.add_argument("--key", default="instruction", help="question field of --gold (default: instruction)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    source = Path(args.source)
    if source.is_dir() and args.dataset_dir is None and any(source.glob("*.py")):
        raise CotlitError("a folder holding a dataset script: cotlit never runs dataset code; give a .json/.jsonl "
                          "file, or the folder's data files", path=source)
    examples = load_examples(
        args.source,
        task=args.task,
        dataset_dir=args.dataset_dir,
        prompt_field=args.prompt_field,
        response_field=args.response_field,
        teacher=args.teacher,
        granularity=args.level,
        format=args.format,
        split=args.split,
    )
    task = get_task(examples[0].task) if examples and examples[0].task else None
    gold = None
    if args.gold and task is None:
        raise CotlitError("agreement with --gold needs a task: pass --task")
    if args.gold:
        by_key = read_gold(args.gold, key=args.key, field=args.gold_field)
        gold = {
            ex.id: lookup(by_key, ex.question, gold_path=args.gold, where=args.source, record=index)
            for index, ex in enumerate(examples)
        }
    profile = {"source": str(args.source), **profile_examples(examples, task, gold), "skipped": len(examples.skipped),
               "first_skipped": examples.skipped[0] if examples.skipped else None}
    print(json.dumps(profile) if args.json else format_profile(profile))
    return 0


def format_profile(profile: dict[str, Any]) -> str:
    """The profile as an aligned two-column table."""
    p, agree = profile, profile["agreement"]
    condition = " / ".join(_join(p[name]) for name in ("teachers", "levels", "formats"))
    triggers = f"{p['trigger_rate']:.1%}  ({p['no_trigger']} CoT without trigger, {p['answer_only']} answer-only)"
    steps = f"{_spread(p['steps'])}  ({p['numbered_step_rate']:.0%} numbered)"
    skipped = str(p["skipped"]) + (f"  (the first: {p['first_skipped']})" if p["skipped"] else "")
    gold = "- (no gold)"
    if agree:
        gold = f"{agree['rate']:.2%}  ({agree['agree']}/{agree['n']}, {agree['unparsed']} unparsed)"
    rows = [
        ("source", p["source"]),
        ("task", p["task"] or "-"),
        ("teacher / level / format", condition),
        ("records", p["n"]),
        ("skipped bad records", skipped),
        ("answer trigger rate", triggers),
        ("repeated questions", p["repeated_questions"]),
        ("rationale words", _spread(p["rationale_words"])),
        ("steps", steps),
        ("distinct-1 / distinct-2", f"{_rate(p['distinct_1'])} / {_rate(p['distinct_2'])}"),
        ("agreement with gold", gold),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def _spread(stats: dict[str, float]) -> str:
    return f"mean {stats['mean']:.1f}  median {stats['median']:.0f}  p90 {stats['p90']:.0f}"


def _join(values: list[Any]) -> str:
    return ",".join(map(str, values)) or "-"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
