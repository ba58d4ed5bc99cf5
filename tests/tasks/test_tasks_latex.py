"""MATH: brace-matched boxes, LaTeX normalisation, extraction order, cotlit vs paper_compat (MAmmoTH)."""

from __future__ import annotations

import pytest

from cotlit.errors import CotlitError
from cotlit.tasks import get_task
from cotlit.tasks.latex import brace_arguments, last_boxed, normalize_latex


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("so \\boxed{5}.", "5"),
        ("\\boxed{\\frac{\\sqrt{3}}{2}}", "\\frac{\\sqrt{3}}{2}"),
        ("first \\boxed{1}, then \\boxed{2}", "2"),
        ("\\fbox{7}", "7"),
        ("$\\boxed 5$", "5"),
        ("\\boxed {x+1}", "x+1"),
        ("\\boxed7.", "7."),
        ("\\boxed{\\{1,2\\}}", "\\{1,2\\}"),
        ("\\boxed{\\frac{1}", None),  # unclosed (truncated) box
        ("\\boxedsomething{3}", None),
        ("no box", None),
        ("\\boxed{}", ""),
    ],
)
def test_last_boxed(text, expected):
    assert last_boxed(text) == expected


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("\\dfrac{3}{4}", "\\frac{3}{4}"),
        ("\\frac34", "\\frac{3}{4}"),
        ("\\tfrac1{72}", "\\frac{1}{72}"),
        ("\\frac{\\frac12}{3}", "\\frac{\\frac{1}{2}}{3}"),
        ("\\sqrt3", "\\sqrt{3}"),
        ("2\\sqrt{5}", "2\\sqrt{5}"),
        ("\\sqrt[3]{2}", "\\sqrt[3]{2}"),
        ("5\\%", "5"),
        ("10^\\circ", "10"),
        ("10^{\\circ}", "10"),
        ("(2, 3)", "(2,3)"),
        ("\\left( 1, 2 \\right)", "(1,2)"),
        ("x \\rightarrow 3", "x\\rightarrow3"),
        ("1,000", "1000"),
        ("(1,0)", "(1,0)"),
        ("12,345.5", "12345.5"),
        (".5", "0.5"),
        ("-.25", "-0.25"),
        ("0.5", "0.5"),
        ("x = 7", "7"),
        ("y=2x+1", "2x+1"),
        ("area = 7", "area=7"),
        ("3/4", "\\frac{3}{4}"),
        ("-3/4", "\\frac{-3}{4}"),
        ("x/4", "x/4"),
        ("5\\text{ cm}", "5"),
        ("5 \\text{cm}^2", "5"),
        ("\\text{(B)}", "(B)"),
        ("\\textbf{Monday}", "Monday"),
        ("2 \\text{ and } 3", "2and3"),
        ("\\$18.90", "18.90"),
        ("$\\frac{1}{2}$", "\\frac{1}{2}"),
        ("1\\,000", "1000"),
        ("\\!\\!5", "5"),
        ("[-2, \\infty)", "[-2,\\infty)"),
        ("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}"),
        ("7.", "7"),
    ],
)
def test_normalize_latex(answer, expected):
    assert normalize_latex(answer) == expected


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("\\dfrac{3}{4}", "\\frac34", True),
        ("5\\%", "5", True),
        ("10^\\circ", "10", True),
        ("(2, 3)", "(2,3)", True),
        ("0.75", "\\frac{3}{4}", False),  # only a symbolic metric would equate these
        ("\\frac{1}{2}", "0.5", False),
        ("1,000", "1000", True),
        ("(1,0)", "10", False),
    ],
)
def test_math_string_equality(a, b, equal):
    task = get_task("math")
    assert task.equal(normalize_latex(a), task.normalize_gold(b)) is equal


def test_brace_arguments_leaves_unclosed_groups():
    assert brace_arguments("\\frac{1", "\\frac", 2) == "\\frac{1"
    assert brace_arguments("\\frac", "\\frac", 2) == "\\frac"


# (completion, answer, format_ok, method) in cotlit mode
MATH_CASES = [
    ("We get $x=3$. The answer is $\\boxed{3}$.", "3", True, "trigger"),
    ("The answer is $\\dfrac{3}{4}$.", "\\frac{3}{4}", True, "trigger"),
    ("The answer is \\(\\frac{1}{2}\\).", "\\frac{1}{2}", True, "trigger"),
    ("The answer is $x = 7$", "7", True, "trigger"),
    ("The answer is 2 + 3 = 5", "5", True, "trigger"),
    ("The answer is 12 inches.", "12", True, "trigger"),
    ("The answer is: 10^\\circ", "10", True, "trigger"),
    ("The answer is \\text{(B)}", "(B)", True, "trigger"),
    ("\\boxed{2} first, but the answer is 4.\nIt checks.", "4", True, "trigger"),
    ("Thus $\\boxed{\\frac{\\sqrt{3}}{2}}$", "\\frac{\\sqrt{3}}{2}", False, "boxed"),
    ("Try \\boxed{1}, no: \\boxed{2}.", "2", False, "boxed"),
    ("So we have \\boxed 5 as the result", "5", False, "boxed"),
    ("Adding, 3 + 4 = 7 and the total is 1,000.", "1000", False, "last"),
    ("Truncated \\boxed{\\frac{1}", "1", False, "last"),
    ("The answer is", None, False, "none"),
    ("no numbers", None, False, "none"),
]


@pytest.mark.parametrize(("text", "answer", "format_ok", "method"), MATH_CASES)
def test_math_extract(text, answer, format_ok, method):
    extraction = get_task("math").extract(text)
    assert (extraction.answer, extraction.format_ok, extraction.method) == (answer, format_ok, method)


# (completion, gold, cotlit correct, paper_compat correct)
PAPER = [
    ("The answer is $\\frac{1}{2}$", "\\frac{1}{2}", True, True),  # the paper strips "$" at both ends
    ("The answer is $\\frac{1}{2}$ cm", "\\frac{1}{2}", True, False),  # ... but not inside
    ("The answer is \\boxed{\\frac{1}{2}}", "\\frac{1}{2}", True, True),
    ("The answer is 0.5", "\\frac{1}{2}", False, False),  # strings: 0.5 is not \\frac{1}{2}
    ("The answer is 10 degrees", "10", True, True),
    ("The answer is x \\rightarrow 3", "x\\rightarrow3", True, False),  # "\\right" is cut from the prediction only
    ("The answer is 5 \\text{ cm} and 6 \\text{ cm}", "5", False, True),  # the paper cuts at the first unit
    ("\\boxed{3}\n\nThe answer is 4. The answer is 4", "4", True, False),  # the paper cuts at the blank line
    ("The answer is 1,000", "1000", True, False),
]


@pytest.mark.parametrize(("text", "gold", "cotlit", "paper"), PAPER)
def test_math_paper_compat(text, gold, cotlit, paper):
    assert get_task("math").score(text, gold).correct is cotlit
    assert get_task("math", paper_compat=True).score(text, gold).correct is paper


@pytest.mark.parametrize("gold", ["", "  ", "$$", None, True])
def test_math_gold_rejects_empty(gold):
    with pytest.raises(CotlitError):
        get_task("math").normalize_gold(gold)
