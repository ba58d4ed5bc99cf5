"""``cotlit render``: show examples exactly as the student sees them, then lengths, drops and padding efficiency.

This is how a config is checked before spending GPU hours on it.
"""

from __future__ import annotations

import json

from cotlit.cli.args import ArgumentParser
from cotlit.cli.config_files import build_datamodule, read_configs


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="cotlit render",
        description="Print rendered examples of a config (prompt and target marked) and data statistics.",
        epilog="Every other argument is read as 'cotlit fit' reads it: --config FILE (repeatable; later wins) and "
        "overrides such as --data.init_args.granularity 6 or --data.init_args.granularity=6.",
        allow_abbrev=False,
    )
    parser.add_argument("--split", choices=("train", "val", "test"), default="train",
                        help="split whose examples to print (default: %(default)s)")
    parser.add_argument("--n", type=int, default=3, help="how many examples to print (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the statistics as JSON")
    return parser


def main(argv: list[str]) -> int:
    args, fit_args = build_parser().parse_known_args(argv)
    datamodule = build_datamodule(read_configs(fit_args))
    datamodule.setup("fit")
    renderer = datamodule.renderer
    examples, rows = datamodule.examples[args.split], datamodule.rows[args.split]
    for row in rows[: args.n]:
        example = examples[row["index"]]
        ids = row["input_ids"]
        prompt = datamodule.tokenizer.decode(ids[: row["prompt_len"]])
        target = datamodule.tokenizer.decode(ids[row["prompt_len"] :])
        print(f"=== {args.split} example {row['index']} | id {example.id} | teacher {example.teacher} | "
              f"level {example.granularity} | format {example.format} | source {example.source}")
        print(f"--- prompt ({row['prompt_len']} tokens) ---")
        print(prompt)
        if args.split == "test":
            print(f"--- gold: {example.gold} ---")
        else:
            print(f"--- target ({len(ids) - row['prompt_len']} tokens, loss on these only) ---")
            print(target)
        print()
    info = datamodule.describe()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"renderer: {info['renderer']} | test prompts: {info['eval_prompt']} | targets: {info['target_style']}")
    print(f"{'split':<6} {'examples':>8} {'skipped':>8} {'dropped':>8} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>6}"
          "  (tokens)")
    for split, entry in info["splits"].items():
        cells = [entry.get(k) for k in ("tokens_p50", "tokens_p90", "tokens_p99", "tokens_max")]
        shown = " ".join(f"{c:>7.0f}" if c is not None else f"{'-':>7}" for c in cells[:3])
        print(f"{split:<6} {entry['examples']:>8} {entry['skipped']:>8} {entry['dropped']:>8} {shown} "
              f"{cells[3] or '-':>6}")
    print(f"skipped = bad records (missing, empty or mistyped field); dropped = longer than max_length. "
          f"Train targets changed from the source's output by the cotlit style: "
          f"{info['targets_changed_by_cotlit_style']}; CoT targets without an answer trigger: "
          f"{info['targets_without_trigger']}; test questions also in training: {info['test_overlap_with_train']}")
    if "padding_efficiency" in info:
        print(f"train CoT length: {info['train_cot_words']:.1f} words (mean)")
        print(f"padding efficiency at batch size {datamodule.batch_size}: {info['padding_efficiency']:.4f} "
              f"(length-grouped {info['padding_efficiency_grouped']:.4f}, random {info['padding_efficiency_random']:.4f})")
    return 0
