"""The programmatic teacher: the same solution of a problem written at six levels of detail and four formats.

Every level is a list of parts, each a sub-question and the text that answers it. ``plain`` joins the answers,
``bsm`` alternates sub-questions and answers, ``rar`` restates the problem first, and ``sym`` writes the
solution with variables (``Let A = 12, B = 3; x = A × B ∴ x = 36``).
"""

from __future__ import annotations

from typing import NamedTuple

from cotlit.core import FORMATS, LEVELS, CoTExample, compose_target, example_id
from cotlit.errors import CotlitError
from cotlit.synthetic.problem import ArithmeticProblem, Quantity, Step

TASK = "arithmetic"
TEACHER = "program"

_INVERSE = {"+": "-", "-": "+", "×": "÷", "÷": "×"}
_PRECEDENCE = {"+": 1, "-": 1, "×": 2, "÷": 2}
_FIRST = {
    "+": "add {l} and {r}",
    "-": "subtract {r} from {l}",
    "×": "multiply {l} by {r}",
    "÷": "divide {l} by {r}",
}
_CHAINED = {"+": "add {r}", "-": "subtract {r}", "×": "multiply by {r}", "÷": "divide by {r}"}
_VERB = {"+": "Add", "-": "Subtract", "×": "Multiply", "÷": "Divide"}
_CONCEPT = {
    "+": ("addition", "addition puts amounts together into a larger total"),
    "-": ("subtraction", "subtraction takes an amount away and leaves what remains"),
    "×": ("multiplication", "multiplication totals several equal groups at once"),
    "÷": ("division", "division splits a total into equal parts"),
}
_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


class Part(NamedTuple):
    """A sub-question and the sentence of the solution that answers it."""

    ask: str
    say: str


def solve(problem: ArithmeticProblem, level: int, format: str = "plain") -> str:
    """The teacher's full target text for ``problem``, ending exactly ``The answer is X``."""
    return compose_target(rationale(problem, level, format), str(problem.answer))


def rationale(problem: ArithmeticProblem, level: int, format: str = "plain") -> str:
    """The teacher's solution of ``problem`` at ``level`` in ``format``, without the final answer sentence."""
    _check(level, format)
    if format == "sym":
        return _SYMBOLIC[level](problem)
    parts = _LEVELS[level](problem)
    if format == "bsm":
        return " ".join(f"{ask} {_sentence(say)}" for ask, say in parts)
    body = _join(parts, level)
    return f"{_restate(problem)} {body}" if format == "rar" else body


def teacher_example(
    problem: ArithmeticProblem, level: int | None, format: str = "plain", *, source: str = ""
) -> CoTExample:
    """``problem`` as a training example: the teacher's text at ``level``, or answer-only when ``level`` is None."""
    answer = str(problem.answer)
    common = dict(
        id=example_id(TASK, problem.question), task=TASK, question=problem.question, answer=answer,
        source=source, gold=answer, meta={"problem": problem.to_dict()},
    )
    if level is None:
        if format != "plain":
            raise CotlitError(f"an answer-only example has no format; got {format!r}")
        return CoTExample(rationale="", teacher=None, granularity=None, format="plain", **common)
    return CoTExample(rationale=rationale(problem, level, format), teacher=TEACHER, granularity=level, format=format,
                      **common)


def _check(level: int, format: str) -> None:
    if level not in LEVELS:
        raise CotlitError(f"unknown level {level!r}; valid: {', '.join(map(str, LEVELS))}")
    if format not in FORMATS:
        raise CotlitError(f"unknown format {format!r}; valid: {', '.join(FORMATS)}")


def _capital(text: str) -> str:
    return text[0].upper() + text[1:]


def _sentence(text: str) -> str:
    """Capitalise and end with a full stop."""
    text = _capital(text)
    return text if text.endswith(".") else text + "."


def _join(parts: list[Part], level: int) -> str:
    if level == 1:  # clauses of one terse sentence
        clauses = [say for _, say in parts]
        return _sentence(clauses[0] if len(clauses) == 1 else f"{', '.join(clauses[:-1])}, then {clauses[-1]}")
    return " ".join(_sentence(say) for _, say in parts)


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _operands(problem: ArithmeticProblem, step: Step) -> tuple[Quantity, Quantity]:
    return problem.quantity(step.left), problem.quantity(step.right)


def _equation(problem: ArithmeticProblem, step: Step, named: bool = False) -> str:
    """``24 - 6 = 18``, or with the name of every given in brackets (results are named where computed)."""
    givens = {q.symbol for q in problem.givens} if named else set()
    left, right = (f"{q.value} ({q.name})" if q.symbol in givens else str(q.value) for q in _operands(problem, step))
    return f"{left} {step.op} {right} = {step.result.value}"


