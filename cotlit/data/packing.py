"""Sequence packing: several training examples per row, each attending only to itself.

Examples are packed best-fit-decreasing into rows of at most ``capacity`` tokens. A packed row carries
``position_ids`` that restart at 0 for every example (and for the trailing padding); with no 2-D attention mask,
transformers (>= 5) turns the restarts into a block-diagonal causal mask for every attention implementation
(eager, SDPA, flex; flash-attention uses them as varlen boundaries), so packed and unpacked losses are the same.
The first token of every example is never a label, so no example is predicted from its predecessor's last token.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

import torch

IGNORE_INDEX = -100


def pack_lengths(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Indices of ``lengths`` grouped into bins whose lengths sum to at most ``capacity`` (best-fit decreasing).

    Deterministic: ties are broken by index. Every index lands in exactly one bin.
    """
    too_long = [i for i, n in enumerate(lengths) if n > capacity]
    if too_long:
        raise ValueError(f"{len(too_long)} examples are longer than the packing capacity {capacity}")
    bins: list[list[int]] = []
    free: list[tuple[int, int]] = []  # (free tokens, bin number), sorted
    for i in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        n = lengths[i]
        slot = bisect.bisect_left(free, (n, -1))
        if slot == len(free):
            bins.append([i])
            room, number = capacity - n, len(bins) - 1
        else:
            room, number = free.pop(slot)
            bins[number].append(i)
            room -= n
        if room > 0:
            bisect.insort(free, (room, number))
    return bins


class PackedRows(Sequence):
    """A dataset whose items are bins: lists of tokenised rows that share one packed training row."""

    def __init__(self, rows: Sequence[dict[str, Any]], capacity: int) -> None:
        self.rows = rows
        self.bins = pack_lengths([len(r["input_ids"]) for r in rows], capacity)

    def lengths(self) -> list[int]:
        return [sum(len(self.rows[i]["input_ids"]) for i in b) for b in self.bins]

    def __getitem__(self, index: int) -> list[dict[str, Any]]:  # type: ignore[override]
        return [self.rows[i] for i in self.bins[index]]

    def __len__(self) -> int:
        return len(self.bins)


def packed_batch(bins: Sequence[Sequence[dict[str, Any]]], pad_id: int, width: int) -> dict[str, torch.Tensor]:
    """Right-padded packed rows: ``input_ids``, ``labels`` (-100 on prompts, example starts and padding),
    ``position_ids`` (restarting per example and for the padding) and ``attention_mask`` (1 on real tokens; it
    counts tokens and must not be passed to the model, which would then ignore the example boundaries)."""
    size = len(bins)
    input_ids = torch.full((size, width), pad_id, dtype=torch.long)
    labels = torch.full((size, width), IGNORE_INDEX, dtype=torch.long)
    position_ids = torch.zeros((size, width), dtype=torch.long)
    attention_mask = torch.zeros((size, width), dtype=torch.long)
    for r, rows in enumerate(bins):
        start = 0
        for row in rows:
            ids, prompt = row["input_ids"], max(row["prompt_len"], 1)
            end = start + len(ids)
            input_ids[r, start:end] = torch.tensor(ids, dtype=torch.long)
            labels[r, start + prompt : end] = input_ids[r, start + prompt : end]
            position_ids[r, start:end] = torch.arange(len(ids))
            attention_mask[r, start:end] = 1
            start = end
        position_ids[r, start:] = torch.arange(width - start)
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels, "position_ids": position_ids}
