"""Corpus statistics of a CoT data set: trigger rate, rationale length, steps, diversity, agreement with gold.

Definitions (all on the rationale, i.e. the target without its final ``The answer is X``):

- *words*: whitespace-separated tokens.
- *steps*: the numbered steps when the rationale numbers at least two of them in order (``1.``, ``2)``,
  ``Step 3``; the count is the longest run 1, 2, 3, ... found left to right), otherwise its sentences
  (pieces split after ``.``, ``!`` or ``?`` followed by whitespace, and at line breaks, that hold a letter
  or digit). Answer-only targets have 0 steps.
- *p90*: nearest-rank 90th percentile.
- *distinct-n*: unique lower-cased word n-grams / all n-grams over the whole file (Li et al., 2016).
- *agreement*: the share of examples with a gold answer whose target, scored by the task's rules, matches it.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from cotlit.core import CoTExample
from cotlit.tasks.base import Task

_STEP_MARKER = re.compile(r"\bstep\s*(\d{1,2})\b|(?<!\d)(\d{1,2})[.)](?=\s|[A-Z])", re.IGNORECASE)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")
_CONTENT = re.compile(r"[^\W_]")


def count_steps(rationale: str) -> tuple[int, bool]:
    """``(steps, numbered)``: numbered steps when there are at least two in order, else sentences."""
    expected = 1
    for match in _STEP_MARKER.finditer(rationale):
        if int(match.group(1) or match.group(2)) == expected:
            expected += 1
    if expected > 2:
        return expected - 1, True
    return sum(bool(_CONTENT.search(piece)) for piece in _SENTENCE_BREAK.split(rationale)), False


def distinct_n(texts: Sequence[str], n: int) -> float | None:
    """Unique word n-grams / all word n-grams over ``texts``; None when there are none."""
    grams = [tuple(words[i : i + n]) for words in (t.lower().split() for t in texts) for i in range(len(words) - n + 1)]
    return len(set(grams)) / len(grams) if grams else None


def summary(values: Sequence[float]) -> dict[str, float]:
    """Mean, median and nearest-rank p90 (zeros for an empty sequence)."""
    if not values:
        return {"mean": 0.0, "median": 0.0, "p90": 0.0}
    ordered = sorted(values)
    return {
        "mean": statistics.fmean(ordered),
        "median": float(statistics.median(ordered)),
        "p90": float(ordered[math.ceil(0.9 * len(ordered)) - 1]),
    }


def profile_examples(
    examples: Sequence[CoTExample], task: Task | None = None, gold: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Statistics of ``examples`` as a JSON-ready dict (see the module docstring for definitions).

    ``gold`` maps example ids to gold answers and overrides each example's own ``gold``; agreement needs
    ``task`` and is None when no example has a gold answer.
    """
    rationales = [ex.rationale for ex in examples]
    steps = [count_steps(text) for text in rationales]
    n = len(examples)
    triggered = sum(bool(ex.meta.get("trigger")) for ex in examples)
    answer_only = sum(bool(ex.meta.get("answer_only")) for ex in examples)
    return {
        "n": n,
        "task": next((ex.task for ex in examples if ex.task), None),
        "teachers": sorted({ex.teacher for ex in examples}, key=str),
        "levels": sorted({ex.granularity for ex in examples if ex.granularity is not None}),
        "formats": sorted({ex.format for ex in examples}),
        "trigger_rate": triggered / n if n else 0.0,
        "no_trigger": n - triggered - answer_only,
        "answer_only": answer_only,
        "repeated_questions": sum("#" in ex.id for ex in examples),
        "rationale_words": summary([len(text.split()) for text in rationales]),
        "steps": summary([count for count, _ in steps]),
        "numbered_step_rate": sum(numbered for _, numbered in steps) / n if n else 0.0,
        "distinct_1": distinct_n(rationales, 1),
        "distinct_2": distinct_n(rationales, 2),
        "agreement": agreement(examples, task, gold) if task is not None else None,
    }


def agreement(
    examples: Sequence[CoTExample], task: Task, gold: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """How often the teacher's answer matches gold: ``{n, agree, rate, unparsed}``, or None without gold."""
    scored = [
        task.score(ex.target, gold[ex.id] if gold is not None and ex.id in gold else ex.gold)
        for ex in examples
        if (gold is not None and ex.id in gold) or ex.gold is not None
    ]
    if not scored:
        return None
    agree = sum(s.correct for s in scored)
    return {
        "n": len(scored),
        "agree": agree,
        "rate": agree / len(scored),
        "unparsed": sum(s.extracted is None for s in scored),
    }
