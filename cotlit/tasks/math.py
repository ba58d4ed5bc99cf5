"""MATH: competition problems (the paper's four subjects) with LaTeX answers.

Extraction (:mod:`cotlit.tasks.latex`): after ``The answer is``, the last brace-matched ``\\boxed{}`` of the
segment if any, else the segment's first math span or line after its last ``=`` (``12 inches`` -> ``12``).
With no trigger: the last ``\\boxed{}``/``\\fbox{}``/``\\boxed 5`` of the text, else its last number (both
``format_ok=False``). Both sides are normalised by :func:`~cotlit.tasks.latex.normalize_latex` and compared as
exact strings (no symbolic equivalence). ``paper_compat``: the paper's ``extract_math_answer`` and
``_strip_string`` on the prediction, the gold verbatim, compared as case-insensitive strings after both lose
``\\text{`` (:mod:`cotlit.tasks.paper_rules`). Test records: MATH-500 ``{"problem", "answer"}``, or the full test set's ``solution``
(last boxed content, brace-matched). ``max_new_tokens=512`` (paper: 1024).
"""

from __future__ import annotations

from typing import Any

from cotlit.errors import CotlitError
from cotlit.tasks.base import Extraction, Task, TestItem, register_task
from cotlit.tasks.latex import last_boxed, last_number, normalize_latex, segment_answer
from cotlit.tasks.paper_rules import paper_equal, paper_math
from cotlit.tasks.records import field, gold, record_id
from cotlit.tasks.segment import answer_segment


@register_task
class MATH(Task):
    name = "math"
    answer_kind = "latex"
    max_new_tokens = 512

    def extract(self, text: str, choices: tuple[str, ...] | None = None) -> Extraction:
        if self.paper_compat:
            answer, flag = paper_math(text)
            if answer is None:
                return Extraction(None, False, "none")
            return Extraction(answer, flag, "trigger" if flag else "boxed" if "boxed" in text else "last")
        segment = answer_segment(text)
        if segment is not None:
            boxed = last_boxed(segment)
            answer = normalize_latex(boxed if boxed is not None else segment_answer(segment))
            return Extraction(answer, True) if answer else Extraction(None, False, "none")
        boxed = last_boxed(text)
        if boxed is not None and normalize_latex(boxed):
            return Extraction(normalize_latex(boxed), False, "boxed")
        number = last_number(text)
        return Extraction(normalize_latex(number), False, "last") if number else Extraction(None, False, "none")

    def normalize_gold(self, gold: Any) -> str:
        """cotlit: :func:`~cotlit.tasks.latex.normalize_latex`; paper: the answer string verbatim, as MAmmoTH2's
        ``data_loader.py`` reads MATH's ``answer`` (its comparison drops ``\\text{`` and the case)."""
        if isinstance(gold, bool) or not isinstance(gold, (str, int, float)):
            raise CotlitError(f"{self.name}: gold answer must be a string or number, got {gold!r}")
        answer = str(gold) if self.paper_compat else normalize_latex(str(gold))
        if not answer.strip():
            raise CotlitError(f"{self.name}: gold answer {gold!r} is empty after normalisation")
        return answer

    def equal(self, prediction: str, gold: str) -> bool:
        return paper_equal(prediction, gold) if self.paper_compat else prediction == gold

    def read_test_record(self, record: dict[str, Any], index: int) -> TestItem:
        question = field(record, index, "problem")
        name = "answer" if "answer" in record else "solution"
        if name == "answer":
            answer = field(record, index, name, (str, int, float))
        else:
            answer = last_boxed(field(record, index, name))
            if answer is None:
                raise CotlitError("no 'answer' field and no closed \\boxed{} here", record=index, field=name)
        item_id = record_id(self.name, record, index, question, "unique_id")
        return TestItem(item_id, question, gold(self, answer, index, name))
