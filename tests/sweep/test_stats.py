from __future__ import annotations

import numpy as np
import pytest

from cotlit.sweep.stats import Interval, bootstrap_ci, paired_bootstrap


def test_bootstrap_ci_is_seeded_and_sensible():
    values = np.array([1.0] * 50 + [0.0] * 50)
    first = bootstrap_ci(values, n_boot=2000, seed=0)
    assert first == bootstrap_ci(values, n_boot=2000, seed=0)
    odd = np.array([1.0] * 37 + [0.0] * 64)
    assert bootstrap_ci(odd, n_boot=300, seed=0) != bootstrap_ci(odd, n_boot=300, seed=1)
    assert first.mean == 0.5
    # normal approximation: 0.5 +- 1.96 * 0.05
    assert first.low == pytest.approx(0.402, abs=0.02) and first.high == pytest.approx(0.598, abs=0.02)
    assert bootstrap_ci(np.ones(30)) == Interval(1.0, 1.0, 1.0)


def test_bootstrap_chunks_do_not_change_the_result(monkeypatch):
    values = np.random.default_rng(3).integers(0, 2, 200).astype(float)
    whole = bootstrap_ci(values, n_boot=500, seed=4)
    monkeypatch.setattr("cotlit.sweep.stats._CHUNK_CELLS", 200 * 7)
    assert bootstrap_ci(values, n_boot=500, seed=4) == whole


def test_paired_bootstrap_clear_winner_and_tie():
    rng = np.random.default_rng(0)
    b = (rng.random(300) < 0.4).astype(float)
    a = np.maximum(b, (rng.random(300) < 0.3).astype(float))  # a is right wherever b is, and more
    win = paired_bootstrap(a, b, seed=0)
    assert win.significant and win.low > 0 and win.p_value < 0.01 and win.n == 300
    assert win.diff == pytest.approx(a.mean() - b.mean())

    same = paired_bootstrap(b, b, seed=0)
    assert not same.significant and same.p_value == 1.0 and same.diff == 0.0
    swapped = np.roll(b, 1)  # same accuracy, different examples
    tie = paired_bootstrap(swapped, b, seed=0)
    assert not tie.significant and tie.p_value > 0.5
    with pytest.raises(ValueError):
        paired_bootstrap(a, b[:-1])
