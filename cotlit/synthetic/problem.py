"""The structured arithmetic word problem: its givens, operation steps and distractor, and its dict form."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cotlit.errors import CotlitError

OPS: tuple[str, ...] = ("+", "-", "×", "÷")
"""The four operations, written as the teacher writes them."""


def apply_op(op: str, left: int, right: int) -> int | None:
    """``left op right``, or ``None`` when the result is not an exact integer (division with a remainder)."""
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "×":
        return left * right
    if op == "÷":
        return left // right if right and left % right == 0 else None
    raise ValueError(f"unknown operation {op!r}")


@dataclass(frozen=True)
class Quantity:
    """A number of the problem: a given, an intermediate result, the answer or the distractor."""

    symbol: str
    """Symbolic name: ``A``, ``B``... for givens, ``x1``... for results, ``x`` for the answer."""
    value: int
    name: str
    """Noun phrase that reads after "the": ``number of apples Mia picked at first``."""
    role: str
    """What the number does in the solution: ``starting amount``, ``amount added``, ``not needed``..."""
    ask: str
    """A question whose answer is this quantity (the sub-questions of the ``bsm`` format)."""


@dataclass(frozen=True)
class Step:
    """One operation: ``left op right = result``, where operands are symbols of givens or earlier results."""

    op: str
    left: str
    right: str
    result: Quantity
    reason: str
    """Why this operation, as a clause ending in the operation: ``... makes the amount smaller, so we subtract``."""


@dataclass(frozen=True)
class ArithmeticProblem:
    """A word problem with everything a programmatic teacher needs to explain it at any level and format."""

    question: str
    givens: tuple[Quantity, ...]
    """The numbers of the story that the solution uses, in story order."""
    steps: tuple[Step, ...]
    distractor: Quantity
    """A number in the story that the solution does not use."""
    conclusion: str
    """The answer as a sentence without final punctuation: ``each friend got 6 apples``."""
    theme: str

    @property
    def answer(self) -> int:
        return self.steps[-1].result.value

    def quantity(self, symbol: str) -> Quantity:
        """The given or result called ``symbol``."""
        for quantity in self.givens:
            if quantity.symbol == symbol:
                return quantity
        for step in self.steps:
            if step.result.symbol == symbol:
                return step.result
        raise KeyError(symbol)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` reads it back (the ``answer`` key is informative)."""
        return {
            "question": self.question,
            "givens": [asdict(quantity) for quantity in self.givens],
            "steps": [asdict(step) for step in self.steps],
            "distractor": asdict(self.distractor),
            "conclusion": self.conclusion,
            "theme": self.theme,
            "answer": self.answer,
        }

    @classmethod
    def from_dict(
        cls, record: Any, *, path: str | Path | None = None, index: int | None = None
    ) -> ArithmeticProblem:
        """Read a dict written by :meth:`to_dict`, re-checking every step's arithmetic."""

        def fail(message: str, field: str) -> CotlitError:
            return CotlitError(message, path=path, record=index, field=field)

        def get(mapping: Any, key: str, kind: type, where: str) -> Any:
            if not isinstance(mapping, dict):
                raise fail(f"expected an object, got {type(mapping).__name__}", where)
            value = mapping.get(key)
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise fail(f"expected {kind.__name__}, got {type(value).__name__}", f"{where}.{key}".lstrip("."))
            return value

        def quantity(mapping: Any, where: str) -> Quantity:
            return Quantity(
                symbol=get(mapping, "symbol", str, where),
                value=get(mapping, "value", int, where),
                name=get(mapping, "name", str, where),
                role=get(mapping, "role", str, where),
                ask=get(mapping, "ask", str, where),
            )

        givens = tuple(quantity(q, f"givens[{i}]") for i, q in enumerate(get(record, "givens", list, "")))
        values = {q.symbol: q.value for q in givens}
        steps = []
        for i, raw in enumerate(get(record, "steps", list, "")):
            where = f"steps[{i}]"
            op = get(raw, "op", str, where)
            if op not in OPS:
                raise fail(f"unknown operation {op!r}; valid: {' '.join(OPS)}", f"{where}.op")
            left, right = get(raw, "left", str, where), get(raw, "right", str, where)
            for side, symbol in (("left", left), ("right", right)):
                if symbol not in values:
                    raise fail(f"{symbol!r} is not a given or an earlier result", f"{where}.{side}")
            result = quantity(raw.get("result"), f"{where}.result")
            expected = apply_op(op, values[left], values[right])
            if result.value != expected:
                raise fail(f"{values[left]} {op} {values[right]} is not {result.value}", f"{where}.result.value")
            values[result.symbol] = result.value
            steps.append(Step(op, left, right, result, get(raw, "reason", str, where)))
        if not steps:
            raise fail("a problem needs at least one step", "steps")
        problem = cls(
            question=get(record, "question", str, ""),
            givens=givens,
            steps=tuple(steps),
            distractor=quantity(record.get("distractor"), "distractor"),
            conclusion=get(record, "conclusion", str, ""),
            theme=get(record, "theme", str, ""),
        )
        if "answer" in record and record["answer"] != problem.answer:
            raise fail(f"answer {record['answer']!r} disagrees with the steps ({problem.answer})", "answer")
        return problem
