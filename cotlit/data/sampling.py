"""Batch samplers that waste little padding and split work across DDP ranks without losing examples."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence

from torch.utils.data import Sampler


def padded_length(length: int, multiple: int) -> int:
    return int(math.ceil(length / multiple) * multiple)


def padding_efficiency(lengths: Sequence[int], batches: Sequence[Sequence[int]], multiple: int = 8) -> float:
    """Real tokens / padded tokens over ``batches`` (lists of indices into ``lengths``)."""
    real = padded = 0
    for batch in batches:
        longest = padded_length(max(lengths[i] for i in batch), multiple)
        real += sum(lengths[i] for i in batch)
        padded += longest * len(batch)
    return real / padded if padded else 1.0


class LengthGroupedBatchSampler(Sampler[list[int]]):
    """Shuffled mega-batches, sorted by length inside, cut into batches whose order is shuffled again.

    Under DDP each rank takes every ``world_size``-th batch, so ranks get disjoint examples and the same number
    of batches; the at most ``world_size - 1`` batches of an epoch that cannot be shared evenly are left out of
    that epoch (a different set each epoch, see ``dropped_batches``). ``grouped=False`` gives plain random batches.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        *,
        seed: int = 0,
        grouped: bool = True,
        megabatch_factor: int = 64,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.lengths = list(lengths)
        self.batch_size, self.seed, self.grouped = batch_size, seed, grouped
        self.megabatch = batch_size * megabatch_factor
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def global_batches(self, epoch: int) -> list[list[int]]:
        """Every batch of ``epoch`` across all ranks, in order."""
        rng = random.Random(self.seed * 1_000_003 + epoch)
        order = list(range(len(self.lengths)))
        rng.shuffle(order)
        if self.grouped:
            order = [
                i
                for start in range(0, len(order), self.megabatch)
                for i in sorted(order[start : start + self.megabatch], key=self.lengths.__getitem__, reverse=True)
            ]
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        rng.shuffle(batches)
        return batches[: len(batches) - len(batches) % self.world_size]

    @property
    def dropped_batches(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size) % self.world_size

    def __iter__(self) -> Iterator[list[int]]:
        batches = self.global_batches(self.epoch)
        self.epoch += 1
        yield from batches[self.rank :: self.world_size]

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size) // self.world_size


class EvalBatchSampler(Sampler[list[int]]):
    """Evaluation batches of similar prompt length; every example is scored, on one rank when possible.

    Batches are cut from the examples sorted by length (longest first) *before* they are spread round-robin
    across ranks, so each example has the same batch-mates (and so the same outputs) at any world size. The
    batch list is padded with repeats so that every rank runs the same number of batches; scoring de-duplicates
    the repeats by example index.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, *, rank: int = 0, world_size: int = 1) -> None:
        order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        total = padded_length(len(batches), world_size) if batches else 0
        batches += [batches[i % len(batches)] for i in range(total - len(batches))]
        self.batches = batches[rank::world_size]

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.batches

    def __len__(self) -> int:
        return len(self.batches)
