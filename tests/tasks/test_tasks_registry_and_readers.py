"""The registry, the trigger segment, the test-set readers, and the real SVAMP/GSM8K files (when present)."""

from __future__ import annotations

import json

import pytest

from cotlit.core import example_id
from cotlit.errors import CotlitError
from cotlit.tasks import get_task, task_names
from cotlit.tasks.segment import answer_segment

TASKS = {
    "svamp": ("number", 512, ""),
    "gsm8k": ("number", 512, ""),
    "aqua": ("choice", 512, "ABCDE"),
    "math": ("latex", 512, ""),
    "csqa": ("choice", 320, "ABCDE"),
    "obqa": ("choice", 320, "ABCD"),
    "strategyqa": ("boolean", 320, ""),
}


def test_the_seven_tasks_are_registered():
    assert set(TASKS) <= set(task_names())


@pytest.mark.parametrize("name", sorted(TASKS))
def test_task_attributes_and_paper_compat_flag(name):
    kind, budget, letters = TASKS[name]
    task = get_task(name.upper())
    assert (task.name, task.answer_kind, task.max_new_tokens, task.choice_letters) == (name, kind, budget, letters)
    assert task.paper_compat is False
    assert get_task(name, paper_compat=True).paper_compat is True


def test_unknown_task_lists_valid_names():
    with pytest.raises(CotlitError, match="valid tasks: .*svamp"):
        get_task("nope")


@pytest.mark.parametrize(
    ("text", "segment"),
    [
        ("no trigger", None),
        ("The answer is 5.", "5"),
        ("The answer is: 5/", "5"),
        ("x. The answer is 5.\n\nMore. The answer is 6", "5"),
        ("The answer is\n\n5\n\nThe answer is 6", "5"),
        ("The answer is 5. The answer is 6.", "6"),
        ("Draft\n\nThe answer is 5.\nThe answer is 6", "6"),
        ("THE ANSWER IS 5", None),
    ],
)
def test_answer_segment(text, segment):
    assert answer_segment(text) == segment


# (task, record, id, question, gold, choices)
GOOD_RECORDS = [
    (
        "svamp",
        {"ID": "chal-9", "Body": "Ann has 3 pens.", "Question": "How many now?", "Answer": 3.0},
        "chal-9",
        "Ann has 3 pens. How many now?",
        "3",
        None,
    ),
    ("svamp", {"Body": "B", "Question": "Q?", "Answer": 2.5}, example_id("svamp", "B Q?"), "B Q?", "2.5", None),
    (
        "gsm8k",
        {"question": "How much?", "answer": "It is 1,000 + 250 = <<1000+250=1250>>1250.\n#### 1,250"},
        example_id("gsm8k", "How much?"),
        "How much?",
        "1250",
        None,
    ),
    (
        "aqua",
        {"question": "Speed?", "options": ["A)21", "B)22 km", "C)23", "D)24", "E)25"], "correct": "B"},
        example_id("aqua", "Speed?"),
        "Speed?",
        "B",
        ("21", "22 km", "23", "24", "25"),
    ),
    (
        "math",
        {"problem": "P", "answer": "\\dfrac{1}{2}", "unique_id": "test/x/1.json"},
        "test/x/1.json",
        "P",
        "\\frac{1}{2}",
        None,
    ),
    (
        "math",
        {"problem": "P", "solution": "So $\\boxed{1}$, i.e. $\\boxed{\\frac{\\sqrt{3}}{2}}$."},
        example_id("math", "P"),
        "P",
        "\\frac{\\sqrt{3}}{2}",
        None,
    ),
    ("csqa", {"instruction": "Q: x?", "label": "B", "output": ""}, example_id("csqa", "Q: x?"), "Q: x?", "B", None),
    ("obqa", {"instruction": "Q", "label": "D", "id": "7-980"}, "7-980", "Q", "D", None),
    ("strategyqa", {"instruction": "Fly?", "label": "False"}, example_id("strategyqa", "Fly?"), "Fly?", "False", None),
]


