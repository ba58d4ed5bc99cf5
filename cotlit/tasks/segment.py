"""Where the final answer sits in a generated text: the part after the trigger ``The answer is``.

cotlit's rule (``conventions.md`` (a), rules 2-4) is :func:`cotlit.core.split_answer`; the paper's own rules
(MAmmoTH's for math, a single regex for commonsense) live in :mod:`cotlit.tasks.paper_rules`.
"""

from __future__ import annotations

import re

from cotlit.core import TRIGGER_RE, split_answer


def answer_segment(text: str, trigger: re.Pattern[str] = TRIGGER_RE) -> str | None:
    """The stripped text after the trigger that introduces the answer (:func:`cotlit.core.split_answer`), or
    ``None`` when there is no trigger: ``The answer is 15.\\n\\nQ: ... The answer is 7`` -> ``15``."""
    split = split_answer(text, trigger)
    return None if split is None else split.answer


def first_line(segment: str) -> str:
    """The first line of an answer segment (where an equation or an option's text is looked for)."""
    return segment.lstrip().split("\n", 1)[0].strip()

