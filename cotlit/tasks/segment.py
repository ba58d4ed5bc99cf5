"""Where the final answer sits in a generated text: the part after the trigger ``The answer is``.

cotlit's rule (``conventions.md`` (a), rules 2-4) is :func:`cotlit.core.split_answer`; the two rules of the
paper's evaluation scripts (MAmmoTH for math, a single regex for commonsense) live here, shared by every answer
kind.
"""

from __future__ import annotations

import re

from cotlit.core import TRIGGER_RE, split_answer

MAMMOTH_TRIGGERS = ("choice is", "answer is")
"""MAmmoTH's ``direct_answer_trigger_for_fewshot``: lower-case substrings, matched anywhere."""
COMMONSENSE_PAPER_RE = re.compile(r"[Tt]he answer is ([A-E]|True|False)")
"""The paper's commonsense scorer (``run_reasoning.py``): first match, case-sensitive, no fallback."""


def answer_segment(text: str, trigger: re.Pattern[str] = TRIGGER_RE) -> str | None:
    """The stripped text after the trigger that introduces the answer (:func:`cotlit.core.split_answer`), or
    ``None`` when there is no trigger: ``The answer is 15.\\n\\nQ: ... The answer is 7`` -> ``15``."""
    split = split_answer(text, trigger)
    return None if split is None else split.answer


def first_line(segment: str) -> str:
    """The first line of an answer segment (where an equation or an option's text is looked for)."""
    return segment.lstrip().split("\n", 1)[0].strip()


def mammoth_segment(text: str) -> tuple[str, bool]:
    """MAmmoTH's ``answer_clean`` front half: ``(segment, answer_flag)``.

    If any trigger occurs twice the text is cut at its first blank line *anywhere*; then the text after the
    last trigger is taken (``answer_flag=True``), else the whole text.
    """
    pred = text.strip("\n")
    if any(pred.count(trigger) > 1 for trigger in MAMMOTH_TRIGGERS):
        pred = pred.split("\n\n")[0]
    parts = re.split("|".join(MAMMOTH_TRIGGERS), pred)
    flag = len(parts) > 1
    if flag:
        pred = parts[-1]
    return pred.strip("\n").rstrip(".").rstrip("/").strip(" "), flag


def commonsense_paper_answer(text: str) -> str | None:
    """The paper's commonsense prediction: the first ``[Tt]he answer is ([A-E]|True|False)`` match."""
    match = COMMONSENSE_PAPER_RE.search(text)
    return match.group(1) if match else None