@pytest.mark.parametrize(("name", "record", "item_id", "question", "gold", "choices"), GOOD_RECORDS)
def test_read_test_record(name, record, item_id, question, gold, choices):
    item = get_task(name).read_test_record(record, 0)
    assert (item.id, item.question, item.gold, item.choices) == (item_id, question, gold, choices)


# (task, record, field named in the error)
BAD_RECORDS = [
    ("svamp", {"ID": "a", "Body": "b", "Answer": 1.0}, "Question"),
    ("svamp", {"ID": "a", "Body": "b", "Question": "q", "Answer": "1"}, "Answer"),
    ("svamp", {"ID": "a", "Body": "b", "Question": "q", "Answer": True}, "Answer"),
    ("svamp", {"ID": None, "Body": "b", "Question": "q", "Answer": 1.0}, "ID"),
    ("gsm8k", {"question": "q", "answer": "no marker 5"}, "answer"),
    ("gsm8k", {"question": "q", "answer": "#### five"}, "answer"),
    ("gsm8k", {"question": "", "answer": "#### 5"}, "question"),
    ("aqua", {"question": "q", "options": ["A)1", "C)2"], "correct": "A"}, "options"),
    ("aqua", {"question": "q", "options": "A)1 B)2", "correct": "A"}, "options"),
    ("aqua", {"question": "q", "options": ["A)1", "B)2"], "correct": "C"}, "correct"),
    ("aqua", {"question": "q", "options": ["A)1", "B)2"], "correct": "F"}, "correct"),
    ("math", {"problem": "p", "solution": "no box"}, "solution"),
    ("math", {"problem": "p", "solution": "\\boxed{\\frac{1}"}, "solution"),
    ("math", {"problem": "p"}, "solution"),
    ("math", {"problem": "p", "answer": None}, "answer"),
    ("csqa", {"instruction": "q", "label": "F"}, "label"),
    ("obqa", {"instruction": "q", "label": "E"}, "label"),
    ("obqa", {"label": "A"}, "instruction"),
    ("strategyqa", {"instruction": "q", "label": "yes"}, "label"),
    ("strategyqa", {"instruction": "q", "label": 1}, "label"),
]


@pytest.mark.parametrize(("name", "record", "field_name"), BAD_RECORDS)
def test_read_test_record_errors_name_record_and_field(name, record, field_name):
    with pytest.raises(CotlitError) as error:
        get_task(name).read_test_record(record, 41)
    assert (error.value.record, error.value.field) == (41, field_name)
    assert f"record 41: field '{field_name}'" in str(error.value)


def test_read_test_record_rejects_non_objects():
    with pytest.raises(CotlitError, match="record 3: expected a JSON object"):
        get_task("csqa").read_test_record(["q", "A"], 3)


def test_real_svamp_and_gsm8k_test_sets_read(shared_data):
    svamp = get_task("svamp")
    records = json.loads((shared_data / "eval" / "svamp" / "SVAMP_test_300.json").read_text())
    items = [svamp.read_test_record(record, index) for index, record in enumerate(records)]
    assert len(items) == 300 and len({item.id for item in items}) == 300
    gsm8k = get_task("gsm8k")
    lines = (shared_data / "eval" / "gsm8k" / "test.jsonl").read_text().splitlines()
    items = [gsm8k.read_test_record(json.loads(line), index) for index, line in enumerate(lines)]
    assert len(items) == 1319 and len({item.id for item in items}) == 1319
    assert items[0].gold == "18"


@pytest.mark.parametrize("paper_compat", [False, True])
def test_svamp_answer_only_targets_extract_to_themselves(shared_data, paper_compat):
    svamp = get_task("svamp", paper_compat=paper_compat)
    rows = json.loads((shared_data / "train" / "SVAMP_only_ans.json").read_text())
    assert len(rows) == 700
    for row in rows:
        extraction = svamp.extract(row["output"])
        assert extraction.answer == svamp.normalize_gold(row["output"]) == row["output"]
        assert svamp.score(f"The answer is {row['output']}", row["output"]).correct
