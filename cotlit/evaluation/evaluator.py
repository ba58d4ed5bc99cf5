"""The evaluator: generates answers for a batch of prompts and scores them into :class:`PredictionRow`s.

It holds everything evaluation needs (the task's answer rules, the renderer's stop tokens, the resolved decoding
and a generation backend), so the student scores any dataloader whose batches carry the keys of
:class:`EvalBatch`, with or without a cotlit DataModule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, NotRequired, TypedDict

import torch

from cotlit.core import PredictionRow, Scoring
from cotlit.errors import CotlitError
from cotlit.evaluation.backends import GenerationBackend, make_backend
from cotlit.evaluation.decoding import Decoding, GenerationSettings, resolve
from cotlit.tasks.base import Task

Stage = Literal["validate", "test", "predict"]


class EvalBatch(TypedDict):
    """What an evaluation batch holds (a cotlit DataModule's eval loaders yield these, plus training keys)."""

    prompt_input_ids: torch.Tensor
    """Left-padded prompt token ids, ``[batch, width]``."""
    prompt_attention_mask: torch.Tensor
    index: torch.Tensor
    """Each example's position in its dataset (de-duplicates the rows that DDP padding repeats)."""
    ids: Sequence[str]
    golds: Sequence[Any]
    """Gold answers as they come from the data; the task normalises them. In ``predict``, None or empty for a question
    without one (``predict --input``): its answer is extracted, not scored."""
    questions: NotRequired[Sequence[str]]
    """Question texts for ``predictions.jsonl`` (empty when absent)."""
    choices: NotRequired[Sequence[tuple[str, ...] | None]]
    """Option texts of multiple-choice questions, when known separately."""


class Evaluator:
    """Generation and scoring of one task's answers with fixed decoding settings."""

    def __init__(self, task: Task, stop_ids: Sequence[int], decoding: Decoding = Decoding(),
                 scoring: Scoring = "cotlit") -> None:
        if task.paper_compat != (scoring == "paper"):
            raise CotlitError(f"scoring {scoring!r} needs the task built with paper_compat={scoring == 'paper'}")
        self.task, self.stop_ids, self.scoring = task, list(stop_ids), scoring
        self.settings: GenerationSettings = resolve(decoding, task, scoring)
        self.backend: GenerationBackend = make_backend(self.settings.backend)
        # vLLM is for test and predict: validation runs while the weights change every few steps
        self._validation_backend = make_backend("generate") if self.settings.backend == "vllm" else self.backend

    def __call__(self, model: Any, tokenizer: Any, batch: EvalBatch, stage: Stage = "test") -> list[PredictionRow]:
        """Generate for every prompt of ``batch`` and score each generation against its gold answer."""
        backend = self._validation_backend if stage == "validate" else self.backend
        generations = backend.generate(model, tokenizer, batch["prompt_input_ids"], batch["prompt_attention_mask"],
                                       self.settings, self.stop_ids)
        rows = []
        for i, generation in enumerate(generations):
            choices = batch["choices"][i] if "choices" in batch else None
            gold = batch["golds"][i]
            if stage == "predict" and gold in (None, ""):  # a question without a gold answer: extracted, not scored
                found = self.task.extract(generation.text, choices)
                gold, extracted, format_ok, correct = None, found.answer, found.format_ok, None
            else:
                score = self.task.score(generation.text, gold, choices)
                gold, extracted, format_ok, correct = (self.task.normalize_gold(gold), score.extracted,
                                                       score.format_ok, score.correct)
            rows.append(PredictionRow(
                id=str(batch["ids"][i]), question=batch["questions"][i] if "questions" in batch else "",
                gold=gold, generated=generation.text, extracted=extracted, format_ok=format_ok, correct=correct,
                gen_tokens=generation.tokens, truncated=generation.truncated, index=int(batch["index"][i]),
                choices=list(choices) if choices is not None else None,
            ))
        return rows

    def release(self) -> None:
        """Free what the backends built for the current weights (call when an evaluation run ends)."""
        self.backend.release()
        self._validation_backend.release()

    def describe(self) -> dict[str, Any]:
        """The scoring and resolved decoding, as written into ``metrics.json``."""
        return {"scoring": self.scoring, "decoding": self.settings.to_dict()}
