"""True/False answers (StrategyQA): extraction, gold normalisation, cotlit vs paper_compat."""

from __future__ import annotations

import pytest

from cotlit.errors import CotlitError
from cotlit.tasks import get_task
from cotlit.tasks.booleans import find_booleans

# (completion, answer, format_ok, method) in cotlit mode
CASES = [
    ("The answer is True", "True", True, "trigger"),
    ("The answer is False.", "False", True, "trigger"),
    ("the answer is true", "True", True, "trigger"),
    ("The answer is: TRUE", "True", True, "trigger"),
    ("The answer is yes, because ...", "True", True, "trigger"),
    ("The answer is No.", "False", True, "trigger"),
    ("<Solution Path> Bears hibernate. The answer is False", "False", True, "trigger"),
    ("The answer is not true", "True", True, "trigger"),  # negations are counted, not special-cased
    ("The answer is False.\n\nQ: Is water wet? The answer is True", "False", True, "trigger"),
    ("The answer is Trueish", None, False, "none"),
    ("The answer is unclear", None, False, "none"),
    ("Yes, it can. So no doubt it is true.", "True", False, "last"),
    ("It is known. Nothing more.", None, False, "none"),
]


@pytest.mark.parametrize(("text", "answer", "format_ok", "method"), CASES)
def test_strategyqa_extract(text, answer, format_ok, method):
    extraction = get_task("strategyqa").extract(text)
    assert (extraction.answer, extraction.format_ok, extraction.method) == (answer, format_ok, method)


# (completion, gold, cotlit correct, paper_compat correct)
PAPER = [
    ("The answer is True", "True", True, True),
    ("The answer is true", "True", True, False),
    ("The answer is Yes", "True", True, False),
    ("The answer is: True", "True", True, False),
    ("The answer is False", "True", False, False),
    ("Clearly false.", "False", True, False),
    ("the answer is False.", "False", True, True),
    ("The answer is True.\n\nThe answer is False", "True", True, True),
]


@pytest.mark.parametrize(("text", "gold", "cotlit", "paper"), PAPER)
def test_strategyqa_paper_compat(text, gold, cotlit, paper):
    assert get_task("strategyqa").score(text, gold).correct is cotlit
    assert get_task("strategyqa", paper_compat=True).score(text, gold).correct is paper


@pytest.mark.parametrize(
    ("raw", "expected"), [("True", "True"), ("false", "False"), (True, "True"), (False, "False"), (" yes ", "True")]
)
def test_boolean_gold(raw, expected):
    assert get_task("strategyqa").normalize_gold(raw) == expected


@pytest.mark.parametrize("raw", ["maybe", "", None, 1, "A"])
def test_boolean_gold_rejects(raw):
    with pytest.raises(CotlitError):
        get_task("strategyqa").normalize_gold(raw)


def test_find_booleans_words_only():
    assert find_booleans("Yes: untrue, nothing, Falsehood, NO, true.") == ["True", "False", "True"]
