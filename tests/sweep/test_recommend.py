from __future__ import annotations

import numpy as np

from cotlit.sweep.recommend import recommend, render
from cotlit.sweep.results import collect, pool
from cotlit.sweep.stats import clopper_pearson


def test_clear_winner_vs_tie(tmp_path, make_run):
    rng = np.random.default_rng(1)
    base = [bool(x) for x in rng.random(200) < 0.3]
    better = [b or bool(r) for b, r in zip(base, rng.random(200) < 0.5)]
    # "strong": L4 wins clearly over L2 (right wherever L2 is, and more)
    make_run(tmp_path, "strong-L2", student="strong", granularity=2, correct=base)
    make_run(tmp_path, "strong-L4", student="strong", granularity=4, correct=better)
    # "weak": L1 and L5 have the same accuracy on different examples
    make_run(tmp_path, "weak-L1", student="weak", granularity=1, correct=base)
    make_run(tmp_path, "weak-L5", student="weak", granularity=5, correct=base[1:] + base[:1])
    make_run(tmp_path, "weak-L6", student="weak", granularity=6, correct=[False] * 200)
    make_run(tmp_path, "solo", student="solo", granularity=3, correct=base)

    found = recommend(pool(collect(tmp_path).runs), n_boot=1000, seed=0)
    by_student = {r.student: r for r in found}
    strong, weak, solo = by_student["strong"], by_student["weak"], by_student["solo"]
    assert strong.best.condition.granularity == 4 and strong.runner_up.condition.granularity == 2
    assert strong.test.significant and strong.verdict == "significantly better"
    assert {weak.best.condition.granularity, weak.runner_up.condition.granularity} == {1, 5}
    assert not weak.test.significant and weak.verdict == "not significantly better (tie)"
    assert solo.runner_up is None and solo.verdict == "only condition"

    table = render(found)
    assert "| arithmetic (test) | strong | gpt4o L4 |" in table
    assert table.count("\n") == 4  # header, rule, three students


def test_pairs_over_shared_seeds_with_exact_tests(tmp_path, make_run):
    # L2 ran seeds 0 and 1, L4 only seed 0: the comparison uses seed 0 alone
    make_run(tmp_path, "L2-s0", granularity=2, seed=0, correct=[True] * 20 + [False] * 20)
    make_run(tmp_path, "L2-s1", granularity=2, seed=1, correct=[False] * 40)
    make_run(tmp_path, "L4-s0", granularity=4, seed=0, correct=[True] * 20 + [True] * 9 + [False] * 11)
    make_run(tmp_path, "L6-s7", granularity=6, seed=7, correct=[False] * 40)
    (best,) = recommend(pool(collect(tmp_path).runs), n_boot=200, seed=0)
    assert best.best.condition.granularity == 4 and best.runner_up.condition.granularity == 2
    m = best.test.mcnemar
    assert (m.n, m.a_better, m.b_better) == (40, 9, 0) and m.p_value == 2 / 2**9
    data = best.to_dict()
    exact = clopper_pearson(29, 40)
    assert data["best"]["ci"] == [exact.low, exact.high] and data["best"]["ci_method"] == "clopper-pearson"
    assert data["paired_test"]["test"] == "exact McNemar" and data["paired_test"]["significant"] is True
    assert "| 0.004 |" in render([best])


def test_no_shared_seed_means_no_test(tmp_path, make_run):
    make_run(tmp_path, "a", granularity=2, seed=0, correct=[True, False])
    make_run(tmp_path, "b", granularity=4, seed=1, correct=[False, False])
    (only,) = recommend(pool(collect(tmp_path).runs), n_boot=50, seed=0)
    assert only.test is None and only.verdict.startswith("not tested")
