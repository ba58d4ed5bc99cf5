"""Golden tests of the paper's answer rules (``paper_compat``), one hand-made case per rule (conventions (g))."""

from __future__ import annotations

import pytest

from cotlit.errors import CotlitError
from cotlit.tasks import get_task
from cotlit.tasks.paper_rules import (
    answer_clean_segment,
    clean_generated_output,
    delete_extra_zero,
    find_box,
    literal_quotient,
    paper_equal,
    strip_string,
)


def paper(name: str):
    return get_task(name, paper_compat=True)


# -- answer_clean: triggers, the blank-line cut, the split -----------------------------------------------------
@pytest.mark.parametrize(
    ("text", "segment", "flag"),
    [
        ("So 5. The answer is: 7.", "7", True),  # "The answer is:" is tried first, so the colon goes
        ("x the answer is 3/", "3", True),  # trailing "/" stripped
        ("The answer is 4\n\nThe answer is 5", "4", True),  # a repeated trigger keeps the text before \n\n
        ("Work 8.\n\nThe answer is 4. The answer is 5", "Work 8", False),  # ... even when that loses the trigger
        ("The answer is 4\n\nmore\n", "4\n\nmore", True),  # one trigger: no cut, text after the last split
        ("the answer was 3", "the answer was 3", False),
        ("THE ANSWER IS 3", "THE ANSWER IS 3", False),  # triggers are case-sensitive
    ],
)
def test_answer_clean_segment(text, segment, flag):
    assert answer_clean_segment(text) == (segment, flag)


def test_gsm8k_adds_the_hash_trigger():
    assert paper("gsm8k").extract("She has 3 apples.\n#### 18").answer == "18"
    assert paper("svamp").extract("She has 3 apples.\n#### 18").answer == "18"  # last number, no trigger
    assert paper("svamp").extract("She has 3 apples.\n#### 18 or 19").format_ok is False
    assert paper("gsm8k").extract("#### 18 or 19").answer == "18"


# -- numbers (SVAMP, GSM8K) --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "answer", "format_ok"),
    [
        ("The answer is 12 + 13 = 25", "12", True),  # the first number after the trigger
        ("The answer is: 1,250.", "1250", True),  # commas removed, trailing "." stripped
        ("The answer is 72.0", "72", True),
        ("The answer is 2.50 dollars", "2.5", True),
        ("The answer is 3/4", "0.75", True),  # a/b by exact division (the original evals it)
        ("The answer is 1/3", "0.3333333333333333", True),
        ("The answer is 6/3 cakes", "2", True),
        ("The answer is 5/0", "5/0", True),  # the original's eval raises: token kept
        ("The answer is 3/05", "3/05", True),  # a leading zero is a syntax error in Python 3
        ("The answer is 3/.5", "6", True),
        ("The answer is .5", "5", True),  # the regex needs a digit first
        ("The answer is -4", "-4", True),
        ("He ran 4 miles in 60 minutes", "60", False),  # no trigger: the last number
        ("The answer is none", None, False),
    ],
)
def test_paper_numbers(text, answer, format_ok):
    extraction = paper("svamp").extract(text)
    assert (extraction.answer, extraction.format_ok) == (answer, format_ok)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("145.0", "145"), ("2.50", "2.5"), ("-0", "0"), ("7", "7"), ("x", "x"), ("3/4", "0.75"), ("-3/4", "-0.75"),
     ("3/", "3/"), ("3/0", "3/0"), ("00/5", "0"), ("1e-05", "1e-05"), ("100", "100")],
)
def test_delete_extra_zero(text, expected):
    assert delete_extra_zero(text) == expected


def test_literal_quotient_matches_python_division():
    for numerator in (1, 2, 7, 22, 355, 10**20 + 1):
        for denominator in (3, 7, 113, 10**17 + 3):
            assert literal_quotient(f"{numerator}/{denominator}") == numerator / denominator
    assert literal_quotient("1/.3") == 1 / 0.3
    assert literal_quotient("2*3") is None and literal_quotient("1/.0") is None


@pytest.mark.parametrize(
    ("gold", "expected"), [(145.0, "145"), (12.5, "12.5"), ("1,250", "1250"), (7, "7"), ("-3", "-3"), ("3/4", "0.75")]
)
def test_paper_number_gold(gold, expected):
    assert paper("gsm8k").normalize_gold(gold) == expected


@pytest.mark.parametrize("gold", ["twelve", "", True, None])
def test_paper_number_gold_must_be_a_number(gold):
    with pytest.raises(CotlitError):
        paper("svamp").normalize_gold(gold)


def test_paper_numbers_compare_as_strings():
    assert paper("svamp").score("The answer is 12.0000001", 12).correct is False
    assert paper("svamp").score("The answer is 0.75", "3/4").correct is True
    assert paper("svamp").score("The answer is 12.", 12.0).correct is True


# -- AQuA ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "answer", "format_ok"),
    [
        ("The answer is (B)", "B", True),
        ("The answer is a total of 12 (C)", "A", True),  # upper-cased first: the article "a" is read as A
        ("I pick b. The answer is c", "C", True),
        ("Steps... so it is B, not D", "D", False),  # no trigger: the last letter
        ("The answer is 42", "42", True),  # no letter: the whole segment is the answer
    ],
)
def test_paper_aqua(text, answer, format_ok):
    extraction = paper("aqua").extract(text)
    assert (extraction.answer, extraction.format_ok) == (answer, format_ok)


def test_paper_aqua_gold_is_verbatim_and_compared_case_insensitively():
    aqua = paper("aqua")
    assert aqua.normalize_gold("C") == "C"
    assert aqua.score("The answer is c", "C").correct is True
    assert aqua.score("The answer is 42", "C").correct is False


