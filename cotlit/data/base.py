"""The base CoT DataModule: examples -> rendered, tokenised, length-grouped batches for train and eval.

Plugins (``PaperData``, ``JsonData``, ``HFData``, ``ArithmeticData``) only say where examples come from by
implementing :meth:`CoTDataModule.load_splits`; rendering, tokenisation, overflow policy and batching live here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from dataclasses import dataclass, field
from typing import Any, Literal

import lightning as L
import numpy as np
from torch.utils.data import DataLoader

from cotlit.core import FORMATS, LEVELS, TARGET_STYLES, CoTExample, TargetStyle, example_id
from cotlit.data.collate import Collator
from cotlit.data.loaders import count_no_trigger
from cotlit.data.packing import PackedRows
from cotlit.data.prompts import EvalPrompt, Renderer
from cotlit.data.sampling import EvalBatchSampler, LengthGroupedBatchSampler, padding_efficiency
from cotlit.errors import CotlitError
from cotlit.io import field as record_field
from cotlit.io import cache_dir, read_records
from cotlit.tasks.base import get_task

log = logging.getLogger(__name__)

Split = Literal["train", "val", "test"]
SPLITS: tuple[str, ...] = ("train", "val", "test")


@dataclass
class CoTDataModule(L.LightningDataModule):
    """Teacher CoT examples rendered through the student's prompt template and tokenised for SFT and scoring."""

    task: str = "svamp"
    """Task name from the task registry (answer extraction and test-set format)."""
    teacher: str | None = None
    """Teacher of the training CoT (gpt4o, gemini, llama, human, program...); None for answer-only targets."""
    granularity: int | None = None
    """CoT granularity level 1-6; None for answer-only or human rationales."""
    format: str = "plain"
    """CoT format: plain, bsm (sub-questions), rar (rephrase and respond) or sym (symbolic)."""
    template: str = "auto"
    """Prompt template: auto (the tokenizer's chat template if it has one, else alpaca), chat, llama3, gemma, alpaca."""
    batch_size: int = 8
    """Training batch size per device."""
    global_batch_size: int | None = None
    """Training examples per optimizer step over all devices (the paper: 64). Sets the trainer's
    ``accumulate_grad_batches`` to global_batch_size / (batch_size x devices) at setup, so one config gives the
    same optimisation at any device count; it must divide evenly. None = the trainer's own accumulation."""
    eval_batch_size: int = 32
    """Batch size for generation in validation, test and predict."""
    max_length: int = 1024
    """Longest tokenised training example (prompt + CoT + answer + end token)."""
    on_overflow: Literal["drop", "error"] = "drop"
    """What to do with an example longer than max_length: drop it (counted and logged) or fail. Never truncated."""
    train_size: int | None = None
    """Use at most this many training examples (a seeded sample); None = all."""
    val_size: int = 64
    """Validation examples held out from the training source when it has no validation split."""
    test_size: int | None = None
    """Score at most this many test examples (the first ones); None = the whole test set."""
    seed: int = 42
    """Seed for sampling, the validation hold-out and batch order."""
    length_grouped: bool = True
    """Group training batches by length (less padding); False gives plain random batches."""
    pack: bool = False
    """Pack several training examples into each row of up to max_length tokens (best-fit decreasing), each
    example attending only to itself; batch_size then counts packed rows. Off by default (the paper does not pack)."""
    num_workers: int = 0
    """DataLoader worker processes."""
    target_style: TargetStyle = "cotlit"
    """Training targets: ``cotlit`` (default) = the rationale then ``The answer is X``, one trigger, appended where
    the source had none; ``paper`` = the source's ``output`` verbatim, as the paper trained with LLaMA-Factory
    (answer-only = the bare answer, MATH human = the solution as written)."""
    eval_prompt: EvalPrompt = "train"
    """Test prompts: ``train`` (default) = exactly the training prompt; ``paper`` = the prompt of the paper's
    evaluation script for the task (``run_open.py`` for SVAMP/GSM8K/AQuA/MATH, ``run_reasoning.py`` otherwise: a
    system turn for llama3, other spacing for alpaca and gemma), which the student never saw in training."""
    on_bad_record: Literal["skip", "error"] = "skip"
    """A bad training record (missing, empty or mistyped field): skip it and count it (default, as LLaMA-Factory
    does), or fail on it."""
    tokenizer: Any = field(default=None, repr=False)
    """The student's tokenizer (linked from the model by the CLI)."""

    def __post_init__(self) -> None:
        super().__init__()
        if self.target_style not in TARGET_STYLES:
            raise CotlitError(f"unknown target_style {self.target_style!r}; valid: {', '.join(TARGET_STYLES)}")
        if self.granularity is not None and self.granularity not in LEVELS:
            raise CotlitError(f"unknown granularity {self.granularity!r}; valid levels: {list(LEVELS)} or null")
        if self.format not in FORMATS:
            raise CotlitError(f"unknown format {self.format!r}; valid formats: {', '.join(FORMATS)}")
        self.task_spec = get_task(self.task)
        self.examples: dict[str, list[CoTExample]] = {}
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.dropped: dict[str, int] = {}
        self.skipped: dict[str, int] = {}
        """Bad records skipped per split (``on_bad_record: skip``)."""
        self.test_overlap = 0
        """Test questions that also occur in the training data."""
        self.predict_questions: list[CoTExample] | None = None
        """Questions that ``predict`` answers instead of the test split (:meth:`predict_on`)."""
        self._renderer: Renderer | None = None

    # -- what plugins implement -------------------------------------------------------------------------------
    def load_splits(self) -> dict[str, list[CoTExample]]:
        """Examples per split: ``train`` and ``test`` (``val`` optional: otherwise held out from ``train``)."""
        raise NotImplementedError

    # -- rendering --------------------------------------------------------------------------------------------
    @property
    def renderer(self) -> Renderer:
        if self._renderer is None:
            if self.tokenizer is None:
                raise CotlitError("the data module has no tokenizer: link one from the model (the CLI does this)")
            self._renderer = Renderer(self.tokenizer, self.template, self.task, self.eval_prompt)
        return self._renderer

    def question_text(self, example: CoTExample) -> str:
        return self.task_spec.format_question(example.question, example.choices)

    def target_text(self, example: CoTExample) -> str:
        """The training target of an example in this module's ``target_style``."""
        if self.target_style == "paper" and example.output is None:
            raise CotlitError(f"target_style paper trains on the source's output verbatim, but {example.source} "
                              "was built from parts and has none; use target_style: cotlit")
        return example.target_for(self.target_style)

    def _tokenize(self, split: str, examples: list[CoTExample]) -> list[dict[str, Any]]:
        """Token ids per example; cached on disk by a fingerprint of examples, tokenizer and template."""
        import datasets

        renderer, with_target = self.renderer, split not in ("test", "predict")
        fingerprint = hashlib.sha1(
            json.dumps(
                [
                    renderer.to_dict(),
                    self.eval_prompt,
                    getattr(self.tokenizer, "name_or_path", ""),
                    len(self.tokenizer),
                    with_target,
                    [[ex.id, self.question_text(ex), self.target_text(ex) if with_target else ""]
                     for ex in examples],
                ]
            ).encode()
        ).hexdigest()[:20]

        def encode(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
            if not with_target:
                prompts = [renderer.eval_prompt_ids(q) for q in batch["question"]]
                return {"input_ids": prompts, "prompt_len": [len(p) for p in prompts]}
            prompts = [renderer.encode(renderer.prompt(q)) for q in batch["question"]]
            targets = [renderer.encode(t) + [renderer.end_id] for t in batch["target"]]
            return {"input_ids": [p + t for p, t in zip(prompts, targets)], "prompt_len": [len(p) for p in prompts]}

        table = datasets.Dataset.from_dict(
            {
                "index": list(range(len(examples))),
                "question": [self.question_text(ex) for ex in examples],
                "target": [self.target_text(ex) if with_target else "" for ex in examples],
            }
        )
        path = cache_dir() / "tokenized" / f"{self.task}-{split}-{fingerprint}.arrow"
        path.parent.mkdir(parents=True, exist_ok=True)
        tokenized = table.map(
            encode,
            batched=True,
            remove_columns=["question", "target"],
            cache_file_name=str(path),
            new_fingerprint=fingerprint,
            num_proc=2 if len(examples) > 20_000 else None,
            desc=f"tokenising {split}",
        )
        return tokenized.to_list()

    def _apply_overflow_policy(self, split: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        limit = self.max_length
        over = [r for r in rows if len(r["input_ids"]) > limit]
        if not over:
            return rows
        needed = max(len(r["input_ids"]) for r in over)
        if self.on_overflow == "error" or len(over) == len(rows):
            raise CotlitError(
                f"{len(over)} of {len(rows)} {split} examples are longer than max_length={limit} tokens "
                f"(the longest needs {needed}); raise max_length or use on_overflow: drop"
            )
        log.warning("%s: dropped %d of %d examples longer than max_length=%d (longest %d)", split, len(over),
                    len(rows), limit, needed)
        self.dropped[split] = len(over)
        return [r for r in rows if len(r["input_ids"]) <= limit]

    # -- Lightning hooks --------------------------------------------------------------------------------------
    def _split_examples(self) -> dict[str, list[CoTExample]]:
        splits = self.load_splits()
        self.skipped = {split: len(getattr(examples, "skipped", ())) for split, examples in splits.items()}
        self.test_overlap = self._warn_test_overlap(splits)
        train = list(splits.get("train", []))
        rng = random.Random(self.seed)
        if "val" not in splits:
            rng.shuffle(train)
            splits["val"], train = train[: self.val_size], train[self.val_size :]
        if self.train_size is not None and len(train) > self.train_size:
            train = rng.sample(train, self.train_size)
        splits["train"] = train
        if self.test_size is not None:
            splits["test"] = list(splits.get("test", []))[: self.test_size]
        return {s: list(splits.get(s, [])) for s in SPLITS}

    def _warn_test_overlap(self, splits: dict[str, list[CoTExample]]) -> int:
        """Count (and warn about) test questions that also occur in the training data, whitespace-normalised."""
        train = {" ".join(ex.question.split()) for ex in splits.get("train", [])}
        test = splits.get("test", [])
        overlap = sum(" ".join(ex.question.split()) in train for ex in test)
        if overlap and self._rank_world()[0] == 0:
            log.warning("%d of %d test questions also occur in the training data: their accuracy is not a measure "
                        "of generalisation", overlap, len(test))
        return overlap

    def target_counts(self) -> dict[str, int]:
        """Training targets whose cotlit form differs from the source's verbatim output, and CoT targets without an
        answer trigger (cotlit appends one; the paper's verbatim targets keep none)."""
        train = [ex for ex in self.examples.get("train") or [] if ex.output is not None]
        changed = sum(ex.target != ex.output for ex in train)
        return {"targets_changed_by_cotlit_style": changed, "targets_without_trigger": count_no_trigger(train)}

    def prepare_data(self) -> None:
        """Tokenise once per node (rank 0); the other ranks then read the cache in :meth:`setup`."""
        for split, examples in self._split_examples().items():
            if examples:
                self._tokenize(split, examples)

    def setup(self, stage: str | None = None) -> None:
        if self.global_batch_size is not None and getattr(self, "trainer", None) is not None:
            self._accumulate_to_global_batch(self.trainer)
        if self.rows:
            return
        for split, examples in self._split_examples().items():
            rows = self._tokenize(split, examples) if examples else []
            if split != "test":
                rows = self._apply_overflow_policy(split, rows)
            self.examples[split] = examples
            self.rows[split] = rows
        if self.predict_questions is not None:
            self.examples["predict"] = self.predict_questions
            self.rows["predict"] = self._tokenize("predict", self.predict_questions)
        if self.dropped and self._rank_world()[0] == 0:
            print(f"cotlit data: dropped over-long examples per split: {self.dropped}")
        if any(self.skipped.values()) and self._rank_world()[0] == 0:
            print(f"cotlit data: skipped bad records per split: {self.skipped}")
        trainer = getattr(self, "trainer", None)
        if trainer is not None and trainer.logger is not None:
            trainer.logger.log_hyperparams({"data_report": self.data_report()})

    def data_report(self) -> dict[str, Any]:
        """What was left out or changed on the way from the files to the student (the run's metadata)."""
        return {"target_style": self.target_style, "eval_prompt": self.eval_prompt, "skipped_bad_records": self.skipped,
                "dropped_over_length": self.dropped, "test_overlap_with_train": self.test_overlap,
                **self.target_counts()}

    def _accumulate_to_global_batch(self, trainer: Any) -> None:
        """Set the trainer's gradient accumulation so that each optimizer step sees ``global_batch_size`` examples."""
        per_step = self.batch_size * trainer.world_size
        steps, rest = divmod(self.global_batch_size, per_step)
        if self.pack or rest or steps < 1:
            why = "packed rows hold a varying number of examples" if self.pack else (
                f"it is not a multiple of batch_size {self.batch_size} x {trainer.world_size} devices")
            raise CotlitError(f"global_batch_size {self.global_batch_size} cannot be reached: {why}")
        if trainer.accumulate_grad_batches not in (1, steps):
            raise CotlitError(f"global_batch_size {self.global_batch_size} needs accumulate_grad_batches {steps}, but "
                              f"the trainer sets {trainer.accumulate_grad_batches}: drop one of the two")
        trainer.accumulate_grad_batches = steps

    def _rank_world(self) -> tuple[int, int]:
        trainer = getattr(self, "trainer", None)
        return (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)

    def lengths(self, split: str) -> list[int]:
        return [len(r["input_ids"]) for r in self.rows[split]]

    def _loader(
        self, split: str, batch_sampler: Any, *, labels: bool, prompts: bool, packed: bool = False
    ) -> DataLoader:
        """Batches with training inputs and ``labels`` (for a loss), and/or left-padded ``prompts`` to generate from."""
        collate = Collator(self.examples[split], self.tokenizer.pad_token_id, train=labels, generate=prompts,
                           packed=packed)
        items = PackedRows(self.rows[split], self.max_length) if packed else self.rows[split]
        return DataLoader(items, batch_sampler=batch_sampler, collate_fn=collate, num_workers=self.num_workers)

    def train_item_lengths(self) -> list[int]:
        """Token length of every training item: an example, or a packed row with ``pack``."""
        return PackedRows(self.rows["train"], self.max_length).lengths() if self.pack else self.lengths("train")

    def train_batch_sampler(self) -> LengthGroupedBatchSampler:
        rank, world = self._rank_world()
        return LengthGroupedBatchSampler(self.train_item_lengths(), self.batch_size, seed=self.seed,
                                         grouped=self.length_grouped, rank=rank, world_size=world)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", self.train_batch_sampler(), labels=True, prompts=False, packed=self.pack)

    def _eval_loader(self, split: str, *, labels: bool) -> DataLoader:
        """Prompt batches to generate from, sorted by length; ``labels``: also the targets (validation loss)."""
        rank, world = self._rank_world()
        prompt_lengths = [r["prompt_len"] for r in self.rows[split]]
        sampler = EvalBatchSampler(prompt_lengths, self.eval_batch_size, rank=rank, world_size=world)
        return self._loader(split, sampler, labels=labels, prompts=True)

    def val_dataloader(self) -> DataLoader:
        return self._eval_loader("val", labels=True)

    def test_dataloader(self) -> DataLoader:
        return self._eval_loader("test", labels=False)

    def predict_dataloader(self) -> DataLoader:
        """The questions given to :meth:`predict_on` (extracted, not scored), else the test split (generated and
        scored like ``test``)."""
        return self._eval_loader("predict" if self.predict_questions is not None else "test", labels=False)

    def predict_on(self, path: str, question_field: str = "question") -> None:
        """Make ``predict`` answer the questions of a JSON Lines or JSON-array file: ``question_field`` (text),
        optional ``id`` (default: the question's stable id) and ``choices`` (option texts); no gold answer needed."""
        questions = []
        for index, record in enumerate(read_records(path)):
            question = record_field(record, index, question_field, str, path=path)
            qid = record_field(record, index, "id", (str, int), path=path) if "id" in record else None
            choices = record_field(record, index, "choices", list, path=path) if record.get("choices") else None
            questions.append(CoTExample(
                id=str(qid) if qid is not None else example_id(self.task, question), task=self.task,
                question=question, rationale="", answer="", source=f"{path}#{index}",
                choices=tuple(map(str, choices)) if choices else None))
        self.predict_questions = questions
        self.rows.clear()  # the next setup renders them (and the splits again, if it already ran)

    # -- reporting --------------------------------------------------------------------------------------------
    def train_padding_efficiency(self, grouped: bool | None = None) -> float:
        """Real / padded tokens of one training epoch with this module's batching (or the other one)."""
        lengths = self.train_item_lengths()
        sampler = LengthGroupedBatchSampler(lengths, self.batch_size, seed=self.seed,
                                            grouped=self.length_grouped if grouped is None else grouped)
        return padding_efficiency(lengths, sampler.global_batches(0))

    def train_cot_words(self) -> float:
        """Mean length in words of the training rationales (the paper's measure of CoT length)."""
        train = self.examples.get("train") or []
        return sum(len(ex.rationale.split()) for ex in train) / len(train) if train else 0.0

    def describe(self) -> dict[str, Any]:
        """What this data module feeds the student: sizes, drops, lengths and padding efficiency."""
        info: dict[str, Any] = {"task": self.task, "teacher": self.teacher, "granularity": self.granularity,
                                "format": self.format, "renderer": self.renderer.to_dict(), **self.data_report(),
                                "splits": {}}
        for split in SPLITS:
            lengths = self.lengths(split)
            entry: dict[str, Any] = {"examples": len(lengths), "dropped": self.dropped.get(split, 0),
                                     "skipped": self.skipped.get(split, 0)}
            if lengths:
                p50, p90, p99 = np.percentile(lengths, [50, 90, 99])
                entry.update(tokens_p50=float(p50), tokens_p90=float(p90), tokens_p99=float(p99),
                             tokens_max=max(lengths))
            info["splits"][split] = entry
        if self.rows.get("train"):
            info["train_cot_words"] = round(self.train_cot_words(), 2)
            info["padding_efficiency"] = round(self.train_padding_efficiency(), 4)
            info["padding_efficiency_grouped"] = round(self.train_padding_efficiency(grouped=True), 4)
            info["padding_efficiency_random"] = round(self.train_padding_efficiency(grouped=False), 4)
        return info
