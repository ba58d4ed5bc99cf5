from __future__ import annotations

import numpy as np

from cotlit.sweep.recommend import recommend, render
from cotlit.sweep.results import collect, pool


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

    found = recommend(pool(collect(tmp_path).runs, n_boot=1000, seed=0), n_boot=1000, seed=0)
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
