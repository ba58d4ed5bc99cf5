"""Numeric answers (SVAMP, GSM8K): finding, normalising and comparing numbers, and the numeric task base.

cotlit: thousands separators removed, ``$``/``%``/units ignored, ``3/4`` evaluated, values compared with a
relative tolerance of 1e-6. ``paper_compat``: the paper's rules (:mod:`cotlit.tasks.paper_rules`): the first
number ``-?\\d+/?\\.?\\d*`` after the last trigger (else the last of the text), ``delete_extra_zero``, and
case-insensitive string equality.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from cotlit.errors import CotlitError
from cotlit.tasks.base import Extraction, Task
from cotlit.tasks.paper_rules import PAPER_TRIGGERS, delete_extra_zero, paper_equal, paper_number
from cotlit.tasks.segment import answer_segment, first_line

THOUSANDS_RE = re.compile(r"(?<=\d),(?=\d{3}\b)")
NUMBER_RE = re.compile(r"(?:(?<![\w.])-)?(?<![\d.])(?:\d+(?:\.\d+)?|\.\d+)(?:/\d+(?:\.\d+)?)?")
"""Optional sign (not after a word: ``10-12`` gives 10 and 12), decimals, ``.5`` and a ``/denominator``."""
CALCULATOR_RE = re.compile(r"<<[^<>]*>>")
"""GSM8K calculator notes ``<<a*b=c>>``: never answers."""
RELATIVE_TOLERANCE = Decimal("1e-6")


def find_numbers(text: str) -> list[str]:
    """Every number in ``text``, normalised (see :func:`normalize_number`), in order."""
    text = THOUSANDS_RE.sub("", text.replace("\u2212", "-"))
    numbers = (normalize_number(token) for token in NUMBER_RE.findall(text))
    return [number for number in numbers if number is not None]


def normalize_number(token: str) -> str | None:
    """``"145.00"`` -> ``"145"``, ``"12.50"`` -> ``"12.5"``, ``"3/4"`` -> ``"0.75"``; ``None`` if not a number."""
    numerator, slash, denominator = token.strip().partition("/")
    try:
        value = Decimal(numerator)
        if slash:
            divisor = Decimal(denominator)
            if divisor == 0:
                return None
            value = value / divisor
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def numbers_equal(prediction: str, gold: str) -> bool:
    """Equal values within a relative tolerance of 1e-6 (both sides already normalised)."""
    try:
        p, g = Decimal(prediction), Decimal(gold)
    except InvalidOperation:
        return False
    return abs(p - g) <= RELATIVE_TOLERANCE * max(abs(p), abs(g))


def equation_result(segment: str) -> str:
    """The part after the last ``=`` when the segment's first line is an equation, else the segment."""
    line = first_line(segment)
    return line.rsplit("=", 1)[1] if "=" in line else segment


class NumberTask(Task):
    """A task whose answer is one number.

    Extraction: the first number after the trigger (after the last ``=`` when the answer line is an
    equation); :attr:`secondary_trigger` (e.g. GSM8K ``####``) when there is no trigger; else the last number
    of the whole text (``format_ok=False``). A trigger with no number after it gives no answer.
    """

    answer_kind = "number"
    secondary_trigger: ClassVar[re.Pattern[str] | None] = None
    """A dataset-native answer marker used as a flagged fallback (``format_ok=False``)."""
    paper_triggers: ClassVar[tuple[str, ...]] = PAPER_TRIGGERS
    """The paper's triggers for this task (``run_open.py``: GSM8K adds ``####``)."""

    def extract(self, text: str, choices: tuple[str, ...] | None = None) -> Extraction:
        if self.paper_compat:
            answer, flag = paper_number(text, self.paper_triggers)
            if answer is None:
                return Extraction(None, False, "none")
            return Extraction(answer, flag, "trigger" if flag else "last")
        text = CALCULATOR_RE.sub("", text)
        segment = answer_segment(text)
        if segment is not None:
            numbers = find_numbers(equation_result(segment))
            return Extraction(numbers[0], True) if numbers else Extraction(None, False, "none")
        if self.secondary_trigger is not None:
            segment = answer_segment(text, self.secondary_trigger)
            numbers = find_numbers(segment) if segment is not None else []
            if numbers:
                return Extraction(numbers[0], False, self.secondary_trigger.pattern)
        numbers = find_numbers(text)
        return Extraction(numbers[-1], False, "last") if numbers else Extraction(None, False, "none")

    def normalize_gold(self, gold: Any) -> str:
        """cotlit: the number's value; paper (MAmmoTH2 ``data_loader.py``): commas removed, ``delete_extra_zero``.

        Where the paper would keep a gold that is no number (and score it wrong forever), cotlit raises.
        """
        if isinstance(gold, bool) or not isinstance(gold, (int, float, str)):
            raise CotlitError(f"{self.name}: gold answer must be a number, got {gold!r}")
        text = str(gold)
        if self.paper_compat:
            number: str | None = delete_extra_zero(text.replace(",", ""))
            number = number if _is_float(number) else None
        else:
            number = normalize_number(THOUSANDS_RE.sub("", text).lstrip("$").rstrip("%"))
        if number is None:
            raise CotlitError(f"{self.name}: gold answer is not a number: {gold!r}")
        return number

    def equal(self, prediction: str, gold: str) -> bool:
        if self.paper_compat:
            return paper_equal(prediction, gold)
        return numbers_equal(prediction, gold)


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
