"""Honest statistics for test accuracies: exact intervals, exact paired tests, and the paired bootstrap.

- An accuracy of ``k`` correct out of ``n`` test problems gets the exact Clopper-Pearson interval (or Wilson's):
  0/64 gives [0, 5.6%], never the [0, 0] a percentile bootstrap prints.
- Two conditions scored on the same problems are compared by the exact McNemar test (a two-sided binomial test
  on the discordant problems) and a paired bootstrap interval of the accuracy difference.

Pure Python (``math``, ``fractions``) plus numpy for the bootstrap; no scipy. The beta quantiles come from
bisection on the regularized incomplete beta function (Lentz's continued fraction), which equals the binomial
CDF for whole counts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import numpy as np

N_BOOT = 2000
LEVEL = 0.95
IntervalMethod = Literal["clopper-pearson", "wilson"]
INTERVAL_METHODS: tuple[str, ...] = ("clopper-pearson", "wilson")
_CHUNK_CELLS = 4_000_000
"""At most this many resampled values are held at once."""
_BISECTIONS = 64
"""Halvings of [0, 1] for a quantile: the bracket ends up narrower than 1e-19."""


@dataclass(frozen=True)
class Interval:
    """An estimate with its interval."""

    mean: float
    low: float
    high: float


@dataclass(frozen=True)
class McNemar:
    """The exact McNemar test of ``a`` against ``b`` on the same examples."""

    n: int
    """Shared examples."""
    a_better: int
    """Examples ``a`` scored higher than ``b`` (right where ``b`` was wrong)."""
    b_better: int
    p_value: float
    """Two-sided: twice the smaller binomial tail of the discordant split under p = 1/2, at most 1."""


@dataclass(frozen=True)
class Comparison:
    """``a`` against ``b`` on the same examples: the exact McNemar test and the paired bootstrap difference."""

    mcnemar: McNemar
    diff: Interval
    """``mean(a) - mean(b)`` with its paired bootstrap interval."""
    level: float = LEVEL

    @property
    def p_value(self) -> float:
        return self.mcnemar.p_value

    @property
    def significant(self) -> bool:
        """Whether McNemar's p-value is below ``1 - level`` (0.05 at the default level)."""
        return self.mcnemar.p_value < 1 - self.level


# -- intervals of one accuracy ----------------------------------------------------------------------------------------
def accuracy_interval(scores: Sequence[float], *, level: float = LEVEL,
                      method: IntervalMethod = "clopper-pearson") -> Interval:
    """The interval of the mean of per-example scores in [0, 1] (0/1 correctness, or a mean over seeds).

    ``k = sum(scores)`` successes of ``n = len(scores)``; a seed-pooled ``k`` may be fractional, and the beta
    form of the interval takes it as it is (the interval of ``n`` problems at the pooled accuracy).
    """
    values = _vector(np.asarray(scores, dtype=float))
    if values.min() < 0 or values.max() > 1:
        raise ValueError("scores must lie in [0, 1]")
    k, n = float(values.sum()), len(values)
    if method == "clopper-pearson":
        return clopper_pearson(k, n, level)
    if method == "wilson":
        return wilson(k, n, level)
    raise ValueError(f"unknown interval method {method!r}; valid: {', '.join(INTERVAL_METHODS)}")


def clopper_pearson(k: float, n: int, level: float = LEVEL) -> Interval:
    """The exact (Clopper-Pearson) interval of ``k`` successes in ``n`` trials.

    Low: the ``(1 - level) / 2`` quantile of Beta(k, n - k + 1) (0 when k = 0); high: the ``(1 + level) / 2``
    quantile of Beta(k + 1, n - k) (1 when k = n). For whole ``k`` these solve P(X >= k) = alpha / 2 and
    P(X <= k) = alpha / 2 for X ~ Binomial(n, p).
    """
    _check_counts(k, n, level)
    alpha = 1 - level
    low = 0.0 if k == 0 else beta_quantile(alpha / 2, k, n - k + 1)
    high = 1.0 if k == n else beta_quantile(1 - alpha / 2, k + 1, n - k)
    return Interval(k / n, low, high)


def wilson(k: float, n: int, level: float = LEVEL) -> Interval:
    """The Wilson score interval of ``k`` successes in ``n`` trials."""
    _check_counts(k, n, level)
    z = normal_quantile((1 + level) / 2)
    p = k / n
    center = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return Interval(p, max(0.0, center - half), min(1.0, center + half))


def beta_quantile(q: float, a: float, b: float) -> float:
    """The ``x`` with ``I_x(a, b) = q`` (the Beta(a, b) quantile), by bisection."""
    return _bisect(lambda x: regularized_beta(x, a, b), q, 0.0, 1.0, _BISECTIONS)


