"""Collate tokenised examples into padded batches (right padding to train, left padding to generate)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from cotlit.core import CoTExample
from cotlit.data.packing import IGNORE_INDEX, packed_batch
from cotlit.data.sampling import padded_length

__all__ = ["IGNORE_INDEX", "Collator"]


def _pad(rows: Sequence[Sequence[int]], value: int, width: int, left: bool) -> torch.Tensor:
    out = torch.full((len(rows), width), value, dtype=torch.long)
    for i, row in enumerate(rows):
        if left:
            out[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
        else:
            out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return out


class Collator:
    """Builds a batch from tokenised rows ``{"index", "input_ids", "prompt_len"}`` of one split.

    ``train`` batches hold right-padded ``input_ids`` / ``attention_mask`` / ``labels`` (-100 on prompt and
    padding). ``generate`` batches hold left-padded ``prompt_input_ids`` / ``prompt_attention_mask``. Every batch
    carries the examples' dataset ``index`` (a tensor, for de-duplication across ranks) and their ``ids``,
    ``questions``, ``golds`` and ``choices`` (for scoring and predictions files).

    ``packed`` train batches are built from bins of rows (see :mod:`cotlit.data.packing`) and add ``position_ids``.
    Train batches also carry ``real_tokens``, their number of non-padding tokens, and ``label_tokens``, the number of
    positions that have a label after the causal shift (``(labels[:, 1:] != -100).sum()``), both as host-side ints:
    counting them from the device tensors would make every step wait for the accelerator.
    """

    def __init__(
        self,
        examples: Sequence[CoTExample],
        pad_id: int,
        *,
        train: bool,
        generate: bool,
        pad_multiple: int = 8,
        packed: bool = False,
    ) -> None:
        self.examples, self.pad_id = examples, pad_id
        self.train, self.generate, self.pad_multiple, self.packed = train, generate, pad_multiple, packed

    def __call__(self, items: list[Any]) -> dict[str, Any]:
        rows: list[dict[str, Any]] = [row for item in items for row in item] if self.packed else items
        index = [row["index"] for row in rows]
        examples = [self.examples[i] for i in index]
        batch: dict[str, Any] = {
            "index": torch.tensor(index, dtype=torch.long),
            "ids": [ex.id for ex in examples],
            "questions": [ex.question for ex in examples],
            "golds": [ex.gold if ex.gold is not None else ex.answer for ex in examples],
            "choices": [ex.choices for ex in examples],
        }
        if self.train and self.packed:
            width = padded_length(max(sum(len(row["input_ids"]) for row in item) for item in items), self.pad_multiple)
            batch.update(packed_batch(items, self.pad_id, width))
        elif self.train:
            seqs = [row["input_ids"] for row in rows]
            width = padded_length(max(map(len, seqs)), self.pad_multiple)
            labels = [[IGNORE_INDEX] * row["prompt_len"] + row["input_ids"][row["prompt_len"] :] for row in rows]
            batch["input_ids"] = _pad(seqs, self.pad_id, width, left=False)
            batch["attention_mask"] = _pad([[1] * len(s) for s in seqs], 0, width, left=False)
            batch["labels"] = _pad(labels, IGNORE_INDEX, width, left=False)
        if self.train:
            batch["real_tokens"] = sum(len(row["input_ids"]) for row in rows)
            # a row's first token has no prediction, so a prompt-less row loses its first label to the shift
            batch["label_tokens"] = sum(len(row["input_ids"]) - max(row["prompt_len"], 1) for row in rows)
        if self.generate:
            prompts = [row["input_ids"][: row["prompt_len"]] for row in rows]
            width = padded_length(max(map(len, prompts)), self.pad_multiple)
            batch["prompt_input_ids"] = _pad(prompts, self.pad_id, width, left=True)
            batch["prompt_attention_mask"] = _pad([[1] * len(p) for p in prompts], 0, width, left=True)
        return batch
