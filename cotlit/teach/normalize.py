"""Check a teacher completion and normalise it to end with exactly ``The answer is X``."""

from __future__ import annotations

from dataclasses import dataclass

from cotlit.tasks.base import TRIGGER, Task
from cotlit.tasks.segment import BLANK_LINE_RE, TRIGGER_RE


@dataclass(frozen=True)
class Normalised:
    """A usable teacher CoT split into rationale and the task-normalised answer."""

    rationale: str
    answer: str

    @property
    def target(self) -> str:
        """The training target: the rationale, then ``The answer is X``."""
        final = f"{TRIGGER} {self.answer}"
        return f"{self.rationale} {final}" if self.rationale else final


def normalise(text: str | None, task: Task, choices: tuple[str, ...] | None = None) -> Normalised | str:
    """Split ``text`` at its answer trigger; a failure reason (``empty``, ``no-trigger``, ``no-answer``) otherwise.

    The answer is the task's extraction (conventions (a): with several triggers, the text is first cut at the first
    blank line after the first trigger, then the **last** remaining trigger counts); the rationale is the text
    before the first trigger, so the target holds exactly one ``The answer is``. Text after the answer is dropped.
    """
    if text is None or not text.strip():
        return "empty"
    first = TRIGGER_RE.search(text)
    if first is None:
        return "no-trigger"
    blank = BLANK_LINE_RE.search(text, first.end())
    kept = text if blank is None else text[: blank.start()]
    extraction = task.extract(kept, choices)
    if extraction.answer is None or not extraction.format_ok:
        return "no-answer"
    return Normalised(text[: first.start()].strip(), extraction.answer)


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
