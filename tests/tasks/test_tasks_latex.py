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


@pytest.mark.parametrize("gold", ["", "  ", "$$", None, True])
def test_math_gold_rejects_empty(gold):
    with pytest.raises(CotlitError):
        get_task("math").normalize_gold(gold)
