"""Bootstrap confidence intervals and the paired bootstrap test, seeded and chunked to bound memory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

N_BOOT = 2000
LEVEL = 0.95
_CHUNK_CELLS = 4_000_000
"""At most this many resampled values are held at once."""


@dataclass(frozen=True)
class Interval:
    """A mean with its percentile bootstrap interval."""

    mean: float
    low: float
    high: float


@dataclass(frozen=True)
class PairedTest:
    """``mean(a) - mean(b)`` on the same examples, its bootstrap interval and two-sided p-value."""

    diff: float
    low: float
    high: float
    p_value: float
    n: int

    @property
    def significant(self) -> bool:
        """Whether the interval excludes zero."""
        return self.low > 0 or self.high < 0


def bootstrap_ci(values: np.ndarray, *, n_boot: int = N_BOOT, level: float = LEVEL, seed: int = 0) -> Interval:
    """Percentile bootstrap interval of the mean of ``values`` (per-example scores, e.g. 0/1 correctness)."""
    values = _vector(values)
    means = np.concatenate([values[idx].mean(axis=1) for idx in _resamples(len(values), n_boot, seed)])
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(values.mean()), float(low), float(high))


def paired_bootstrap(a: np.ndarray, b: np.ndarray, *, n_boot: int = N_BOOT, level: float = LEVEL,
                     seed: int = 0) -> PairedTest:
    """Paired bootstrap of ``mean(a) - mean(b)``: the same resampled examples for both.

    The p-value is two-sided: twice the smaller share of resampled differences on either side of zero
    (at most 1); identical vectors give p = 1.
    """
    a, b = _vector(a), _vector(b)
    if a.shape != b.shape:
        raise ValueError(f"paired vectors differ in length: {len(a)} vs {len(b)}")
    delta = a - b
    diffs = np.concatenate([delta[idx].mean(axis=1) for idx in _resamples(len(delta), n_boot, seed)])
    low, high = np.quantile(diffs, [(1 - level) / 2, (1 + level) / 2])
    p = min(1.0, 2 * min(float(np.mean(diffs <= 0)), float(np.mean(diffs >= 0))))
    return PairedTest(float(delta.mean()), float(low), float(high), p, len(delta))


def _vector(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("need a non-empty 1-d vector")
    return values


def _resamples(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Index matrices (rows = resamples) from one seeded generator, in chunks."""
    rng = np.random.default_rng(seed)
    rows = max(1, _CHUNK_CELLS // n)
    for start in range(0, n_boot, rows):
        yield rng.integers(0, n, size=(min(rows, n_boot - start), n))