def _chained(problem: ArithmeticProblem, index: int) -> bool:
    """Whether step ``index`` continues from the result of the step before it."""
    return index > 0 and problem.steps[index].left == problem.steps[index - 1].result.symbol


def _ordinal(index: int, count: int) -> str:
    return "First" if index == 0 else "Finally" if index == count - 1 else ("Next", "Then")[index % 2]


def _concepts(problem: ArithmeticProblem) -> str:
    ops = list(dict.fromkeys(step.op for step in problem.steps))
    return f"this problem uses {_and([_CONCEPT[op][0] for op in ops])}: {'; '.join(_CONCEPT[op][1] for op in ops)}"


def _check_text(problem: ArithmeticProblem) -> str:
    """Undo the steps from the answer back to the first number."""
    undo = [f"{s.result.value} {_INVERSE[s.op]} {problem.quantity(s.right).value} = {problem.quantity(s.left).value}"
            for s in reversed(problem.steps)]
    first = problem.quantity(problem.steps[0].left)
    return (
        f"To check, reverse the operations: {', '.join(undo)}, which gives back the {first.name}, {first.value}, "
        "so the calculation is correct"
    )


def _level1(problem: ArithmeticProblem) -> list[Part]:
    parts = []
    for i, step in enumerate(problem.steps):
        left, right = _operands(problem, step)
        clause = (_CHAINED if _chained(problem, i) else _FIRST)[step.op].format(l=left.value, r=right.value)
        parts.append(Part(step.result.ask, clause))
    return parts


def _level2(problem: ArithmeticProblem) -> list[Part]:
    return [Part(step.result.ask, _equation(problem, step)) for step in problem.steps]


def _level3(problem: ArithmeticProblem) -> list[Part]:
    count = len(problem.steps)
    return [
        Part(step.result.ask, f"{_ordinal(i, count)}, the {step.result.name} is {_equation(problem, step)}")
        for i, step in enumerate(problem.steps)
    ]


def _level4(problem: ArithmeticProblem) -> list[Part]:
    spare = problem.distractor
    return [
        *(
            Part(s.result.ask, f"{s.reason}: {_equation(problem, s, named=True)} ({s.result.name})")
            for s in problem.steps
        ),
        Part("Which number is not needed?", f"the {spare.value} ({spare.name}) is not needed"),
        Part("What is the result?", f"so {problem.conclusion}"),
    ]


def _level5(problem: ArithmeticProblem) -> list[Part]:
    parts = [Part("Which operations does the problem need?", _concepts(problem))]
    for given in problem.givens:
        parts.append(Part(given.ask, f"{len(parts)}. Identify the {given.name}: {given.value}"))
    for step in problem.steps:
        says = f"{len(parts)}. {_VERB[step.op]} to find the {step.result.name}: {_equation(problem, step)}"
        parts.append(Part(step.result.ask, says))
    spare = problem.distractor
    parts.append(Part("Which number is not needed?", f"the {spare.value} ({spare.name}) is not used"))
    parts.append(Part("What is the answer?", f"therefore, {problem.conclusion}"))
    return parts


def _level6(problem: ArithmeticProblem) -> list[Part]:
    goal, spare = problem.steps[-1].result, problem.distractor
    parts = [Part("What do we need to find?", f"to find the {goal.name}, let's break down the steps in detail")]
    for given in problem.givens:
        says = f"{len(parts)}. Note that the {given.name} is {given.value}; this is the {given.role}"
        parts.append(Part(given.ask, says))
    for step in problem.steps:
        equation = _equation(problem, step, named=True)
        says = f"{len(parts)}. {_capital(step.reason)}: {equation}, which is the {step.result.name}"
        parts.append(Part(step.result.ask, says))
    says = f"{len(parts)}. The {spare.name}, {spare.value}, is not needed for the answer"
    parts.append(Part("Which number is not needed?", says))
    parts.append(Part("Is the result correct?", f"{len(parts)}. {_check_text(problem)}"))
    parts.append(Part("What is the answer?", f"therefore, {problem.conclusion}"))
    return parts


_LEVELS = {1: _level1, 2: _level2, 3: _level3, 4: _level4, 5: _level5, 6: _level6}


def _restate(problem: ArithmeticProblem) -> str:
    """The rephrase of ``rar``: every number of the story with its meaning, then what is asked."""
    facts = [f"the {q.name} is {q.value}" for q in (*problem.givens, problem.distractor)]
    return f"In other words, {_and(facts)}. The task is to find the {problem.steps[-1].result.name}."


