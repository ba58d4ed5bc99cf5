"""AQuA-RAT: algebraic word problems with five options A-E.

Extraction (:class:`~cotlit.tasks.choices.ChoiceTask`): first letter A-E after ``The answer is``; else the
option whose text the answer line repeats (when the options are given); else the last letter of the text
(``format_ok=False``). ``paper_compat`` uses MAmmoTH's AQuA rule. Test records are the DeepMind JSON lines
``{"question", "options": ["A)21", ...], "correct"}``; the options are kept apart from the question.
``max_new_tokens=512`` (paper: 1024).
"""

from __future__ import annotations

from typing import Any

from cotlit.errors import CotlitError
from cotlit.tasks.base import TestItem, register_task
from cotlit.tasks.choices import ChoiceTask, parse_options
from cotlit.tasks.records import field, gold, record_id


@register_task
class AQuA(ChoiceTask):
    name = "aqua"
    choice_letters = "ABCDE"
    paper_rule = "mammoth"
    max_new_tokens = 512

    def read_test_record(self, record: dict[str, Any], index: int) -> TestItem:
        question = field(record, index, "question")
        try:
            choices = parse_options(field(record, index, "options", list), self.choice_letters)
        except CotlitError as error:
            raise CotlitError(str(error), record=index, field="options") from None
        answer = gold(self, field(record, index, "correct"), index, "correct")
        if answer not in self.valid_letters(choices):
            raise CotlitError(f"{answer!r} names no option", record=index, field="correct")
        return TestItem(record_id(self.name, record, index, question), question, answer, choices)
