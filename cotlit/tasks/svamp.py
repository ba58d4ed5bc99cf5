"""SVAMP: one-step arithmetic word problems with a numeric answer.

Extraction (:class:`~cotlit.tasks.numbers.NumberTask`): first number after ``The answer is`` (after the last
``=`` of an equation), else the last number of the text with ``format_ok=False``. Test records are SVAMP's
own JSON (``ID``, ``Body``, ``Question``, ``Answer``); the question is ``Body + " " + Question``, exactly as
in the paper's training files. ``max_new_tokens=512``: targets average under 130 words; the paper allowed
1024, and outputs that hit the budget are counted as truncated, not dropped.
"""

from __future__ import annotations

from typing import Any

from cotlit.tasks.base import TestItem, register_task
from cotlit.tasks.numbers import NumberTask
from cotlit.tasks.records import field, gold, record_id


@register_task
class SVAMP(NumberTask):
    name = "svamp"
    max_new_tokens = 512

    def read_test_record(self, record: dict[str, Any], index: int) -> TestItem:
        question = f"{field(record, index, 'Body')} {field(record, index, 'Question')}"
        answer = gold(self, field(record, index, "Answer", (int, float)), index, "Answer")
        return TestItem(record_id(self.name, record, index, question, "ID"), question, answer)
