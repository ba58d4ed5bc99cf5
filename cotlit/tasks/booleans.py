"""True/False answers (StrategyQA): finding and normalising them, and the boolean task base.

cotlit: the first of true/false/yes/no after the trigger, case-insensitive, normalised to ``"True"`` or
``"False"``. Negations (``is not true``) are not special-cased. ``paper_compat``: only a capitalised
``True``/``False`` directly after ``The answer is `` counts (the paper's commonsense regex, after its output
cleaning; see :func:`cotlit.tasks.paper_rules.commonsense_label`).
"""

from __future__ import annotations

import re
from typing import Any

from cotlit.errors import CotlitError
from cotlit.tasks.base import Extraction, Task
from cotlit.tasks.paper_rules import commonsense_label
from cotlit.tasks.segment import answer_segment

BOOLEAN_RE = re.compile(r"\b(true|false|yes|no)\b", re.IGNORECASE)
_VALUES = {"true": "True", "yes": "True", "false": "False", "no": "False"}


def find_booleans(text: str) -> list[str]:
    """Every true/false/yes/no word in ``text`` as ``"True"``/``"False"``, in order."""
    return [_VALUES[word.lower()] for word in BOOLEAN_RE.findall(text)]


class BooleanTask(Task):
    """A task whose answer is True or False.

    Extraction: the first true/false/yes/no after the trigger; with no trigger, the last one in the whole
    text (``format_ok=False``). A trigger with no such word after it gives no answer.
    """

    answer_kind = "boolean"

    def extract(self, text: str, choices: tuple[str, ...] | None = None) -> Extraction:
        if self.paper_compat:
            answer = commonsense_label(text)
            return Extraction(answer, answer is not None, "trigger" if answer else "none")
        segment = answer_segment(text)
        if segment is not None:
            found = find_booleans(segment)
            return Extraction(found[0], True) if found else Extraction(None, False, "none")
        found = find_booleans(text)
        return Extraction(found[-1], False, "last") if found else Extraction(None, False, "none")

    def normalize_gold(self, gold: Any) -> str:
        """cotlit: ``"True"``/``"False"`` from true/false/yes/no; paper (``run_reasoning.py``): the label verbatim.

        A JSON boolean label becomes ``"True"``/``"False"`` under both rules (the paper's files hold strings;
        its ``==`` would never match a boolean, which is a file quirk, not a rule).
        """
        if isinstance(gold, bool):
            return str(gold)
        if isinstance(gold, str):
            if self.paper_compat and gold.strip():
                return gold
            if gold.strip().lower() in _VALUES:
                return _VALUES[gold.strip().lower()]
        raise CotlitError(f"{self.name}: gold answer must be True or False, got {gold!r}")

    def equal(self, prediction: str, gold: str) -> bool:
        return prediction == gold
