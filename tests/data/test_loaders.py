"""Loaders: file-name conditions, target splitting, ids, every source kind, and the paper's SVAMP files."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from cotlit.core import example_id
from cotlit.data.loaders import (
    Fields,
    Labels,
    count_no_trigger,
    load_examples,
    load_file,
    load_hf,
    load_registry_entry,
    split_target,
)
from cotlit.data.naming import FileCondition, parse_file_name
from cotlit.data.registry import read_registry
from cotlit.errors import CotlitError


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


ROWS = [
    {"instruction": "Tom has 3 apples and buys 2. How many?", "output": "3 + 2 = 5. The answer is 5."},
    {"instruction": "Ann has 9 pens and loses 4. How many?", "output": "9 - 4 = 5.\nThe answer is 5"},
]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("SVAMP_ChatGPT_level3_ranked.json", FileCondition("gpt4o", 3, "plain", task="svamp")),
        ("0_SVAMP_chatgpt_level5RaR.json", FileCondition("gpt4o", 5, "rar", task="svamp")),
        ("0_SVAMP_chatgpt_level3BSM.json", FileCondition("gpt4o", 3, "bsm", task="svamp")),
        ("0_gsm8k_chatgpt_level5SYM.json", FileCondition("gpt4o", 5, "sym", task="gsm8k")),
        ("0_aqua_chatgpt_level5Sym.json", FileCondition("gpt4o", 5, "sym", task="aqua")),
        ("openbookqa_chatgpt_rar_level3_ranked.json", FileCondition("gpt4o", 3, "rar", task="obqa")),
        ("openbookqa_chatgpt_symbolic_level3_ranked.json", FileCondition("gpt4o", 3, "sym", task="obqa")),
        ("openbookQA_chatgpt_level_4_ranked.json", FileCondition("gpt4o", 4, "plain", task="obqa")),
        ("strategyQA_chatgpt_level_6_ranked.json", FileCondition("gpt4o", 6, "plain", task="strategyqa")),
        ("commonsenseQA_chatgpt_level_1_ranked.json", FileCondition("gpt4o", 1, "plain", task="csqa")),
        ("csqa_gemini_level2_ranked.json", FileCondition("gemini", 2, "plain", task="csqa")),
        ("SVAMP_llama_level4_ranked.json", FileCondition("llama", 4, "plain", task="svamp")),
        ("math_mix_level4.json", FileCondition("gpt4o", 4, "plain", task="math")),
        ("math_gemini_level1_ranked.json", FileCondition("gemini", 1, "plain", task="math")),
        ("SVAMP_only_ans.json", FileCondition(None, None, "plain", answer_only=True, task="svamp")),
        ("gsm_train_onlyans.json", FileCondition(None, None, "plain", answer_only=True, task="gsm8k")),
        ("commonsenseQA_onlyans.json", FileCondition(None, None, "plain", answer_only=True, task="csqa")),
        ("svamp_human_annotation.json", FileCondition("human", None, "plain", task="svamp")),
        ("stqa_human_annotation.json", FileCondition("human", None, "plain", task="strategyqa")),
        ("aqua_human.json", FileCondition("human", None, "plain", task="aqua")),
        ("ecqa_train.json", FileCondition("human", None, "plain", task="csqa")),
        ("runs/x/my_cot.jsonl", FileCondition()),
    ],
)
def test_parse_file_name(name: str, expected: FileCondition) -> None:
    assert parse_file_name(name) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("290 / 2 = 145. The answer is 145", ("290 / 2 = 145.", "145")),
        ("so 12 + 3 = 15. The answer is 15.", ("so 12 + 3 = 15.", "15")),
        ("Thus, the answer is: C.", ("Thus,", "C")),
        ("The answer is 3 or so. Check: The answer is 4 ", ("The answer is 3 or so. Check:", "4")),
        ("The answer is True", ("", "True")),
        ("145", None),
        ("no trigger here, 7 apples", None),
    ],
)
def test_split_target(text: str, expected: tuple[str, str] | None) -> None:
    assert split_target(text) == expected


def test_alpaca_json_array(tmp_path: Path) -> None:
    path = write_json(tmp_path / "SVAMP_gemini_level2_ranked.json", ROWS)
    examples = load_examples(path)
    first = examples[0]
    assert (first.task, first.teacher, first.granularity, first.format) == ("svamp", "gemini", 2, "plain")
    assert (first.rationale, first.answer, first.source) == ("3 + 2 = 5.", "5", "SVAMP_gemini_level2_ranked.json#0")
    assert first.id == example_id("svamp", ROWS[0]["instruction"]) and first.choices is None
    assert first.target == "3 + 2 = 5. The answer is 5"
    assert examples[1].source.endswith("#1") and examples[1].rationale == "9 - 4 = 5."
    assert count_no_trigger(examples) == 0


def test_json_lines_and_explicit_labels_win(tmp_path: Path) -> None:
    rows = [{"q": r["instruction"], "cot": r["output"], "label": "5"} for r in ROWS]
    for path in (write_jsonl(tmp_path / "SVAMP_gemini_level2.jsonl", rows), write_jsonl(tmp_path / "lines.json", rows)):
        examples = load_examples(
            path, task="svamp", prompt_field="q", response_field="cot", teacher="ChatGPT", granularity=6, format="bsm"
        )
        assert [(e.teacher, e.granularity, e.format, e.gold) for e in examples] == [("gpt4o", 6, "bsm", "5")] * 2
        assert examples[0].question == rows[0]["q"]


def test_answer_only_and_human(tmp_path: Path) -> None:
    only = load_examples(write_json(tmp_path / "SVAMP_only_ans.json", [{"instruction": "q", "output": "145"}]))
    assert (only[0].rationale, only[0].answer, only[0].teacher, only[0].granularity) == ("", "145", None, None)
    assert only[0].target == "The answer is 145" and count_no_trigger(only) == 0
    rows = [{"instruction": "q", "output": "290.0 / 2.0 = 145.0. The answer is 145.0"}]
    human = load_examples(write_json(tmp_path / "svamp_human_annotation.json", rows))
    assert (human[0].teacher, human[0].granularity, human[0].answer) == ("human", None, "145.0")


def test_no_trigger_is_kept_and_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rows = [*ROWS, {"instruction": "How far?", "output": "It takes 4 hours to drive 60 miles"}]
    with caplog.at_level(logging.WARNING):
        examples = load_examples(write_json(tmp_path / "cot.json", rows), task="svamp")
    last = examples[-1]
    assert (last.rationale, last.answer, last.meta["trigger"]) == ("It takes 4 hours to drive 60 miles", "60", False)
    assert count_no_trigger(examples) == 1
    assert "1 of 3 CoT targets have no 'The answer is'" in caplog.text


def test_repeated_questions_get_stable_suffixes(tmp_path: Path) -> None:
    q = {"instruction": "Same  question?", "output": "x. The answer is 1"}
    other = {"instruction": "Other?", "output": "y. The answer is 2"}
    level1 = load_examples(write_json(tmp_path / "SVAMP_ChatGPT_level1_ranked.json", [q, other, q, q]))
    level5 = load_examples(write_json(tmp_path / "SVAMP_ChatGPT_level5_ranked.json", [q, q, other, q]))
    base = example_id("svamp", "Same question?")
    assert [e.id for e in level1] == [base, example_id("svamp", "Other?"), f"{base}#2", f"{base}#3"]
    assert sorted(e.id for e in level1) == sorted(e.id for e in level5)


def make_registry(tmp_path: Path) -> Path:
    write_json(tmp_path / "SVAMP_ChatGPT_level3_ranked.json", ROWS)
    math_rows = [
        {"problem": "What is $1+1$?", "level": "Level 1", "type": "Algebra", "solution": "$1+1=2$. So 2",
         "output": "2", "chatgpt_output": "Add them: 1 + 1 = 2. The answer is 2"},
    ]
    write_json(tmp_path / "math_mix_level2.json", math_rows)
    write_json(tmp_path / "math_human.json", math_rows)
    write_json(
        tmp_path / "dataset_info.json",
        {
            "SVAMP_ChatGPT_level3": {"file_name": "SVAMP_ChatGPT_level3_ranked.json",
                                     "columns": {"prompt": "instruction", "response": "output"}},
            "svamp_bloom_bsm": {"file_name": "0_SVAMP_chatgpt_level3BSM.json"},
            "math_mix_chatgpt_level2": {"file_name": "math_mix_level2.json",
                                        "columns": {"prompt": "problem", "response": "chatgpt_output"}},
            "math_human": {"file_name": "math_human.json", "columns": {"prompt": "problem", "response": "solution"}},
            "math_onlyans": {"file_name": "math_human.json", "columns": {"prompt": "problem", "response": "output"}},
            "with_query": {"file_name": "math_human.json",
                           "columns": {"prompt": "type", "query": "problem", "response": "chatgpt_output"}},
        },
    )
    return tmp_path


def test_registry_entries(tmp_path: Path) -> None:
    root = make_registry(tmp_path)
    assert set(read_registry(root)) >= {"SVAMP_ChatGPT_level3", "math_onlyans"}
    svamp = load_examples("SVAMP_ChatGPT_level3", dataset_dir=root)
    assert svamp[1].source == "dataset_info:SVAMP_ChatGPT_level3#1"
    assert (svamp[0].teacher, svamp[0].granularity, svamp[0].format) == ("gpt4o", 3, "plain")
    assert svamp[0].id == load_examples(root / "SVAMP_ChatGPT_level3_ranked.json")[0].id
    math = load_registry_entry(root, "math_mix_chatgpt_level2")
    assert (math[0].task, math[0].teacher, math[0].granularity) == ("math", "gpt4o", 2)
    assert (math[0].question, math[0].answer) == ("What is $1+1$?", "2")
    human = load_registry_entry(root, "math_human", Labels())
    assert (human[0].teacher, human[0].rationale) == ("human", "$1+1=2$. So 2")
    only = load_registry_entry(root, "math_onlyans")
    assert (only[0].teacher, only[0].rationale, only[0].answer, only[0].meta["answer_only"]) == (None, "", "2", True)
    assert load_registry_entry(root, "with_query", Labels(teacher="gpt4o"))[0].question == "Algebra\nWhat is $1+1$?"


def test_hugging_face_local_folder(tmp_path: Path) -> None:
    (tmp_path / "svamp_gpt4o_level4").mkdir()
    write_jsonl(tmp_path / "svamp_gpt4o_level4" / "train.jsonl", [{"q": r["instruction"], "a": r["output"]} for r in ROWS])
    examples = load_hf(tmp_path / "svamp_gpt4o_level4", fields=Fields(prompt="q", response="a"))
    assert [(e.task, e.teacher, e.granularity, e.answer) for e in examples] == [("svamp", "gpt4o", 4, "5")] * 2
    assert examples[0].source == f"hf:{tmp_path / 'svamp_gpt4o_level4'}:train#0"
    with pytest.raises(CotlitError, match="split 'test'"):
        load_examples(tmp_path / "svamp_gpt4o_level4", prompt_field="q", response_field="a", split="test")


def test_load_file_rejects_contradicting_labels(tmp_path: Path) -> None:
    path = write_json(tmp_path / "SVAMP_only_ans.json", [{"instruction": "q", "output": "1"}])
    with pytest.raises(CotlitError, match="answer-only data has no teacher"):
        load_file(path, Labels(teacher="gemini"))
    with pytest.raises(CotlitError, match="format 'tree' is not one of"):
        load_file(tmp_path / "SVAMP_only_ans.json", Labels(format="tree"))


BAD_INPUTS = {
    "malformed": ('[{"instruction": "q",\n "output": }]', ["malformed.json", "line 2", "column 12"]),
    "not_object": ('[7, "q"]', ["all 2 records are bad", "record 0", "expected an object"]),
    "missing": ('[{"instruction": "q"}]', ["record 0", "field 'output'", "missing field", "'instruction'"]),
    "mistyped": ('[{"instruction": "q", "output": 3}]', ["record 0", "field 'output'", "expected a string, got int"]),
    "empty": ("  \n", ["empty.json", "file is empty"]),
    "bad_lines": ('{"instruction": "q", "output": "a"}\n{"instruction": \n', ["bad_lines.jsonl", "line 2"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_clear_error(case: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from cotlit.cli import main

    text, needles = BAD_INPUTS[case]
    path = tmp_path / (case + (".jsonl" if case == "bad_lines" else ".json"))
    path.write_text(text, encoding="utf-8")
    assert main(["inspect", str(path), "--task", "svamp"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cotlit inspect: error: ") and err.count("\n") == 1 and "Traceback" not in err
    for needle in needles:
        assert needle in err


def test_bad_bytes_and_registry_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from cotlit.cli import main

    (tmp_path / "latin1.json").write_bytes('[{"instruction": "caf\u00e9"}]'.encode("latin-1"))
    assert main(["inspect", str(tmp_path / "latin1.json")]) == 2
    assert "not UTF-8 text" in capsys.readouterr().err
    root = make_registry(tmp_path)
    assert main(["inspect", "--dataset_dir", str(root), "svamp_bloom_bsm"]) == 2
    err = capsys.readouterr().err
    assert "0_SVAMP_chatgpt_level3BSM.json" in err and "'svamp_bloom_bsm'" in err and "does not exist" in err
    assert main(["inspect", "--dataset_dir", str(root), "SVAMP_ChatGPT_level4"]) == 2
    err = capsys.readouterr().err
    assert "unknown dataset entry 'SVAMP_ChatGPT_level4'" in err and "SVAMP_ChatGPT_level3" in err


SVAMP_FILES = {
    "SVAMP_ChatGPT_level{k}": ("SVAMP_ChatGPT_level{k}_ranked.json", "gpt4o", "plain", range(1, 7)),
    "SVAMP_gemini_level{k}": ("SVAMP_gemini_level{k}_ranked.json", "gemini", "plain", range(1, 7)),
    "SVAMP_llama_level{k}": ("SVAMP_llama_level{k}_ranked.json", "llama", "plain", range(1, 5)),
}


def svamp_cases() -> list[tuple[str, str, str | None, int | None, str]]:
    cases = [
        (key.format(k=k), file.format(k=k), teacher, k, fmt)
        for key, (file, teacher, fmt, levels) in SVAMP_FILES.items()
        for k in levels
    ]
    for fmt, code in (("bsm", "BSM"), ("rar", "RaR"), ("sym", "SYM")):
        cases += [(f"svamp_bloom_{fmt}", f"0_SVAMP_chatgpt_level3{code}.json", "gpt4o", 3, fmt)]
        cases += [(f"svamp_gemma_{fmt}", f"0_SVAMP_chatgpt_level5{code}.json", "gpt4o", 5, fmt)]
    return [*cases, ("SVAMP_only_ans", "SVAMP_only_ans.json", None, None, "plain"),
            ("SVAMP_human", "svamp_human_annotation.json", "human", None, "plain")]


NO_TRIGGER = {
    "0_SVAMP_chatgpt_level5RaR.json": 1,
    "SVAMP_ChatGPT_level2_ranked.json": 1,
    "SVAMP_ChatGPT_level4_ranked.json": 1,
    "SVAMP_ChatGPT_level5_ranked.json": 1,
    "SVAMP_ChatGPT_level6_ranked.json": 2,
    "SVAMP_llama_level3_ranked.json": 1,
}
"""Teacher targets without any ``[Tt]he answer is`` (e.g. ``The answers is 5.``, ``The given answer is 745.``)."""


def test_every_shared_svamp_file_loads(shared_data: Path) -> None:
    train = shared_data / "train"
    cases = svamp_cases()
    assert len(cases) == 24 and {c[1] for c in cases} == {p.name for p in train.glob("*.json")} - {"dataset_info.json"}
    for key, file, teacher, level, fmt in cases:
        by_entry = load_examples(key, dataset_dir=train)
        by_path = load_examples(train / file)
        assert len(by_entry) == len(by_path) in (699, 700), key
        for examples in (by_entry, by_path):
            assert {(e.task, e.teacher, e.granularity, e.format) for e in examples} == {("svamp", teacher, level, fmt)}
        assert [e.id for e in by_entry] == [e.id for e in by_path]
        assert len({e.id for e in by_path}) == len(by_path)
        assert count_no_trigger(by_entry) == count_no_trigger(by_path) == NO_TRIGGER.get(file, 0), key
        assert all(e.answer for e in by_path), key
