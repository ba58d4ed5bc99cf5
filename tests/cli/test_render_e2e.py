"""``cotlit render`` end to end: a subprocess renders a small JSON file exactly as the student will see it, with
the config read as ``cotlit fit`` reads it (both ``--key value`` and ``--key=value`` overrides)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ALPACA = ("Below is an instruction that describes a task. Write a response that appropriately completes the "
          "request.\n\n### Instruction:\n{q}\n\n### Response:\n")
RECORDS = [
    {"instruction": "Tom has 3 apples and buys 2 more. How many apples does he have?",
     "output": "He has 3 + 2 = 5 apples. The answer is 5"},
    {"instruction": "A box holds 4 pens. How many pens are in 2 boxes?",
     "output": "2 boxes hold 2 * 4 = 8 pens. The answer is 8."},
]
TARGETS = ["He has 3 + 2 = 5 apples. The answer is 5", "2 boxes hold 2 * 4 = 8 pens. The answer is 8"]
"""The cotlit-style targets: one trigger, the answer's trailing period dropped; ``</s>`` ends each one."""


@pytest.mark.slow  # a fresh Python importing lightning and transformers: ~25 s on a loaded 2-core machine
def test_render_prints_the_exact_student_text(tiny_llama: str, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    (tmp_path / "train.json").write_text(json.dumps(RECORDS))
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "model": {"class_path": "cotlit.model.student.StudentModule", "init_args": {"name_or_path": tiny_llama}},
        "data": {"class_path": "cotlit.data.json_data.JsonData",
                 "init_args": {"task": "svamp", "train_path": str(tmp_path / "train.json"), "val_size": 1,
                               "template": "chat"}},
    }))
    # the config alone would hold one example out and fail (this tokenizer has no chat template): the overrides,
    # one in each form `cotlit fit` accepts, must both take effect
    argv = [sys.executable, "-m", "cotlit", "render", "--config", str(config), "--n", "2",
            "--data.init_args.val_size", "0", "--data.init_args.template=alpaca"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    for record, target in zip(RECORDS, TARGETS):
        prompt = ALPACA.format(q=record["instruction"])
        prompt_len = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        target_len = len(tokenizer(target, add_special_tokens=False)["input_ids"]) + 1
        block = (f"--- prompt ({prompt_len} tokens) ---\n{prompt}\n"
                 f"--- target ({target_len} tokens, loss on these only) ---\n{target}</s>\n")
        assert block in done.stdout
    assert done.stdout.count("=== train example") == 2
    assert "renderer: {'template': 'alpaca', 'task': 'svamp', 'end_token': '</s>'}" in done.stdout
    assert re.search(r"^train +2 ", done.stdout, re.MULTILINE)  # the statistics table: 2 training examples


def test_render_names_a_bad_override_in_one_line(tiny_llama: str, tmp_path: Path, capsys) -> None:
    from cotlit.cli import main

    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "model": {"class_path": "cotlit.model.student.StudentModule", "init_args": {"name_or_path": tiny_llama}},
        "data": {"class_path": "cotlit.data.arithmetic.ArithmeticData"},
    }))
    assert main(["render", "--config", str(config), "--data.init_args.granularity", "seven"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cotlit render: error: ") and "granularity" in err and "Traceback" not in err
