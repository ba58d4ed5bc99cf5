from __future__ import annotations

from fractions import Fraction
from math import comb

import numpy as np
import pytest

from cotlit.sweep.stats import (
    Interval,
    accuracy_interval,
    clopper_pearson,
    compare,
    mcnemar,
    mcnemar_p_value,
    paired_bootstrap,
    regularized_beta,
    wilson,
)


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        (0, 64, 0.0, 0.0560091),  # 1 - 0.025 ** (1 / 64)
        (5, 64, 0.0258538, 0.1729783),
        (64, 64, 0.9439909, 1.0),  # 0.025 ** (1 / 64)
        (30, 40, 0.5880380, 0.8730852),
        (150, 300, 0.4419977, 0.5580023),
    ],
)
def test_clopper_pearson_textbook_values(k, n, low, high):
    interval = clopper_pearson(k, n)
    assert interval.mean == k / n
    assert (interval.low, interval.high) == pytest.approx((low, high), abs=5e-7)


def test_clopper_pearson_solves_the_binomial_tails_exactly():
    interval = clopper_pearson(5, 64)
    low, high = Fraction(interval.low), Fraction(interval.high)
    at_least_5 = sum(comb(64, i) * low**i * (1 - low) ** (64 - i) for i in range(5, 65))
    at_most_5 = sum(comb(64, i) * high**i * (1 - high) ** (64 - i) for i in range(6))
    assert float(at_least_5) == pytest.approx(0.025, abs=1e-12)
    assert float(at_most_5) == pytest.approx(0.025, abs=1e-12)


def test_regularized_beta_is_the_binomial_tail():
    for n, k, p in ((10, 3, 0.2), (64, 5, 0.05), (300, 150, 0.55)):
        tail = sum(comb(n, i) * Fraction(p) ** i * (1 - Fraction(p)) ** (n - i) for i in range(k, n + 1))
        assert regularized_beta(p, k, n - k + 1) == pytest.approx(float(tail), rel=1e-12)


def test_wilson_textbook_values():
    assert wilson(0, 64).high == pytest.approx(1.959964**2 / (64 + 1.959964**2), abs=1e-6)
    interval = wilson(5, 64)
    assert (interval.low, interval.high) == pytest.approx((0.0338312, 0.1701954), abs=5e-7)


def test_accuracy_interval_from_scores():
    assert accuracy_interval([0.0] * 64) == clopper_pearson(0, 64)
    assert accuracy_interval([1.0] * 5 + [0.0] * 59, method="wilson") == wilson(5, 64)
    pooled = accuracy_interval([1.0, 0.5, 1.0, 0.0])  # seeds pooled: k = 2.5 of 4 problems
    assert pooled.mean == 0.625 and (pooled.low, pooled.high) == pytest.approx((0.1227539, 0.9715291), abs=5e-7)
    with pytest.raises(ValueError):
        accuracy_interval([2.0])
    with pytest.raises(ValueError):
        accuracy_interval([1.0], method="percentile")


def test_mcnemar_on_a_hand_made_table():
    # 2x2 table: both right 20, a only 9, b only 2, both wrong 9 -> discordant 9 vs 2
    a = [1] * 20 + [1] * 9 + [0] * 2 + [0] * 9
    b = [1] * 20 + [0] * 9 + [1] * 2 + [0] * 9
    result = mcnemar(a, b)
    assert (result.n, result.a_better, result.b_better) == (40, 9, 2)
    assert result.p_value == pytest.approx(2 * (1 + 11 + 55) / 2**11)  # 0.06543
    assert mcnemar(b, a).p_value == result.p_value
    assert mcnemar_p_value(0, 0) == 1.0 and mcnemar_p_value(3, 3) == 1.0
    assert mcnemar_p_value(10, 0) == pytest.approx(2 / 1024)
    with pytest.raises(ValueError):
        mcnemar(a, b[:-1])


def test_mcnemar_counts_seed_pooled_examples_by_sign():
    assert mcnemar([1.0, 0.5, 0.5, 0.0], [0.5, 0.5, 0.0, 1.0]) == pytest.approx(mcnemar([1, 0, 1, 0], [0, 0, 0, 1]))


def test_paired_comparison_clear_winner_and_tie():
    rng = np.random.default_rng(0)
    b = (rng.random(300) < 0.4).astype(float)
    a = np.maximum(b, (rng.random(300) < 0.3).astype(float))  # a is right wherever b is, and more
    win = compare(a, b, seed=0)
    assert win.significant and win.p_value < 1e-6 and win.diff.low > 0 and win.mcnemar.b_better == 0
    assert win.diff.mean == pytest.approx(a.mean() - b.mean())

    same = compare(b, b, seed=0)
    assert not same.significant and same.p_value == 1.0 and same.diff == Interval(0.0, 0.0, 0.0)
    tie = compare(np.roll(b, 1), b, seed=0)  # same accuracy, different examples
    assert not tie.significant and tie.p_value > 0.5 and tie.diff.low < 0 < tie.diff.high


def test_paired_bootstrap_is_seeded_and_chunked(monkeypatch):
    a = np.random.default_rng(3).integers(0, 2, 200).astype(float)
    b = np.random.default_rng(4).integers(0, 2, 200).astype(float)
    whole = paired_bootstrap(a, b, n_boot=500, seed=4)
    assert whole == paired_bootstrap(a, b, n_boot=500, seed=4) != paired_bootstrap(a, b, n_boot=500, seed=5)
    monkeypatch.setattr("cotlit.sweep.stats._CHUNK_CELLS", 200 * 7)
    assert paired_bootstrap(a, b, n_boot=500, seed=4) == whole
