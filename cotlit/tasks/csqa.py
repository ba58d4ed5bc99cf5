"""CommonsenseQA: five-option commonsense questions (A-E).

Extraction (:class:`~cotlit.tasks.choices.ChoiceTask`): first letter A-E after ``The answer is``; else the
last letter of the text (``format_ok=False``). ``paper_compat``: the paper's regex
``[Tt]he answer is ([A-E]|True|False)`` on the cleaned output (``run_reasoning.py``), case-sensitive, no
fallback. Test records are the paper's ``{"instruction", "label"}`` (the options are inside the instruction,
so ``choices`` is None). Decoding budgets and the paper's beam search: :mod:`cotlit.tasks.commonsense`.
"""

from __future__ import annotations

from cotlit.tasks.base import register_task
from cotlit.tasks.choices import ChoiceTask
from cotlit.tasks.commonsense import CommonsenseTask


@register_task
class CommonsenseQA(CommonsenseTask, ChoiceTask):
    name = "csqa"
    choice_letters = "ABCDE"
