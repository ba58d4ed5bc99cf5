"""``PaperData`` on a registry built in a temp folder (a ``dataset_info.json`` and two tiny alpaca files, named as
the paper names them), so the paper's data path is tested without ``../shared``: entry selection by level,
pooling, the examples read and the rows rendered, and the `cotlit data` command named for missing files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cotlit.data.paper import PaperData
from cotlit.errors import CotlitError
from cotlit.model.loading import load_tokenizer

LEVEL1 = [
    {"instruction": "Tom has 3 apples and buys 2 more. How many apples does he have?",
     "output": "3 + 2 = 5. The answer is 5"},
    {"instruction": "A box holds 4 pens. How many pens are in 2 boxes?", "output": "2 * 4 = 8. The answer is 8."},
]
LEVEL3 = [{"instruction": "Tom has 3 apples and buys 2 more. How many apples does he have?",
           "output": "Tom starts with 3 apples. He buys 2 more, so he has 3 + 2 = 5 apples. The answer is 5"}]
TEST = [{"ID": "chal-1", "Body": "Ann has 6 cakes.", "Question": "She eats 2. How many are left?", "Answer": 4.0}]


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    for name, records in (("SVAMP_ChatGPT_level1_ranked.json", LEVEL1), ("SVAMP_ChatGPT_level3_ranked.json", LEVEL3)):
        (tmp_path / name).write_text(json.dumps(records))
    columns = {"prompt": "instruction", "response": "output"}
    (tmp_path / "dataset_info.json").write_text(json.dumps({
        "SVAMP_ChatGPT_level1": {"file_name": "SVAMP_ChatGPT_level1_ranked.json", "columns": columns},
        "SVAMP_ChatGPT_level3": {"file_name": "SVAMP_ChatGPT_level3_ranked.json", "columns": columns},
    }))
    (tmp_path / "test.json").write_text(json.dumps(TEST))
    return tmp_path


@pytest.fixture(scope="module")
def tokenizer(tiny_llama: str):
    return load_tokenizer(tiny_llama)


def paper(registry: Path, tokenizer, **settings) -> PaperData:
    defaults = dict(task="svamp", teacher="gpt4o", dataset_dir=str(registry), test_path=str(registry / "test.json"),
                    val_size=0, template="alpaca", tokenizer=tokenizer)
    return PaperData(**(defaults | settings))


def test_the_level_selects_its_entry_and_its_examples_are_read_exactly(registry: Path, tokenizer) -> None:
    dm = paper(registry, tokenizer, granularity=1)
    assert dm.select_entries() == ["SVAMP_ChatGPT_level1"]
    dm.setup("fit")
    train = sorted(dm.examples["train"], key=lambda ex: ex.source)
    assert [(ex.source, ex.rationale, ex.answer, ex.teacher, ex.granularity) for ex in train] == [
        ("dataset_info:SVAMP_ChatGPT_level1#0", "3 + 2 = 5.", "5", "gpt4o", 1),
        ("dataset_info:SVAMP_ChatGPT_level1#1", "2 * 4 = 8.", "8", "gpt4o", 1),
    ]
    (test,) = dm.examples["test"]
    assert (test.id, test.question, test.gold) == ("chal-1", "Ann has 6 cakes. She eats 2. How many are left?", "4")
    for row in dm.rows["train"]:
        example = dm.examples["train"][row["index"]]
        target = dm.tokenizer.decode(row["input_ids"][row["prompt_len"] :])
        assert target == f"{example.rationale} The answer is {example.answer}</s>"


def test_pooled_entries_keep_their_sources(registry: Path, tokenizer) -> None:
    dm = paper(registry, tokenizer, granularity=None, entry=["SVAMP_ChatGPT_level1", "SVAMP_ChatGPT_level3"])
    sources = [ex.source for ex in dm.load_splits()["train"]]
    assert sources == ["dataset_info:SVAMP_ChatGPT_level1#0", "dataset_info:SVAMP_ChatGPT_level1#1",
                       "dataset_info:SVAMP_ChatGPT_level3#0"]


def test_a_level_without_an_entry_names_what_matched(registry: Path, tokenizer) -> None:
    with pytest.raises(CotlitError, match=r"0 registry entries in .* match task=svamp teacher=gpt4o granularity=2"):
        paper(registry, tokenizer, granularity=2).select_entries()


def test_missing_paper_files_name_the_command_that_fetches_them(registry: Path, tokenizer, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    with pytest.raises(CotlitError) as missing:
        paper(registry, tokenizer, granularity=1, dataset_dir=str(empty)).select_entries()
    command = f"cotlit data --task svamp --dest {empty} --eval"
    assert str(missing.value) == f"{empty}/dataset_info.json not found: run `{command}`"
    monkeypatch.chdir(empty.parent)   # no data/paper/train here: the defaults point at nothing
    with pytest.raises(CotlitError, match=r"^data/paper/train/dataset_info.json not found: run "
                                          r"`cotlit data --task svamp`$"):
        PaperData(task="svamp", teacher="gpt4o", granularity=1, tokenizer=tokenizer).select_entries()
    with pytest.raises(CotlitError, match=r"missing.json not found: run `cotlit data --task svamp --dest .* --eval`"):
        paper(registry, tokenizer, granularity=1, test_path=str(registry / "missing.json")).load_splits()
    (registry / "SVAMP_ChatGPT_level3_ranked.json").unlink()
    with pytest.raises(CotlitError, match=r"the file of entry 'SVAMP_ChatGPT_level3' is missing: run `cotlit data"):
        paper(registry, tokenizer, granularity=None, entry="SVAMP_ChatGPT_level3").select_entries()
