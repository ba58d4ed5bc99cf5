"""The built-in synthetic arithmetic task: seeded word problems and a programmatic teacher.

>>> problems = generate_problems(100, seed=0, split="train")
>>> example = teacher_example(problems[0], level=3, format="bsm")
>>> example.target.endswith(f"The answer is {problems[0].answer}")
True
"""

from cotlit.core import FORMATS, LEVELS
from cotlit.synthetic.generate import SPLITS, generate_problems, split_of
from cotlit.synthetic.problem import ArithmeticProblem, Quantity, Step
from cotlit.synthetic.teacher import TASK, TEACHER, solve, teacher_example

__all__ = [
    "FORMATS", "LEVELS", "SPLITS", "TASK", "TEACHER", "ArithmeticProblem", "Quantity", "Step",
    "generate_problems", "solve", "split_of", "teacher_example",
]
