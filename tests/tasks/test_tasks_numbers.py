"""Numeric answers (SVAMP, GSM8K): extraction, normalisation, comparison, cotlit vs paper_compat."""

from __future__ import annotations

import pytest

from cotlit.errors import CotlitError
from cotlit.tasks import get_task
from cotlit.tasks.numbers import find_numbers, normalize_number, numbers_equal


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("145", "145"),
        ("145.0", "145"),
        ("145.00", "145"),
        ("12.50", "12.5"),
        ("-3", "-3"),
        ("-0.0", "0"),
        (".5", "0.5"),
        ("3/4", "0.75"),
        ("6/3", "2"),
        ("-1/8", "-0.125"),
        ("1/0", None),
        ("12345678901234567890", "12345678901234567890"),
        ("abc", None),
    ],
)
def test_normalize_number(token, expected):
    assert normalize_number(token) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$1,250.00 in total", ["1250"]),
        ("1,000,000 ants", ["1000000"]),
        ("the list 1,2,3", ["1", "2", "3"]),
        ("pages 10-12", ["10", "12"]),
        ("a drop of \u22124 degrees", ["-4"]),
        ("at 3:30 pm", ["3", "30"]),
        ("5% of 80", ["5", "80"]),
        ("three quarters, or 3/4", ["0.75"]),
        ("no digits here", []),
        ("version 2.5.1", ["2.5"]),
    ],
)
def test_find_numbers(text, expected):
    assert find_numbers(text) == expected


@pytest.mark.parametrize(
    ("prediction", "gold", "equal"),
    [
        ("145", "145", True),
        ("0.75", "0.75", True),
        ("0.3333333333333333333333333333", "0.333333333", True),
        ("0.3333", "0.333333333", False),
        ("1000000", "1000001", True),
        ("100", "101", False),
        ("0", "0", True),
        ("-5", "5", False),
    ],
)
def test_numbers_equal_relative_tolerance(prediction, gold, equal):
    assert numbers_equal(prediction, gold) is equal


# (completion, answer, format_ok, method) in cotlit mode
SVAMP_CASES = [
    ("So 12 + 3 = 15. The answer is 15.", "15", True, "trigger"),
    ("The answer is 15.\n\nQ: Tom has 3 more. The answer is 7", "15", True, "trigger"),
    ("Step 1: 4 + 4 = 8.\n\nStep 2: 8 - 1 = 7. The answer is 7.\nThe answer is 7", "7", True, "trigger"),
    ("the answer is 42", "42", True, "trigger"),
    ("The answer is: 42", "42", True, "trigger"),
    ("The answer is:\n\n42", "42", True, "trigger"),
    ("The answer is $1,250.00", "1250", True, "trigger"),
    ("The answer is 145.0", "145", True, "trigger"),
    ("The answer is 2 + 3 = 5", "5", True, "trigger"),
    ("The answer is 79 - (24 + 51) = 79 - 75 = 4.", "4", True, "trigger"),
    ("The answer is 15.\nCheck: 3 * 5 = 15, and 2 = 2", "15", True, "trigger"),
    ("The answer is 5 apples and 3 pears.", "5", True, "trigger"),
    ("The answer is 3:30", "3", True, "trigger"),
    ("The answer is -3", "-3", True, "trigger"),
    ("The answer is 25%", "25", True, "trigger"),
    ("The answer is 3/4.", "0.75", True, "trigger"),
    ("The answer is five.", None, False, "none"),
    ("The answer is five.\n\nQ: Tom has 3 more. The answer is 7", None, False, "none"),
    ("It takes 4 hours to drive 60 miles", "60", False, "last"),
    ("Nothing numeric at all", None, False, "none"),
    ("", None, False, "none"),
]


@pytest.mark.parametrize(("text", "answer", "format_ok", "method"), SVAMP_CASES)
def test_svamp_extract(text, answer, format_ok, method):
    extraction = get_task("svamp").extract(text)
    assert (extraction.answer, extraction.format_ok, extraction.method) == (answer, format_ok, method)


@pytest.mark.parametrize(
    ("text", "answer", "format_ok", "method"),
    [
        ("She makes 9 * 2 = $<<9*2=18>>18.\n#### 18", "18", False, "####"),
        ("#### 1,250", "1250", False, "####"),
        ("#### 3\nThe answer is 4", "4", True, "trigger"),
        ("Total <<3*4=12>>12 eggs", "12", False, "last"),
        ("The answer is <<3*4=12>>12", "12", True, "trigger"),
        ("7 apples.\n####", "7", False, "last"),
        ("#### 5\n\n#### 6", "5", False, "####"),
    ],
)
def test_gsm8k_extract(text, answer, format_ok, method):
    extraction = get_task("gsm8k").extract(text)
    assert (extraction.answer, extraction.format_ok, extraction.method) == (answer, format_ok, method)


# (completion, gold, cotlit correct, paper_compat correct)
PAPER_DIFFERENCES = [
    ("The answer is 2 + 3 = 5", 5, True, False),  # the paper takes the first number, 2
    ("The answer is 3/4", 0.75, True, True),  # both evaluate the fraction
    ("The answer is .5", 0.5, True, False),  # the paper's regex reads "5"
    ("The answer is 1,000", 1000, True, True),
    ("The answer is 145.00", 145.0, True, True),
    ("Some text 8.\n\nThe answer is 4. The answer is 4", 4, True, False),  # the paper cuts at the blank line
    ("The final answer is 12, not 13", 12, False, False),  # neither trigger: the last number, 13
    ("The answer is 0.1 + 0.2", 0.1, True, True),
    ("The answer is 12.0000001", 12, True, False),  # tolerance vs exact string
]


@pytest.mark.parametrize(("text", "gold", "cotlit", "paper"), PAPER_DIFFERENCES)
def test_svamp_paper_compat_differences(text, gold, cotlit, paper):
    assert get_task("svamp").score(text, gold).correct is cotlit
    assert get_task("svamp", paper_compat=True).score(text, gold).correct is paper


@pytest.mark.parametrize("paper_compat", [False, True])
@pytest.mark.parametrize(
    ("gold", "expected"), [(145.0, "145"), (12.5, "12.5"), ("1,250", "1250"), (7, "7"), ("-3", "-3")]
)
def test_number_gold(gold, expected, paper_compat):
    assert get_task("gsm8k", paper_compat=paper_compat).normalize_gold(gold) == expected


@pytest.mark.parametrize("gold", [None, True, "twelve", "", [3]])
def test_number_gold_rejects_non_numbers(gold):
    with pytest.raises(CotlitError):
        get_task("svamp").normalize_gold(gold)
