"""The ``arithmetic`` task (cotlit's synthetic word problems): numeric answers as SVAMP/GSM8K, test records in
the dict form of a :class:`~cotlit.synthetic.problem.ArithmeticProblem`.

``max_new_tokens=768``: the longest teacher targets (L6 ``bsm``, 4 operations) are about 430 words.
"""

from __future__ import annotations

from typing import Any

from cotlit.core import example_id
from cotlit.synthetic.problem import ArithmeticProblem
from cotlit.tasks.base import TestItem, register_task
from cotlit.tasks.numbers import NumberTask


@register_task
class Arithmetic(NumberTask):
    name = "arithmetic"
    max_new_tokens = 768

    def read_test_record(self, record: dict[str, Any], index: int) -> TestItem:
        problem = ArithmeticProblem.from_dict(record, index=index)
        return TestItem(example_id(self.name, problem.question), problem.question, str(problem.answer))
