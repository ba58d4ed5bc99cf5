"""The paper's data as the paper trained on it: bad records skipped and counted, verbatim targets, entry selection
by names, explicit entries checked, train/test overlap counted, registry files kept inside their folder."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from cotlit.data.loaders import load_examples
from cotlit.data.paper import PaperData
from cotlit.errors import CotlitError
from cotlit.model.loading import load_tokenizer

FIXTURES = Path(__file__).parent / "fixtures" / "paper"


@pytest.fixture(scope="module")
def tokenizer(tiny_llama):
    return load_tokenizer(tiny_llama)


def paper_data(tokenizer, **kwargs) -> PaperData:
    settings = dict(dataset_dir=str(FIXTURES), val_size=0, template="alpaca", tokenizer=tokenizer)
    return PaperData(**(settings | kwargs))


def test_bad_records_are_skipped_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        math = load_examples("math_mix_gemini_level1", dataset_dir=FIXTURES)
    assert [ex.answer for ex in math] == ["5", "8", "1"]
    assert len(math.skipped) == 1 and "record 2" in math.skipped[0] and "'gemini_output'" in math.skipped[0]
    assert "skipped 1 of 4 bad records" in caplog.text
    stqa = load_examples("stqa_llama_level1", dataset_dir=FIXTURES)
    assert len(stqa) == 2 and len(stqa.skipped) == 1 and "record 1" in stqa.skipped[0] and "empty" in stqa.skipped[0]


def test_on_bad_record_error_keeps_the_first_failure() -> None:
    with pytest.raises(CotlitError, match=r"record 2: field 'gemini_output': missing field"):
        load_examples("math_mix_gemini_level1", dataset_dir=FIXTURES, on_bad_record="error")


def test_skipped_records_reach_the_data_module_report(tokenizer) -> None:
    dm = paper_data(tokenizer, task="strategyqa", teacher="llama", granularity=1)
    dm.setup("fit")
    assert len(dm.examples["train"]) == 2
    assert dm.describe()["splits"]["train"]["skipped"] == 1
    assert dm.data_report()["skipped_bad_records"] == {"train": 1}


def test_math_answer_only_and_human_share_a_file_but_select_their_own_column(tokenizer) -> None:
    only = paper_data(tokenizer, task="math", teacher=None, granularity=None)
    human = paper_data(tokenizer, task="math", teacher="human", granularity=None)
    assert only.select_entries() == ["math_onlyans"] and human.select_entries() == ["math_human"]
    assert [ex.output for ex in only.load_splits()["train"]] == ["5", "3"]
    assert human.load_splits()["train"][1].output == "Half of 6 is $\\frac{6}{2}=3$, so 3."


def test_paper_targets_are_the_output_verbatim(tokenizer) -> None:
    only = paper_data(tokenizer, task="math", teacher=None, granularity=None, target_style="paper")
    only.setup("fit")
    assert sorted(only.target_text(ex) for ex in only.examples["train"]) == ["3", "5"]
    renderer = only.renderer
    row, example = only.rows["train"][0], only.examples["train"][0]
    assert row["input_ids"][row["prompt_len"] :] == renderer.encode(example.output) + [renderer.end_id]
    human = paper_data(tokenizer, task="math", teacher="human", granularity=None, target_style="paper")
    human.setup("fit")
    assert sorted(map(human.target_text, human.examples["train"])) == [
        "Half of 6 is $\\frac{6}{2}=3$, so 3.", "We add: $2+3=5$."]
    cotlit = paper_data(tokenizer, task="math", teacher="human", granularity=None)
    cotlit.setup("fit")
    assert "We add: $2+3=5$. The answer is 5" in map(cotlit.target_text, cotlit.examples["train"])
    assert cotlit.target_counts() == {"targets_changed_by_cotlit_style": 2, "targets_without_trigger": 2}


def test_paper_targets_need_a_verbatim_output(tokenizer) -> None:
    from cotlit.data.arithmetic import ArithmeticData

    dm = ArithmeticData(train_size=4, val_size=0, test_size=2, tokenizer=tokenizer, target_style="paper")
    with pytest.raises(CotlitError, match="target_style paper trains on the source's output verbatim"):
        dm.setup("fit")


def test_an_explicit_entry_that_contradicts_the_task_is_an_error(tokenizer) -> None:
    dm = paper_data(tokenizer, task="math", teacher="gemini", entry="GSM8k_ChatGPT_level1")
    with pytest.raises(CotlitError) as err:
        dm.select_entries()
    message = str(err.value)
    assert "'GSM8k_ChatGPT_level1' contradicts" in message
    assert "task=math but the entry is task=gsm8k" in message
    assert "teacher=gemini but the entry is teacher=gpt4o" in message
    assert paper_data(tokenizer, task="gsm8k", teacher="gpt4o", entry="GSM8k_ChatGPT_level1").select_entries()


def test_test_questions_in_training_are_counted(tokenizer, caplog: pytest.LogCaptureFixture) -> None:
    dm = paper_data(tokenizer, task="strategyqa", teacher="human", granularity=None,
                    test_path=str(FIXTURES / "strategyQA_test.json"))
    with caplog.at_level(logging.WARNING):
        dm.setup("fit")
    assert dm.test_overlap == 1 and dm.describe()["test_overlap_with_train"] == 1
    assert "1 of 2 test questions also occur in the training data" in caplog.text


@pytest.mark.parametrize("outside", ["../outside.json", "ABSOLUTE"])
def test_registry_files_outside_their_folder_need_an_explicit_flag(tmp_path: Path, outside: str) -> None:
    registry = tmp_path / "registry"
    registry.mkdir()
    target = tmp_path / "outside.json"
    target.write_text(json.dumps([{"instruction": "Tom has 3 apples. How many?", "output": "The answer is 3"}]))
    name = str(target) if outside == "ABSOLUTE" else outside
    (registry / "dataset_info.json").write_text(json.dumps({"svamp_outside": {"file_name": name}}))
    with pytest.raises(CotlitError, match="names a file outside .*allow_outside_paths: true"):
        load_examples("svamp_outside", task="svamp", dataset_dir=registry)
    assert len(load_examples("svamp_outside", task="svamp", dataset_dir=registry, allow_outside_paths=True)) == 1


def test_render_reports_skipped_records_and_target_counts(tiny_llama, tmp_path: Path, capsys) -> None:
    from cotlit.cli import main

    config = tmp_path / "stqa.yaml"
    config.write_text(json.dumps({
        "model": {"init_args": {"name_or_path": tiny_llama}},
        "data": {"class_path": "cotlit.data.paper.PaperData",
                 "init_args": {"task": "strategyqa", "dataset_dir": str(FIXTURES), "teacher": "llama",
                               "granularity": 1, "val_size": 0, "template": "alpaca"}},
    }))
    assert main(["render", "--config", str(config), "--n", "1"]) == 0
    out = capsys.readouterr().out
    assert "train         2        1        0" in out
    assert "changed from the source's output by the cotlit style: 0" in out


def test_the_data_report_goes_into_the_runs_logged_hyperparameters(tokenizer) -> None:
    from types import SimpleNamespace

    logged = []
    logger = SimpleNamespace(log_hyperparams=logged.append)
    dm = paper_data(tokenizer, task="math", teacher="gemini", granularity=1)
    dm.trainer = SimpleNamespace(world_size=1, global_rank=0, accumulate_grad_batches=1, logger=logger)
    dm.setup("fit")
    report = logged[0]["data_report"]
    assert report["skipped_bad_records"] == {"train": 1} and report["target_style"] == "cotlit"
    assert report["targets_changed_by_cotlit_style"] == 0 and report["test_overlap_with_train"] == 0
