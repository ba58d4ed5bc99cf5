"""OpenBookQA: four-option elementary science questions (A-D).

Extraction (:class:`~cotlit.tasks.choices.ChoiceTask`): first letter A-D after ``The answer is``; else the
last letter of the text (``format_ok=False``). ``paper_compat``: the paper's regex
``[Tt]he answer is ([A-E]|True|False)`` on the cleaned output (``run_reasoning.py``), case-sensitive, no
fallback (an ``E`` it finds is simply wrong).
Test records are the paper's ``{"instruction", "label"}`` (the options are inside the instruction, so
``choices`` is None).
``max_new_tokens=320`` (the paper's script default; its README says 640).
"""

from __future__ import annotations

from typing import Any

from cotlit.tasks.base import COMMONSENSE_PAPER_STOP_STRINGS, TestItem, register_task
from cotlit.tasks.choices import ChoiceTask
from cotlit.tasks.records import instruction_label


@register_task
class OpenBookQA(ChoiceTask):
    name = "obqa"
    choice_letters = "ABCD"
    max_new_tokens = 320
    paper_max_new_tokens = 640
    paper_num_beams = 5
    paper_stop_strings = COMMONSENSE_PAPER_STOP_STRINGS

    def read_test_record(self, record: dict[str, Any], index: int) -> TestItem:
        return instruction_label(self, record, index)
