"""The paper's commonsense protocol (``Evaluation/reasoning_eval/run_reasoning.py``), shared by CSQA, OBQA and
StrategyQA: test records ``{"instruction", "label"}``, and its decoding for paper scoring (beam search of width 5,
640 new tokens, the math stop strings plus ``####``).

``max_new_tokens=320`` (the paper's script default; its README says 640).
"""

from __future__ import annotations

from typing import Any

from cotlit.tasks.base import PAPER_STOP_STRINGS, Task, TestItem
from cotlit.tasks.records import instruction_label

COMMONSENSE_PAPER_STOP_STRINGS: tuple[str, ...] = (*PAPER_STOP_STRINGS, "####")
"""The stop strings of the paper's commonsense decoding: the math list plus ``####``."""


class CommonsenseTask(Task):
    """Mixed in before the answer kind's class: ``class CommonsenseQA(CommonsenseTask, ChoiceTask)``."""

    max_new_tokens = 320
    paper_max_new_tokens = 640
    paper_num_beams = 5
    paper_stop_strings = COMMONSENSE_PAPER_STOP_STRINGS

    def read_test_record(self, record: dict[str, Any], index: int) -> TestItem:
        return instruction_label(self, record, index)