def regularized_beta(x: float, a: float, b: float) -> float:
    """The regularized incomplete beta function ``I_x(a, b)`` (a, b > 0), by Lentz's continued fraction.

    For whole ``k`` it is a binomial tail: ``I_p(k, n - k + 1) = P(X >= k)`` for X ~ Binomial(n, p).
    """
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_fraction(x, a, b) / a
    return 1 - math.exp(log_front) * _beta_fraction(1 - x, b, a) / b


def _beta_fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz, Numerical Recipes 6.4)."""
    tiny, eps = 1e-300, 1e-16
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 10_000):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1) < eps:
            return result
    raise ArithmeticError(f"incomplete beta did not converge (x={x}, a={a}, b={b})")


def normal_quantile(q: float) -> float:
    """The standard normal quantile, by bisection on ``erf``."""
    return _bisect(lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2))), q, -40.0, 40.0, _BISECTIONS + 10)


def _bisect(cdf: Callable[[float], float], q: float, low: float, high: float, halvings: int) -> float:
    """The ``x`` in ``[low, high]`` where the increasing ``cdf`` reaches ``q``, after ``halvings`` halvings."""
    for _ in range(halvings):
        middle = (low + high) / 2
        if cdf(middle) < q:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _check_counts(k: float, n: int, level: float) -> None:
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n > 0, got k={k}, n={n}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")


# -- paired comparisons -------------------------------------------------------------------------------------------
def mcnemar(a: Sequence[float], b: Sequence[float]) -> McNemar:
    """The exact McNemar test on paired per-example scores (same examples, same order).

    With 0/1 scores the discordant examples are those one condition got right and the other wrong; with
    seed-pooled scores an example counts for the condition with the higher mean (the exact sign test, which is
    McNemar's test for 0/1 scores). Under the null both directions are equally likely, so the split of the
    discordant examples is Binomial(d, 1/2); the p-value is exact (integer arithmetic).
    """
    a_vec, b_vec = _vector(np.asarray(a, dtype=float)), _vector(np.asarray(b, dtype=float))
    if a_vec.shape != b_vec.shape:
        raise ValueError(f"paired vectors differ in length: {len(a_vec)} vs {len(b_vec)}")
    a_better, b_better = int(np.sum(a_vec > b_vec)), int(np.sum(a_vec < b_vec))
    return McNemar(len(a_vec), a_better, b_better, mcnemar_p_value(a_better, b_better))


def mcnemar_p_value(a_better: int, b_better: int) -> float:
    """Two-sided exact p-value of a discordant split: ``min(1, 2 P(X <= min))`` for X ~ Binomial(d, 1/2)."""
    d = a_better + b_better
    if d == 0:
        return 1.0
    tail = sum(math.comb(d, i) for i in range(min(a_better, b_better) + 1))
    return float(min(Fraction(1), Fraction(2 * tail, 2**d)))


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, n_boot: int = N_BOOT, level: float = LEVEL,
                     seed: int = 0) -> Interval:
    """``mean(a) - mean(b)`` with its percentile interval over resamples of the shared examples (both vectors
    resampled with the same indices)."""
    a_vec, b_vec = _vector(np.asarray(a, dtype=float)), _vector(np.asarray(b, dtype=float))
    if a_vec.shape != b_vec.shape:
        raise ValueError(f"paired vectors differ in length: {len(a_vec)} vs {len(b_vec)}")
    delta = a_vec - b_vec
    diffs = np.concatenate([delta[idx].mean(axis=1) for idx in _resamples(len(delta), n_boot, seed)])
    low, high = np.quantile(diffs, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(delta.mean()), float(low), float(high))


def compare(a: Sequence[float], b: Sequence[float], *, n_boot: int = N_BOOT, level: float = LEVEL,
            seed: int = 0) -> Comparison:
    """``a`` against ``b`` on the same examples: exact McNemar test and paired bootstrap difference."""
    return Comparison(mcnemar(a, b), paired_bootstrap(a, b, n_boot=n_boot, level=level, seed=seed), level)


def paired_scores(a: Mapping[Any, Mapping[str, float]], b: Mapping[Any, Mapping[str, float]]
                  ) -> tuple[np.ndarray, np.ndarray, list[Any]] | None:
    """Two conditions' per-example scores, ready for :func:`compare`: ``(a, b, seeds)``.

    ``a`` and ``b`` map seed -> example id -> score. Only the seeds both ran count; each side's runs of those
    seeds are pooled per example (mean), on the examples every one of those runs scored. None when no seed or
    no example is shared.
    """
    seeds = sorted(set(a) & set(b), key=str)
    if not seeds:
        return None
    runs = [a[seed] for seed in seeds] + [b[seed] for seed in seeds]
    shared = sorted(set.intersection(*(set(run) for run in runs)))
    if not shared:
        return None
    a_vec = np.array([np.mean([a[seed][i] for seed in seeds]) for i in shared])
    b_vec = np.array([np.mean([b[seed][i] for seed in seeds]) for i in shared])
    return a_vec, b_vec, seeds


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

