"""Multiple-choice answers (AQuA, CSQA, OBQA) and a throwaway ARC-like task built from the generic helper."""

from __future__ import annotations

from typing import Any

import pytest

from cotlit.errors import CotlitError
from cotlit.tasks import get_task
from cotlit.tasks.base import TestItem, register_task, task_names, unregister_task
from cotlit.tasks.choices import ChoiceTask, find_letters, letter_of_option_text, parse_options
from cotlit.tasks.records import field, gold, record_id

# (completion, answer, format_ok, method) for AQuA and CSQA (letters A-E) in cotlit mode
LETTER_CASES = [
    ("The answer is C", "C", True, "trigger"),
    ("The answer is (C).", "C", True, "trigger"),
    ("The answer is C)", "C", True, "trigger"),
    ("The answer is C.", "C", True, "trigger"),
    ("The answer is C: 12 km", "C", True, "trigger"),
    ("The answer is Option C", "C", True, "trigger"),
    ("The answer is: B", "B", True, "trigger"),
    ("The answer is a total of 12 (C)", "C", True, "trigger"),
    ("Not A, since ... the answer is C", "C", True, "trigger"),
    ("The answer is C or D", "C", True, "trigger"),
    ("The answer is E", "E", True, "trigger"),
    ("The answer is (c)", None, False, "none"),
    ("The answer is Clearly wrong", None, False, "none"),
    ("The answer is B.\n\nQ: next one? The answer is D", "B", True, "trigger"),
    ("Between (A) and (D), D fits best.", "D", False, "last"),
    ("no letter here", None, False, "none"),
]


@pytest.mark.parametrize("name", ["aqua", "csqa"])
@pytest.mark.parametrize(("text", "answer", "format_ok", "method"), LETTER_CASES)
def test_five_letter_extract(name, text, answer, format_ok, method):
    extraction = get_task(name).extract(text)
    assert (extraction.answer, extraction.format_ok, extraction.method) == (answer, format_ok, method)


@pytest.mark.parametrize(
    ("text", "answer"),
    [("The answer is E or D", "D"), ("The answer is E", None), ("The answer is (D)", "D")],
)
def test_obqa_letters_are_a_to_d(text, answer):
    assert get_task("obqa").extract(text).answer == answer


@pytest.mark.parametrize(
    ("text", "choices", "answer", "method"),
    [
        ("The answer is river.", ("lake", "river", "sea"), "B", "option_text"),
        ("The answer is  River Bank\nbecause ...", ("river bank", "sea"), "A", "option_text"),
        ("The answer is river", ("river", "river"), None, "none"),
        ("The answer is pond", ("lake", "river"), None, "none"),
        ("The answer is river", None, None, "none"),
        ("The answer is D", ("w", "x", "y"), None, "none"),  # only three options: A-C
        ("The answer is C", ("w", "x", "y"), "C", "trigger"),
    ],
)
def test_option_text_fallback(text, choices, answer, method):
    extraction = get_task("aqua").extract(text, choices)
    assert (extraction.answer, extraction.method) == (answer, method)


# (completion, gold, cotlit correct, paper_compat correct)
AQUA_PAPER = [
    ("The answer is a total of 12 (C)", "C", True, False),  # the paper upper-cases and finds "A"
    ("The answer is (B)", "B", True, True),
    ("the choice is D, not E", "D", False, False),  # no trigger: the last letter, E
    ("I pick b. The answer is c", "C", False, True),  # the paper upper-cases: "C"
    ("Steps... so it is B", "B", True, True),  # no trigger: last letter in both
]
COMMONSENSE_PAPER = [
    ("The answer is B", "B", True, True),
    ("The answer is (B)", "B", True, False),
    ("The answer is: B", "B", True, False),
    ("The answer is Bees", "B", False, True),  # the paper regex has no word boundary
    ("The answer is A.\n\nThe answer is B", "A", True, True),
    ("So B is right.", "B", True, False),  # no trigger: paper has no fallback
    ("the answer is b", "B", False, False),
]


