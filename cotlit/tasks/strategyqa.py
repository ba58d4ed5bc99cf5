"""StrategyQA: yes/no questions needing implicit multi-hop reasoning; answers ``True``/``False``.

Extraction (:class:`~cotlit.tasks.booleans.BooleanTask`): first true/false/yes/no after ``The answer is``
(case-insensitive); else the last one in the text (``format_ok=False``). ``paper_compat``: only a capitalised
``True``/``False`` right after ``The answer is `` counts. Test records are the paper's
``{"instruction", "label"}`` with ``label`` the string ``True`` or ``False``. Decoding budgets and the paper's
beam search: :mod:`cotlit.tasks.commonsense`.
"""

from __future__ import annotations

from typing import Any

from cotlit.errors import CotlitError
from cotlit.tasks.base import TestItem, register_task
from cotlit.tasks.booleans import BooleanTask
from cotlit.tasks.commonsense import CommonsenseTask
from cotlit.tasks.records import field, instruction_label


@register_task
class StrategyQA(CommonsenseTask, BooleanTask):
    name = "strategyqa"

    def read_test_record(self, record: dict[str, Any], index: int) -> TestItem:
        label = field(record, index, "label", (str, bool))
        if label not in ("True", "False", True, False):
            raise CotlitError(f"expected 'True' or 'False', got {label!r}", record=index, field="label")
        return instruction_label(self, record, index, (str, bool))
