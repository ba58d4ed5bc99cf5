"""The questions a teacher answers: from any cotlit loader, or freshly drawn arithmetic problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from cotlit.core import example_id
from cotlit.data.loaders import load_examples
from cotlit.data.public_test import load_test_set
from cotlit.errors import CotlitError
from cotlit.synthetic.generate import generate_problems
from cotlit.tasks.base import Task

ARITHMETIC = "arithmetic"


@dataclass
class DataConfig:
    """Where the questions (and gold answers) come from."""

    source: str = ""
    """A ``.json``/``.jsonl`` file, a ``dataset_info.json`` entry name (with ``dataset_dir``), a Hugging Face
    dataset, or ``arithmetic`` for freshly drawn arithmetic problems (answered exactly by the ``program`` teacher)."""
    reader: Literal["cot", "task"] = "cot"
    """``cot``: cotlit's CoT loaders (alpaca JSON, JSON Lines, registry entries, HF datasets); ``task``: a JSON or
    JSON Lines file in the task's own dataset format (GSM8K ``question``/``answer`` with ``#### N``, AQuA
    ``question``/``options``/``correct``...), read by the task's record reader."""
    dataset_dir: str | None = None
    """Folder holding ``dataset_info.json`` when ``source`` is an entry name."""
    prompt_field: str | None = None
    """Record field with the question (``cot`` reader, files and Hugging Face datasets); None = ``instruction``.
    Registry entries use their own ``columns``."""
    response_field: str | None = None
    """Record field with the target, whose answer is the gold when the target is answer-only or human-written
    (``cot`` reader); None = ``output``."""
    gold_field: str | None = None
    """Record field with the gold answer; None = ``gold``/``label`` when present, else an answer-only target."""
    split: str = "train"
    """Hugging Face split, or the arithmetic split (``train``, ``val``, ``test``)."""
    limit: int | None = None
    """Use the first ``limit`` questions (arithmetic: how many to draw; default 200)."""
    seed: int = 0
    """Arithmetic problems only: the generator seed."""


@dataclass(frozen=True)
class Question:
    """One question to teach, with its gold answer when known."""

    id: str
    question: str
    gold: str | None
    choices: tuple[str, ...] | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False)


def load_questions(config: DataConfig, task: Task) -> list[Question]:
    """The questions of ``config`` for ``task``, in source order (the first ``limit`` of them)."""
    if config.limit is not None and config.limit < 1:
        raise CotlitError(f"limit must be positive, got {config.limit}", field="data.limit")
    if config.source == ARITHMETIC:
        return _arithmetic(config, task)
    if not config.source:
        raise CotlitError("no question source given", field="data.source")
    if config.reader == "task":
        return _task_records(config, task)
    examples = load_examples(
        config.source,
        task=task.name,
        dataset_dir=config.dataset_dir,
        prompt_field=config.prompt_field,
        response_field=config.response_field,
        gold_field=config.gold_field,
        split=config.split,
    )
    questions = []
    for ex in examples[: config.limit]:
        # an answer-only or human target is the gold answer; a teacher's answer is not
        gold = ex.gold if ex.gold is not None else ex.answer if ex.teacher in (None, "human") and ex.answer else None
        questions.append(Question(ex.id, ex.question, gold, ex.choices, {"source": ex.source}))
    return questions


def _task_records(config: DataConfig, task: Task) -> list[Question]:
    return [
        Question(ex.id, task.format_question(ex.question, ex.choices), ex.gold, ex.choices, {"source": ex.source})
        for ex in load_test_set(config.source, task)[: config.limit]
    ]


def _arithmetic(config: DataConfig, task: Task) -> list[Question]:
    problems = generate_problems(config.limit or 200, config.seed, config.split)
    return [
        Question(example_id(task.name, p.question), p.question, str(p.answer), None, {"problem": p.to_dict()})
        for p in problems
    ]
