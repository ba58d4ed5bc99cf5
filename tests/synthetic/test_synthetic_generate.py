"""Synthetic arithmetic problems: determinism, disjoint splits, structure, distractor, dict round trip."""

from __future__ import annotations

import json
import re
import time
from collections import Counter

import pytest

from cotlit.errors import CotlitError
from cotlit.synthetic import ArithmeticProblem, generate_problems, solve, split_of
from cotlit.synthetic.problem import apply_op


@pytest.fixture(scope="module")
def problems() -> list[ArithmeticProblem]:
    return generate_problems(300, seed=0, split="train")


def test_same_seed_same_problems_other_seed_other_problems():
    first = generate_problems(50, seed=3, split="val")
    assert first == generate_problems(50, seed=3, split="val")
    assert [p.to_dict() for p in first] == [p.to_dict() for p in generate_problems(50, seed=3, split="val")]
    other = generate_problems(50, seed=4, split="val")
    assert {p.question for p in first}.isdisjoint(p.question for p in other)


def test_splits_are_disjoint_and_hash_partitioned():
    sizes = {"train": 2000, "val": 200, "test": 300}
    questions = {}
    for split, n in sizes.items():
        drawn = [p.question for p in generate_problems(n, seed=0, split=split)]
        assert len(drawn) == n and len(set(drawn)) == n
        assert {split_of(q) for q in drawn} == {split}
        questions[split] = set(drawn)
    assert questions["train"].isdisjoint(questions["val"])
    assert questions["train"].isdisjoint(questions["test"])
    assert questions["val"].isdisjoint(questions["test"])
    # the partition holds across seeds too: another seed's test set never meets seed 0's train set
    assert questions["train"].isdisjoint(p.question for p in generate_problems(300, seed=1, split="test"))


def test_unknown_split_is_an_error():
    with pytest.raises(CotlitError, match="unknown split 'dev'"):
        generate_problems(1, seed=0, split="dev")


def test_two_to_four_exact_operations_with_positive_integer_results(problems):
    assert set(Counter(len(p.steps) for p in problems)) == {2, 3, 4}
    assert {step.op for p in problems for step in p.steps} == {"+", "-", "×", "÷"}
    for problem in problems:
        values = {q.symbol: q.value for q in problem.givens}
        for step in problem.steps:
            result = apply_op(step.op, values[step.left], values[step.right])
            assert result == step.result.value and result > 0
            values[step.result.symbol] = result
        assert problem.answer == values["x"] and isinstance(problem.answer, int)


def test_the_story_holds_exactly_the_givens_and_one_unused_distractor(problems):
    for problem in problems:
        used = {s.left for s in problem.steps} | {s.right for s in problem.steps}
        assert {q.symbol for q in problem.givens} <= used
        assert problem.distractor.symbol not in used
        numbers = Counter(int(n) for n in re.findall(r"\d+", problem.question))
        assert numbers == Counter([q.value for q in problem.givens] + [problem.distractor.value])
        assert problem.distractor.value not in {s.result.value for s in problem.steps}


def test_stories_vary(problems):
    assert len({p.theme for p in problems}) >= 6
    openings = Counter(re.sub(r"\d+", "N", p.question.split(".")[0]) for p in problems)
    assert openings.most_common(1)[0][1] < len(problems) / 10


def test_dict_round_trip_through_json(problems):
    for problem in problems[:50]:
        record = json.loads(json.dumps(problem.to_dict()))
        assert record["answer"] == problem.answer
        assert ArithmeticProblem.from_dict(record) == problem


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r["steps"][0]["result"].update(value=-1), "steps[0].result.value"),
        (lambda r: r["steps"][0].update(op="^"), "unknown operation"),
        (lambda r: r["steps"][0].update(right="Z"), "'Z' is not a given or an earlier result"),
        (lambda r: r.update(answer=r["answer"] + 1), "field 'answer'"),
        (lambda r: r["givens"][0].update(value="12"), "field 'givens[0].value': expected int, got str"),
        (lambda r: r.pop("question"), "field 'question'"),
    ],
)
def test_bad_problem_dicts_are_errors_naming_the_field(problems, edit, message):
    record = problems[0].to_dict()
    edit(record)
    with pytest.raises(CotlitError, match=re.escape(message)) as error:
        ArithmeticProblem.from_dict(record, path="problems.json", index=7)
    assert str(error.value).startswith("problems.json: record 7: ")


def test_generation_and_rendering_are_fast():
    start = time.perf_counter()
    problems = generate_problems(5000, seed=0, split="train")
    texts = [solve(p, 1 + i % 6, ("plain", "bsm", "rar", "sym")[i % 4]) for i, p in enumerate(problems)]
    assert len(texts) == 5000
    assert time.perf_counter() - start < 3.0
