"""The programmatic teacher: every level and format ends in the right answer, levels are ordered by detail."""

from __future__ import annotations

import re
import statistics

import pytest

from cotlit.core import FORMATS, LEVELS, example_id
from cotlit.errors import CotlitError
from cotlit.synthetic import ArithmeticProblem, generate_problems, solve, teacher_example
from cotlit.tasks.base import get_task


@pytest.fixture(scope="module")
def problems() -> list[ArithmeticProblem]:
    return generate_problems(200, seed=0, split="train")


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("level", LEVELS)
def test_every_target_ends_with_the_answer_the_task_extracts(problems, level, format):
    task = get_task("arithmetic")
    for problem in problems[:60]:
        text = solve(problem, level, format)
        assert text.endswith(f". The answer is {problem.answer}") and text.count("The answer is") == 1
        score = task.score(text, problem.answer)
        assert score.extracted == str(problem.answer) and score.format_ok and score.correct


@pytest.mark.parametrize("format", FORMATS)
def test_median_length_strictly_increases_with_level(problems, format):
    medians = [statistics.median(len(solve(p, level, format).split()) for p in problems) for level in LEVELS]
    assert all(a < b for a, b in zip(medians, medians[1:])), medians


def test_every_level_solves_the_same_problem(problems):
    for problem in problems[:40]:
        examples = [teacher_example(problem, level, format) for level in LEVELS for format in FORMATS]
        assert len({e.id for e in examples}) == 1 and len({e.question for e in examples}) == 1
        assert all(e.meta["problem"] == problem.to_dict() for e in examples)
        for example in examples:  # every given and every intermediate result is in the text
            numbers = set(re.findall(r"\d+", example.target))
            assert {str(q.value) for q in problem.givens} <= numbers
            if example.granularity > 1:
                assert {str(s.result.value) for s in problem.steps} <= numbers


def test_short_levels_leave_the_distractor_out_and_long_ones_say_it_is_not_needed(problems):
    for problem in problems[:40]:
        spare = str(problem.distractor.value)
        for level in (1, 2, 3):
            assert spare not in re.findall(r"\d+", solve(problem, level, "plain"))
        for level in (4, 5, 6):
            text = solve(problem, level, "plain")
            assert spare in re.findall(r"\d+", text) and "not" in text


def test_levels_and_formats_have_their_shape(problems):
    problem = problems[0]
    first = problem.givens[0]
    assert solve(problem, 1, "plain").count(".") == 1  # one terse sentence
    assert "=" not in solve(problem, 1, "plain")
    assert "1. " in solve(problem, 5, "plain") and "1. " not in solve(problem, 4, "plain")
    assert "To check, reverse the operations" in solve(problem, 6, "plain")
    assert f"which gives back the {first.name}, {first.value}" in solve(problem, 6, "plain")
    for level in LEVELS:
        plain, bsm = solve(problem, level, "plain"), solve(problem, level, "bsm")
        assert bsm.count("?") >= len(problem.steps)
        assert problem.steps[-1].result.ask in bsm
        assert solve(problem, level, "rar").startswith("In other words, ")
        assert solve(problem, level, "rar").endswith(plain)
        sym = solve(problem, level, "sym")
        assert f"∴ x = {problem.answer}" in sym and f"{first.symbol} = {first.value}" in sym


def test_example_fields_and_target(problems):
    problem = problems[5]
    example = teacher_example(problem, 4, "bsm", source="arithmetic:seed=0")
    assert (example.task, example.teacher, example.granularity, example.format) == ("arithmetic", "program", 4, "bsm")
    assert example.id == example_id("arithmetic", problem.question)
    assert example.target == solve(problem, 4, "bsm")
    assert example.answer == example.gold == str(problem.answer)
    assert example.source == "arithmetic:seed=0"
    assert not example.rationale.endswith("The answer is")


def test_answer_only_example(problems):
    problem = problems[0]
    example = teacher_example(problem, None)
    assert (example.rationale, example.teacher, example.granularity) == ("", None, None)
    assert example.target == f"The answer is {problem.answer}"
    with pytest.raises(CotlitError, match="answer-only"):
        teacher_example(problem, None, "bsm")


def test_unknown_level_or_format_is_an_error(problems):
    with pytest.raises(CotlitError, match="unknown level 7"):
        solve(problems[0], 7, "plain")
    with pytest.raises(CotlitError, match="unknown format 'cot'"):
        teacher_example(problems[0], 3, "cot")
