"""Multiple-choice answers (AQuA, CommonsenseQA, OpenBookQA, and any A-J task): letters and the choice base.

cotlit: the first standalone capital letter of the task's set after the trigger, accepting ``C``, ``(C)``,
``C)``, ``C.``, ``C:`` and ``Option C``. The text is never upper-cased (``a total of 12 (C)`` -> ``C``).
A new multiple-choice task (ARC, MMLU...) is one small file: subclass :class:`ChoiceTask`, set ``name``,
``choice_letters`` and ``read_test_record``, decorate with ``@register_task``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, ClassVar, Literal

from cotlit.errors import CotlitError
from cotlit.tasks.base import Extraction, Task
from cotlit.tasks.paper_rules import commonsense_label, paper_equal, paper_letter
from cotlit.tasks.segment import answer_segment, first_line

OPTION_RE = re.compile(r"\s*\(?([A-J])\)\s*(.*)", re.DOTALL)
"""One AQuA-style option string: ``"A)21"``, ``"(B) 3 km"``."""


@lru_cache(maxsize=None)
def letter_pattern(letters: str) -> re.Pattern[str]:
    """A standalone capital letter of ``letters``, optionally in parentheses: ``C``, ``(C)``, ``C)``, ``C.``."""
    return re.compile(rf"(?<![A-Za-z0-9])\(?([{re.escape(letters)}])\)?(?![A-Za-z0-9])")


def find_letters(text: str, letters: str) -> list[str]:
    """Every standalone choice letter of ``letters`` in ``text``, in order (case-sensitive)."""
    return letter_pattern(letters).findall(text)


def _option_key(text: str) -> str:
    return " ".join(text.strip().rstrip(".!").strip("\"'`*").lower().split())


def letter_of_option_text(segment: str, choices: tuple[str, ...], letters: str) -> str | None:
    """The letter of the one option whose text equals the segment's first line (case-insensitive)."""
    key = _option_key(first_line(segment))
    hits = [letter for letter, option in zip(letters, choices) if key and _option_key(option) == key]
    return hits[0] if len(hits) == 1 else None


def parse_options(options: list[Any], letters: str) -> tuple[str, ...]:
    """Option texts from AQuA-style strings ``["A)21", "B)22", ...]``; letters must run ``A, B, C...``."""
    if not isinstance(options, list) or not options:
        raise CotlitError(f"expected a non-empty list of options like 'A)21', got {options!r}")
    if len(options) > len(letters):
        raise CotlitError(f"{len(options)} options, but only letters {letters} are valid")
    texts = []
    for expected, option in zip(letters, options):
        match = OPTION_RE.fullmatch(option) if isinstance(option, str) else None
        if match is None or match.group(1) != expected:
            raise CotlitError(f"option {option!r} should start with '{expected})'")
        texts.append(match.group(2).strip())
    return tuple(texts)


class ChoiceTask(Task):
    """A task whose answer is one option letter out of :attr:`choice_letters`.

    Extraction: the first valid letter after the trigger; else, when the option texts are given, the option
    whose text the answer line repeats (``method="option_text"``); with no trigger, the last valid letter of
    the whole text (``format_ok=False``). With ``choices`` the valid letters are cut to their number.
    ``paper_compat``: :attr:`paper_rule` ``"mammoth"`` (AQuA, MAmmoTH2 ``answer_clean``: upper-cased text,
    ``\\b[A-J]\\b``, first after the trigger else last) or ``"commonsense"`` (``run_reasoning.py``: the
    first ``[Tt]he answer is ([A-E]|True|False)`` of the cleaned output, ``==`` to the label); see
    :mod:`cotlit.tasks.paper_rules`.
    """

    answer_kind = "choice"
    paper_rule: ClassVar[Literal["mammoth", "commonsense"]] = "commonsense"

    def valid_letters(self, choices: tuple[str, ...] | None = None) -> str:
        return self.choice_letters[: len(choices)] if choices else self.choice_letters

    def extract(self, text: str, choices: tuple[str, ...] | None = None) -> Extraction:
        if self.paper_compat:
            return self._extract_paper(text)
        letters = self.valid_letters(choices)
        segment = answer_segment(text)
        if segment is not None:
            found = find_letters(segment, letters)
            if found:
                return Extraction(found[0], True)
            by_text = letter_of_option_text(segment, choices, letters) if choices else None
            return Extraction(by_text, True, "option_text") if by_text else Extraction(None, False, "none")
        found = find_letters(text, letters)
        return Extraction(found[-1], False, "last") if found else Extraction(None, False, "none")

    def _extract_paper(self, text: str) -> Extraction:
        if self.paper_rule == "commonsense":
            answer = commonsense_label(text)
            return Extraction(answer, answer is not None, "trigger" if answer else "none")
        answer, flag = paper_letter(text)
        if answer is None:
            return Extraction(None, False, "none")
        return Extraction(answer, flag, "trigger" if flag else "last")

    def normalize_gold(self, gold: Any) -> str:
        """cotlit: the letter, from ``B``, ``(b)``, ``D.``; paper: the label verbatim (``run_reasoning.py``,
        MAmmoTH2 ``data_loader.py`` for AQuA's ``correct``)."""
        if not isinstance(gold, str) or not gold.strip():
            raise CotlitError(f"{self.name}: gold answer must be a letter, got {gold!r}")
        if self.paper_compat:
            return gold
        letter = gold.strip().strip("()").rstrip(".:)").strip().upper()
        if len(letter) != 1 or letter not in self.choice_letters:
            raise CotlitError(f"{self.name}: gold answer {gold!r} is not one of the letters {self.choice_letters}")
        return letter

    def equal(self, prediction: str, gold: str) -> bool:
        if self.paper_compat and self.paper_rule == "mammoth":
            return paper_equal(prediction, gold)
        return prediction == gold