def _var(symbol: str) -> str:
    return symbol.translate(_SUBSCRIPTS)


def _expression(problem: ArithmeticProblem, symbol: str) -> tuple[str, int]:
    """The whole computation of ``symbol`` over the givens' symbols, with the brackets it needs."""
    step = next((s for s in problem.steps if s.result.symbol == symbol), None)
    if step is None:
        return symbol, 3
    precedence = _PRECEDENCE[step.op]
    left, left_precedence = _expression(problem, step.left)
    right, right_precedence = _expression(problem, step.right)
    if left_precedence < precedence:
        left = f"({left})"
    if right_precedence < precedence or (right_precedence == precedence and step.op in "-÷"):
        right = f"({right})"
    return f"{left} {step.op} {right}", precedence


def _definitions(problem: ArithmeticProblem, named: bool) -> list[str]:
    return [f"{q.symbol} = {q.value}" + (f" ({q.name})" if named else "") for q in problem.givens]


def _assignment(problem: ArithmeticProblem, step: Step, numbers: bool) -> str:
    """``x₁ = A - B = 18``, or with the numbers too: ``x₁ = A - B = 24 - 6 = 18``."""
    left, right = _operands(problem, step)
    numeric = f"{left.value} {step.op} {right.value} = " if numbers else ""
    symbolic = f"{_var(left.symbol)} {step.op} {_var(right.symbol)}"
    return f"{_var(step.result.symbol)} = {symbolic} = {numeric}{step.result.value}"


def _unused(problem: ArithmeticProblem) -> str:
    spare = problem.distractor
    return f"{spare.symbol} = {spare.value} ({spare.name}) is unused"


def _sym1(problem: ArithmeticProblem) -> str:
    expression = _expression(problem, "x")[0]
    return f"Let {', '.join(_definitions(problem, False))}; x = {expression} ∴ x = {problem.answer}."


def _sym2(problem: ArithmeticProblem) -> str:
    steps = "; ".join(_assignment(problem, s, numbers=False) for s in problem.steps)
    return f"Let {', '.join(_definitions(problem, False))}. {steps} ∴ x = {problem.answer}."


def _sym3(problem: ArithmeticProblem) -> str:
    steps = ", ".join(_assignment(problem, s, numbers=True) for s in problem.steps)
    goal = problem.steps[-1].result.name
    return f"Let {', '.join(_definitions(problem, True))}. ∃x ({goal}): {steps} ∴ x = {problem.answer}."


def _sym_steps(problem: ArithmeticProblem, start: int = 0) -> list[str]:
    return [
        (f"{start + i}. " if start else "")
        + f"{_capital(s.reason)}: {_assignment(problem, s, numbers=True)} ({s.result.name})."
        for i, s in enumerate(problem.steps)
    ]


def _sym4(problem: ArithmeticProblem) -> str:
    goal = problem.steps[-1].result.name
    lines = [f"Let {', '.join(_definitions(problem, True))}. ∃x ({goal}).", *_sym_steps(problem)]
    return " ".join([*lines, _sentence(_unused(problem)), f"∴ x = {problem.answer}, so {problem.conclusion}."])


def _numbered(problem: ArithmeticProblem) -> list[str]:
    givens = [f"{i}. Let {q.symbol} = {q.value} ({q.name}, {q.role})." for i, q in enumerate(problem.givens, 1)]
    steps = _sym_steps(problem, start=len(givens) + 1)
    unused = f"{len(givens) + len(steps) + 1}. {_sentence(_unused(problem))}"
    return [_sentence(_concepts(problem)), *givens, *steps, unused]


def _sym5(problem: ArithmeticProblem) -> str:
    return " ".join([*_numbered(problem), f"∴ x = {problem.answer}, so {problem.conclusion}."])


def _sym6(problem: ArithmeticProblem) -> str:
    checks = [
        f"{_var(s.result.symbol)} {_INVERSE[s.op]} {_var(s.right)} = {s.result.value} {_INVERSE[s.op]} "
        f"{problem.quantity(s.right).value} = {problem.quantity(s.left).value} = {_var(s.left)} ✓"
        for s in reversed(problem.steps)
    ]
    lines = _numbered(problem)
    check = f"{len(lines)}. Check by reversing each operation: {'; '.join(checks)}."
    return " ".join([*lines, check, f"∴ x = {problem.answer}, so {problem.conclusion}."])


_SYMBOLIC = {1: _sym1, 2: _sym2, 3: _sym3, 4: _sym4, 5: _sym5, 6: _sym6}