# -- MATH ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "answer", "method"),
    [
        ("The answer is \\boxed{\\frac{\\sqrt{3}}{2}}.", "\\frac{\\sqrt{3}}{2}", "trigger"),  # brace-matched
        ("so $\\boxed{5}$ and \\boxed{7}", "7", "boxed"),  # the last box, no trigger
        ("The answer is \\boxed 5$ done", "5", "trigger"),  # no brace: up to the next "$"
        ("The answer is x = \\dfrac{1}{2}", "\\frac{1}{2}", "trigger"),  # after the last "="
        ("The answer is 12 inches", "12", "trigger"),
        ("The answer is $10^\\circ$", "10", "trigger"),  # "$" stripped at both ends, degrees dropped
        ("The answer is 5\\text{ cm}\\text{ m}", "5", "trigger"),  # cut at the first "\text{ "
        ("The answer is 50%", "50%", "trigger"),  # a plain % stays
        ("The answer is 0.5", "0.5", "trigger"),  # no 0.5 -> 1/2 in the paper's copy
        ("The answer is .5", "0.5", "trigger"),
        ("The answer is 3/4", "\\frac{3}{4}", "trigger"),
        ("The answer is \\frac12", "\\frac{1}{2}", "trigger"),
        ("The answer is \\sqrt3", "\\sqrt{3}", "trigger"),
        ("we get 4 and then 9.5 more", "9.5", "last"),  # no trigger: the last number
    ],
)
def test_paper_math_extract(text, answer, method):
    extraction = paper("math").extract(text)
    assert (extraction.answer, extraction.method) == (answer, method)


@pytest.mark.parametrize(
    ("answer", "gold", "equal"),
    [
        ("\\frac{1}{2}", "\\frac{1}{2}", True),
        ("\\text{Evelyn}", "Evelyn", True),  # "\text{" and the trailing "}" go
        ("Evelyn", "\\text{evelyn}", True),  # case-insensitive
        ("the answer (C) it is", "(C)", True),  # a gold (a)-(f) is searched inside the answer
        ("\\frac{1}{2}", "\\dfrac{1}{2}", False),  # the gold is not normalised
        ("0.5", "\\frac{1}{2}", False),  # strings, no symbolic equivalence
    ],
)
def test_paper_equal(answer, gold, equal):
    assert paper_equal(answer, gold) is equal


def test_paper_math_gold_is_verbatim():
    assert paper("math").normalize_gold("\\dfrac{1}{2}") == "\\dfrac{1}{2}"
    assert paper("math").score("The answer is \\boxed{\\text{(B)}}", "\\text{(B)}").correct is True
    with pytest.raises(CotlitError):
        paper("math").normalize_gold("  ")


@pytest.mark.parametrize(
    ("string", "expected"),
    [("\\left(1, 2\\right)", "(1,2)"), ("k = 5", "5"), ("\\frac1{72}", "\\frac{1}{72}"), ("\\frac1", "\\frac1"),
     ("1/2/3", "1/2/3"), ("\\$5", "5"), ("5\\%", "5"), ("a\\\\b", "a\\b"), ("{.5}", "{0.5}")],
)
def test_strip_string(string, expected):
    assert strip_string(string) == expected


def test_find_box_keeps_an_unclosed_box():
    assert find_box("\\boxed{\\frac{1}{2") == "\\frac{1}{2"
    assert find_box("boxed") == ""


# -- commonsense (CSQA, OBQA, StrategyQA) -------------------------------------------------------------------------
def test_clean_generated_output():
    text = "<start_of_turn>user\nq<end_of_turn>\n\n\nStep one.\n\nASSISTANT: The answer is B [INST] more<|eot_id|>"
    assert clean_generated_output(text) == "Step one.\n The answer is B  more"
    assert clean_generated_output("The model says: The answer is C") == "The  says: The answer is C"


@pytest.mark.parametrize(
    ("name", "text", "gold", "answer", "correct"),
    [
        ("csqa", "The answer is B", "B", "B", True),
        ("csqa", "The answer is (B)", "B", None, False),  # no fallback
        ("csqa", "The answer is: B", "B", None, False),
        ("csqa", "the correct answer is D", "D", None, False),
        ("csqa", "The answer is Bees", "B", "B", True),  # no word boundary in the paper's regex
        ("csqa", "The answer is A.\n\nThe answer is B", "B", "A", False),  # the first match
        ("csqa", "Response: the answer is C", "C", "C", True),
        ("obqa", "The answer is E", "D", "E", False),  # E is found, and simply wrong
        ("csqa", "The answer is <start_of_turn>A\n<end_of_turn>D", "D", "D", True),  # the turn span goes first
        ("csqa", "The answer is ####D", "D", "D", True),  # "####" removed before the regex
        ("strategyqa", "The answer is True", "True", "True", True),
        ("strategyqa", "The answer is true", "True", None, False),
        ("strategyqa", "The answer is Yes", "True", None, False),
        ("strategyqa", "So False. The answer is False", "False", "False", True),
    ],
)
def test_paper_commonsense(name, text, gold, answer, correct):
    task = paper(name)
    assert task.extract(text).answer == answer
    assert task.score(text, gold).correct is correct


def test_paper_commonsense_gold_is_verbatim():
    assert paper("csqa").normalize_gold("b") == "b"
    assert paper("csqa").score("The answer is B", "b").correct is False  # == on the label, case-sensitive
    assert paper("strategyqa").normalize_gold(True) == "True"
    with pytest.raises(CotlitError):
        paper("strategyqa").normalize_gold("")
