"""The programmatic teacher of the arithmetic task: exact solutions at any level and format, offline and free."""

from __future__ import annotations

from collections.abc import Sequence

from cotlit.errors import CotlitError
from cotlit.synthetic.problem import ArithmeticProblem
from cotlit.synthetic.teacher import solve
from cotlit.teach.backends.base import Backend, Completion, Request


class ProgramBackend(Backend):
    """Writes each request's solution from the structured problem in ``meta["problem"]``; prompts are ignored."""

    name = "program"

    @property
    def model_id(self) -> str:
        return self.config.model or "arithmetic"

    def generate_batch(self, requests: Sequence[Request]) -> list[Completion]:
        completions = []
        for request in requests:
            if "problem" not in request.meta:
                raise CotlitError(
                    "the program teacher needs structured problems: use data.source: arithmetic",
                    field="data.source",
                )
            problem = ArithmeticProblem.from_dict(request.meta["problem"])
            completions.append(Completion(text=solve(problem, request.level, request.format)))
        return completions


BACKEND = ProgramBackend