@pytest.mark.parametrize(("text", "gold_letter", "cotlit", "paper"), AQUA_PAPER)
def test_aqua_paper_compat(text, gold_letter, cotlit, paper):
    assert get_task("aqua").score(text, gold_letter).correct is cotlit
    assert get_task("aqua", paper_compat=True).score(text, gold_letter).correct is paper


@pytest.mark.parametrize(("text", "gold_letter", "cotlit", "paper"), COMMONSENSE_PAPER)
def test_csqa_paper_compat(text, gold_letter, cotlit, paper):
    assert get_task("csqa").score(text, gold_letter).correct is cotlit
    assert get_task("csqa", paper_compat=True).score(text, gold_letter).correct is paper


def test_obqa_paper_compat_can_return_e():
    extraction = get_task("obqa", paper_compat=True).extract("The answer is E")
    assert extraction.answer == "E"
    assert get_task("obqa", paper_compat=True).score("The answer is E", "D").correct is False


@pytest.mark.parametrize(("raw", "expected"), [("B", "B"), ("(b)", "B"), (" c ", "C"), ("D.", "D"), ("A)", "A")])
def test_choice_gold(raw, expected):
    assert get_task("aqua").normalize_gold(raw) == expected


@pytest.mark.parametrize(("name", "raw"), [("obqa", "E"), ("aqua", "F"), ("csqa", "AB"), ("csqa", 1), ("csqa", "")])
def test_choice_gold_rejects_invalid(name, raw):
    with pytest.raises(CotlitError):
        get_task(name).normalize_gold(raw)


def test_find_letters_is_case_sensitive_and_standalone():
    assert find_letters("A cat (b) Bee, B) and E.", "ABCDE") == ["A", "B", "E"]
    assert find_letters("IQ of I and J", "ABCDEFGHIJ") == ["I", "J"]


def test_letter_of_option_text_needs_one_match():
    assert letter_of_option_text("'Lake'.", ("sea", "lake"), "AB") == "B"
    assert letter_of_option_text("", ("", "lake"), "AB") is None


@pytest.mark.parametrize(
    ("options", "expected"),
    [(["A)21", "B)22", "C) 3 km"], ("21", "22", "3 km")), (["(A) x", "(B) y"], ("x", "y"))],
)
def test_parse_options(options, expected):
    assert parse_options(options, "ABCDE") == expected


@pytest.mark.parametrize(
    "options", [[], "A)1", ["B)1", "A)2"], ["A)1", "B)2", "C)3", "D)4", "E)5", "F)6"], ["A)1", 2], ["A-1"]]
)
def test_parse_options_rejects(options):
    with pytest.raises(CotlitError):
        parse_options(options, "ABCDE")


class _ARCLike(ChoiceTask):
    """What a new multiple-choice task file looks like: name, letters, one reader."""

    name = "arc_test"
    choice_letters = "ABCD"
    max_new_tokens = 320

    def read_test_record(self, record: dict[str, Any], index: int) -> TestItem:
        question = field(record, index, "question")
        choices = tuple(field(record, index, "choices", list))
        answer = gold(self, field(record, index, "answerKey"), index, "answerKey")
        return TestItem(record_id(self.name, record, index, question), question, answer, choices)


@pytest.fixture
def arc_task():
    register_task(_ARCLike)
    yield get_task("arc_test")
    unregister_task("arc_test")
    assert "arc_test" not in task_names()


def test_a_new_choice_task_is_one_small_class(arc_task):
    record = {"question": "Which is a metal?", "choices": ["wood", "iron"], "answerKey": "B"}
    item = arc_task.read_test_record(record, 0)
    assert item.gold == "B" and item.choices == ("wood", "iron")
    assert arc_task.score("Iron conducts. The answer is (B).", item.gold, item.choices).correct
    assert arc_task.score("The answer is iron", item.gold, item.choices).correct
    assert arc_task.extract("The answer is E").answer is None
    assert "arc_test" in task_names()
    layout = arc_task.format_question(item.question, item.choices)
    assert layout == "Which is a metal?\nAnswer Choices: (A) wood (B) iron"
