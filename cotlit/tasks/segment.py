"""Where the final answer sits in a generated text: the part after the trigger ``The answer is``.

cotlit's rule (``conventions.md`` (a), rules 2-4) and the two rules of the paper's evaluation scripts
(MAmmoTH for math, a single regex for commonsense) live here, shared by every answer kind.
"""

from __future__ import annotations

import re

TRIGGER_RE = re.compile(r"[Tt]he answer is:?")
"""cotlit's trigger: ``The answer is`` with a case-insensitive first letter and an optional colon."""
BLANK_LINE_RE = re.compile(r"\n[ \t]*\n")
MAMMOTH_TRIGGERS = ("choice is", "answer is")
"""MAmmoTH's ``direct_answer_trigger_for_fewshot``: lower-case substrings, matched anywhere."""
COMMONSENSE_PAPER_RE = re.compile(r"[Tt]he answer is ([A-E]|True|False)")
"""The paper's commonsense scorer (``run_reasoning.py``): first match, case-sensitive, no fallback."""


def strip_answer(text: str) -> str:
    """Strip spaces and a trailing ``.`` or ``/`` from an answer segment."""
    return text.strip().rstrip("./").strip()


def answer_segment(text: str, trigger: re.Pattern[str] = TRIGGER_RE) -> str | None:
    """The stripped text after the last trigger, or ``None`` when there is no trigger.

    With several triggers the text is first cut at the first blank line that follows the first trigger's
    answer (a runaway continuation usually starts a new paragraph), then the last remaining trigger counts:
    ``The answer is 15.\\n\\nQ: ... The answer is 7`` -> ``15``.
    """
    matches = list(trigger.finditer(text))
    if not matches:
        return None
    if len(matches) > 1:
        start = matches[0].end()
        start += len(text[start:]) - len(text[start:].lstrip())
        blank = BLANK_LINE_RE.search(text, start)
        if blank is not None:
            text = text[: blank.start()]
            matches = [match for match in matches if match.end() <= blank.start()]
    return strip_answer(text[matches[-1].end() :])


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
