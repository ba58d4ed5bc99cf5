"""``cotlit inspect`` and the profile statistics behind it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cotlit.cli import main
from cotlit.data.profile import count_steps, distinct_n, summary

ROWS = [
    {"instruction": "Tom has 3 apples and buys 2. How many?",
     "output": "1. Tom has 3 apples. 2. He buys 2 more. 3. So 3 + 2 = 5. The answer is 5"},
    {"instruction": "Ann has 9 pens and loses 4. How many?", "output": "She loses 4 of 9 pens. 9 - 4 = 5. The answer is 5"},
    {"instruction": "Bo has 2 cats and gets 2. How many?", "output": "Two plus two is four"},
]
GOLD = [{"instruction": r["instruction"], "output": g} for r, g in zip(ROWS, ["5", "6", "4"])]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1. Add. 2. Divide. 3. Check.", (3, True)),
        ("Step 1: 17 - 9 = 8\nStep 2: done", (2, True)),
        ("First part.2. Second 3) third", (2, False)),
        ("We have 290.0 / 2.0 = 145.0. So each group has 145. Done!", (3, False)),
        ("Line one\nline two\n\nline three", (3, False)),
        ("", (0, False)),
    ],
)
def test_count_steps(text: str, expected: tuple[int, bool]) -> None:
    assert count_steps(text) == expected


def test_distinct_and_summary() -> None:
    assert distinct_n(["a b a", "b a"], 1) == 2 / 5
    assert distinct_n(["a b a", "b a"], 2) == 2 / 3
    assert distinct_n(["", "x"], 2) is None
    assert summary([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) == {"mean": 5.5, "median": 5.5, "p90": 9.0}


def write(tmp_path: Path, name: str, data: list[dict]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_json_profile(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = write(tmp_path, "SVAMP_gemini_level2_ranked.json", ROWS)
    gold = write(tmp_path, "gold.json", GOLD)
    assert main(["inspect", str(path), "--gold", str(gold), "--json"]) == 0
    profile = json.loads(capsys.readouterr().out)
    assert (profile["n"], profile["task"], profile["teachers"], profile["levels"]) == (3, "svamp", ["gemini"], [2])
    assert (profile["trigger_rate"], profile["no_trigger"], profile["answer_only"]) == (2 / 3, 1, 0)
    assert profile["rationale_words"] == {"mean": 11.0, "median": 11.0, "p90": 17.0}
    assert profile["steps"] == {"mean": 2.0, "median": 2.0, "p90": 3.0}
    assert profile["numbered_step_rate"] == 1 / 3
    assert profile["agreement"] == {"n": 3, "agree": 1, "rate": 1 / 3, "unparsed": 1}
    assert 0 < profile["distinct_1"] < profile["distinct_2"] <= 1
    assert (profile["skipped"], profile["first_skipped"]) == (0, None)


def test_table_and_gold_field_in_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rows = [{**row, "label": gold["output"]} for row, gold in zip(ROWS, GOLD)]
    path = write(tmp_path, "cot.json", rows)
    assert main(["inspect", str(path), "--task", "svamp"]) == 0
    table = capsys.readouterr().out
    assert "records                   3" in table
    assert "answer trigger rate       66.7%  (1 CoT without trigger, 0 answer-only)" in table
    assert "agreement with gold       33.33%  (1/3, 1 unparsed)" in table
    assert "teacher / level / format  None / - / plain" in table
    assert "skipped bad records       0\n" in table


def test_skipped_bad_records_are_counted(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rows = [ROWS[0], {"instruction": "No answer here"}, ROWS[1], "not a record"]
    path = write(tmp_path, "SVAMP_gemini_level2_ranked.json", rows)
    assert main(["inspect", str(path), "--json"]) == 0
    profile = json.loads(capsys.readouterr().out)
    assert (profile["n"], profile["skipped"]) == (2, 2)
    assert "record 1" in profile["first_skipped"] and "output" in profile["first_skipped"]
    assert main(["inspect", str(path)]) == 0
    assert "skipped bad records       2  (the first: " in capsys.readouterr().out


def test_registry_entry_and_gold_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write(tmp_path, "svamp_only_ans.json", GOLD)
    write(tmp_path, "dataset_info.json", [])
    (tmp_path / "dataset_info.json").write_text(json.dumps({"SVAMP_only_ans": {"file_name": "svamp_only_ans.json"}}))
    assert main(["inspect", "--dataset_dir", str(tmp_path), "SVAMP_only_ans", "--json"]) == 0
    profile = json.loads(capsys.readouterr().out)
    assert (profile["answer_only"], profile["teachers"], profile["rationale_words"]["mean"]) == (3, [None], 0.0)
    path = write(tmp_path, "cot.json", ROWS)
    assert main(["inspect", str(path), "--gold", str(tmp_path / "svamp_only_ans.json")]) == 2
    assert "needs a task" in capsys.readouterr().err
    write(tmp_path, "short_gold.json", GOLD[:2])
    assert main(["inspect", str(path), "--task", "svamp", "--gold", str(tmp_path / "short_gold.json")]) == 2
    err = capsys.readouterr().err
    assert "record 2" in err and "no gold answer in" in err and "Bo has 2 cats" in err
