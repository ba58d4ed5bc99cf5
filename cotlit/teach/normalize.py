"""Check a teacher completion and normalise it to end with exactly ``The answer is X``."""

from __future__ import annotations

from dataclasses import dataclass

from cotlit.core import compose_target, split_answer
from cotlit.tasks.base import Task


@dataclass(frozen=True)
class Normalised:
    """A usable teacher CoT split into rationale and the task-normalised answer."""

    rationale: str
    answer: str

    @property
    def target(self) -> str:
        """The training target: the rationale, then ``The answer is X``."""
        return compose_target(self.rationale, self.answer)


def normalise(text: str | None, task: Task, choices: tuple[str, ...] | None = None) -> Normalised | str:
    """Split ``text`` at its answer trigger; a failure reason (``empty``, ``no-trigger``, ``no-answer``) otherwise.

    The answer is the task's extraction (its segment comes from :func:`cotlit.core.split_answer`); the rationale is
    the text before the first trigger (``split.lead``), so the target holds exactly one ``The answer is``. Text
    after the answer is dropped.
    """
    if text is None or not text.strip():
        return "empty"
    split = split_answer(text)
    if split is None:
        return "no-trigger"
    extraction = task.extract(text, choices)
    if extraction.answer is None or not extraction.format_ok:
        return "no-answer"
    return Normalised(split.lead, extraction.answer)


def check(
    text: str | None, finish_reason: str | None, task: Task, choices: tuple[str, ...] | None = None
) -> str | None:
    """Why a completion must be retried (``empty``, ``cut-off``, ``no-trigger``, ``no-answer``), or None if usable."""
    if text is None or not text.strip():
        return "empty"
    if finish_reason == "length":
        return "cut-off"
    result = normalise(text, task, choices)
    return result if isinstance(result, str) else None
