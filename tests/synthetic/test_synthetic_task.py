"""The registered ``arithmetic`` task reads problem dicts as test records."""

from __future__ import annotations

import pytest

from cotlit.core import example_id
from cotlit.errors import CotlitError
from cotlit.synthetic import generate_problems
from cotlit.tasks.base import get_task, task_names


def test_arithmetic_is_a_registered_number_task():
    assert "arithmetic" in task_names()
    task = get_task("arithmetic")
    assert task.answer_kind == "number"
    assert task.extract("x₂ = 30 ∴ x = 6. The answer is 6").answer == "6"


def test_read_test_record_reads_a_problem_dict():
    problem = generate_problems(1, seed=0, split="test")[0]
    item = get_task("arithmetic").read_test_record(problem.to_dict(), 3)
    assert item.question == problem.question
    assert item.gold == str(problem.answer)
    assert item.id == example_id("arithmetic", problem.question)


def test_a_bad_test_record_names_record_and_field():
    record = generate_problems(1, seed=0, split="test")[0].to_dict()
    del record["steps"]
    with pytest.raises(CotlitError, match="record 4: field 'steps'"):
        get_task("arithmetic").read_test_record(record, 4)
