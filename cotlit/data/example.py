"""The one example type every loader produces and every DataModule renders."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from cotlit.tasks.base import TRIGGER

Format = Literal["plain", "bsm", "rar", "sym"]
FORMATS: tuple[str, ...] = ("plain", "bsm", "rar", "sym")
"""plain CoT; bsm = sub-questions each answered; rar = rephrase then answer; sym = symbolic."""
LEVELS: tuple[int, ...] = (1, 2, 3, 4, 5, 6)
"""Granularity levels, from one terse sentence (1) to numbered steps with a check (6)."""


@dataclass(frozen=True)
class CoTExample:
    """A question with a teacher's rationale and final answer, and where it came from."""

    id: str
    """Stable id: the same question of the same task gets the same id in every file (see :func:`example_id`)."""
    task: str
    question: str
    """The question text as the student sees it (choices included where the source embeds them)."""
    rationale: str
    """The chain of thought without the final ``The answer is X`` sentence; empty for answer-only targets."""
    answer: str
    """The final answer as written by the teacher (or the gold answer for answer-only/human data)."""
    teacher: str | None = None
    """Canonical teacher name (``gpt4o``, ``gemini``, ``llama``, ``human``, ``program``...); None = answer-only."""
    granularity: int | None = None
    """Level 1-6, or None for answer-only and human rationales."""
    format: Format = "plain"
    source: str = ""
    """Where it came from: ``file.json#17``, ``dataset_info:SVAMP_ChatGPT_level3#17``, ``arithmetic:seed=0``."""
    choices: tuple[str, ...] | None = None
    """Option texts of a multiple-choice question when known separately (letters A, B, ... implied)."""
    gold: str | None = None
    """The dataset's gold answer when known (may differ from the teacher's ``answer``)."""
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def target(self) -> str:
        """The training target: the rationale followed by ``The answer is X``."""
        final = f"{TRIGGER} {self.answer}"
        return f"{self.rationale} {final}" if self.rationale else final

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["choices"] = list(self.choices) if self.choices is not None else None
        return record


def example_id(task: str, question: str) -> str:
    """A stable id from the task and the whitespace-normalised question text."""
    text = " ".join(question.split())
    return hashlib.sha1(f"{task}\x00{text}".encode()).hexdigest()[:16]
