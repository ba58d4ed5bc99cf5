"""GSM8K: grade-school multi-step word problems with a numeric answer.

Extraction (:class:`~cotlit.tasks.numbers.NumberTask`): first number after ``The answer is`` (after the last
``=`` of an equation); else the first number after GSM8K's own ``#### X`` marker; else the last number of the
text. Both fallbacks set ``format_ok=False``. Calculator notes ``<<a*b=c>>`` are removed first.
``paper_compat``: the paper's number rule with ``####`` as a fourth trigger (MAmmoTH2 ``run_open.py``).
Test records are ``{"question", "answer"}`` JSON lines; the gold is the text after ``####`` with commas
removed. ``max_new_tokens=512`` (paper: 1024; targets average under 130 words).
"""

from __future__ import annotations

import re
from typing import Any

from cotlit.errors import CotlitError
from cotlit.tasks.base import TestItem, register_task
from cotlit.tasks.numbers import NumberTask
from cotlit.tasks.paper_rules import GSM8K_TRIGGERS
from cotlit.tasks.records import field, gold, record_id


@register_task
class GSM8K(NumberTask):
    name = "gsm8k"
    max_new_tokens = 512
    secondary_trigger = re.compile("####")
    paper_triggers = GSM8K_TRIGGERS

    def read_test_record(self, record: dict[str, Any], index: int) -> TestItem:
        question = field(record, index, "question")
        solution = field(record, index, "answer")
        if "####" not in solution:
            raise CotlitError("no '#### <answer>' line", record=index, field="answer")
        answer = gold(self, solution.rsplit("####", 1)[1].strip().replace(",", ""), index, "answer")
        return TestItem(record_id(self.name, record, index, question), question, answer)
