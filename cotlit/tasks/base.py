"""The task interface: what every task knows about its answers, and the task registry.

A task is one small file in ``cotlit/tasks/`` that subclasses :class:`Task` and is decorated with
:func:`register_task`; ``cotlit/tasks/__init__.py`` imports the built-in ones, so importing this module (which
imports its package first) fills the registry. The core never names a concrete task.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from cotlit.errors import CotlitError

AnswerKind = Literal["number", "choice", "boolean", "latex"]

PAPER_STOP_STRINGS: tuple[str, ...] = ("USER:", "ASSISTANT:", "### Instruction:", "Response:", "<start_of_turn>",
                                       "[INST]", "\n\nProblem", "\nProblem", "Problem:", "<|eot_id|>")
"""The stop strings of the paper's math decoding (MAmmoTH2 ``math_eval/run_open.py``, which its README names for
SVAMP, GSM8K, AQuA and MATH)."""


@dataclass(frozen=True)
class Extraction:
    """The final answer found in a generated text."""

    answer: str | None
    """The normalised answer, or ``None`` when no candidate was found (an *unparsed* output)."""
    format_ok: bool
    """True when the answer came after the task's trigger (``The answer is``), not from a fallback."""
    method: str = "trigger"
    """How it was found: ``trigger``, ``option_text`` (an option's text after the trigger), ``####``,
    ``boxed``, ``last`` (last candidate of the whole text) or ``none``."""


@dataclass(frozen=True)
class Score:
    """One prediction checked against its gold answer."""

    extracted: str | None
    format_ok: bool
    correct: bool


@dataclass(frozen=True)
class TestItem:
    """One record of a public test set, read into task terms."""

    __test__ = False  # not a pytest test class, despite its name

    id: str
    question: str
    gold: str
    choices: tuple[str, ...] | None = None


class Task(ABC):
    """A reasoning task: its answer kind, answer extraction and comparison, and its test-set format."""

    name: ClassVar[str]
    answer_kind: ClassVar[AnswerKind]
    max_new_tokens: ClassVar[int] = 512
    """Default generation budget for this task's evaluation."""
    paper_max_new_tokens: ClassVar[int] = 1024
    """The paper's generation budget (its README: 1024 for math, 640 for commonsense), used with paper scoring."""
    paper_num_beams: ClassVar[int] = 1
    """The paper's beam width, used with paper scoring: 1 (greedy: ``run_open.py``'s ``temperature=0, top_p=1``) for
    the math tasks; the commonsense tasks override it with 5 (``run_reasoning.py``'s ``use_beam_search=True,
    best_of=5``)."""
    paper_stop_strings: ClassVar[tuple[str, ...]] = PAPER_STOP_STRINGS
    """The paper's string stop sequences, used with paper scoring."""
    choice_letters: ClassVar[str] = ""
    """Valid choice letters for multiple-choice tasks (e.g. ``"ABCDE"``), empty otherwise."""

    def __init__(self, *, paper_compat: bool = False) -> None:
        self.paper_compat = paper_compat
        """Reproduce the paper's own extraction and comparison rules instead of cotlit's."""

    @abstractmethod
    def extract(self, text: str, choices: tuple[str, ...] | None = None) -> Extraction:
        """Find and normalise the final answer in a generated text (trigger first, then fallbacks)."""

    @abstractmethod
    def normalize_gold(self, gold: Any) -> str:
        """Normalise a gold answer as it comes from a file (``145.0`` -> ``"145"``, ``"(b)"`` -> ``"B"``)."""

    @abstractmethod
    def equal(self, prediction: str, gold: str) -> bool:
        """Compare a normalised prediction with a normalised gold answer."""

    @abstractmethod
    def read_test_record(self, record: dict[str, Any], index: int) -> TestItem:
        """Read one record of the task's public test-set format (raise ``CotlitError`` naming the field)."""

    def score(self, text: str, gold: Any, choices: tuple[str, ...] | None = None) -> Score:
        """Extract the answer from ``text`` and compare it with ``gold``."""
        extraction = self.extract(text, choices)
        gold_norm = self.normalize_gold(gold)
        correct = extraction.answer is not None and self.equal(extraction.answer, gold_norm)
        return Score(extraction.answer, extraction.format_ok, correct)

    def format_question(self, question: str, choices: tuple[str, ...] | None = None) -> str:
        """The canonical question layout shown to students: choices on one line as ``(A) x (B) y``."""
        if not choices:
            return question
        letters = self.choice_letters or "ABCDEFGHIJ"
        options = " ".join(f"({letter}) {text}" for letter, text in zip(letters, choices))
        return f"{question}\nAnswer Choices: {options}"


_REGISTRY: dict[str, type[Task]] = {}


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: make a task available by its ``name``."""
    if cls.name in _REGISTRY:
        raise ValueError(f"task {cls.name!r} is registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def task_names() -> list[str]:
    """Names of every registered task, sorted."""
    return sorted(_REGISTRY)


def unregister_task(name: str) -> None:
    """Remove a registered task (for tests that register a throwaway task)."""
    del _REGISTRY[name]


def get_task(name: str, *, paper_compat: bool = False) -> Task:
    """The task called ``name``; an unknown name lists the valid ones.

    ``paper_compat=True`` gives the paper's scoring rules (MAmmoTH for math, the commonsense regex otherwise).
    """
    try:
        cls = _REGISTRY[name.lower()]
    except KeyError:
        raise CotlitError(f"unknown task {name!r}; valid tasks: {', '.join(sorted(_REGISTRY))}") from None
    return cls(paper_compat=paper_compat)

