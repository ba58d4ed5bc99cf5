"""OpenBookQA: four-option elementary science questions (A-D).

Extraction (:class:`~cotlit.tasks.choices.ChoiceTask`): first letter A-D after ``The answer is``; else the
last letter of the text (``format_ok=False``). ``paper_compat``: the paper's regex
``[Tt]he answer is ([A-E]|True|False)`` on the cleaned output (``run_reasoning.py``), case-sensitive, no
fallback (an ``E`` it finds is simply wrong).
Test records are the paper's ``{"instruction", "label"}`` (the options are inside the instruction, so
``choices`` is None). Decoding budgets and the paper's beam search: :mod:`cotlit.tasks.commonsense`.
"""

from __future__ import annotations

from cotlit.tasks.base import register_task
from cotlit.tasks.choices import ChoiceTask
from cotlit.tasks.commonsense import CommonsenseTask


@register_task
class OpenBookQA(CommonsenseTask, ChoiceTask):
    name = "obqa"
    choice_letters = "ABCD"
