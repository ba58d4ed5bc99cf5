"""The CoT DataModule: rendering, labels, overflow policy, batching and the plugins."""

from __future__ import annotations

import statistics

import pytest

from cotlit.data.arithmetic import ArithmeticData
from cotlit.data.collate import IGNORE_INDEX, Collator
from cotlit.core import CoTExample
from cotlit.data.json_data import JsonData
from cotlit.data.prompts import STYLES, Renderer
from cotlit.data.sampling import EvalBatchSampler, LengthGroupedBatchSampler, padding_efficiency
from cotlit.errors import CotlitError
from cotlit.model.loading import load_tokenizer


def arithmetic(tokenizer, **kwargs) -> ArithmeticData:
    settings = dict(train_size=40, val_size=8, test_size=10, batch_size=4, tokenizer=tokenizer)
    settings.update(kwargs)
    dm = ArithmeticData(**settings)
    dm.setup("fit")
    return dm


@pytest.mark.parametrize("template", ["auto", *STYLES])
def test_eval_prompt_is_exactly_the_prefix_of_the_training_text(tokenizer, template):
    dm = arithmetic(tokenizer, template=template)
    renderer = dm.renderer
    for example, row in zip(dm.examples["train"], dm.rows["train"]):
        prompt_ids = renderer.encode(renderer.prompt(dm.question_text(example)))
        assert row["input_ids"][: row["prompt_len"]] == prompt_ids
        assert row["input_ids"][row["prompt_len"] :] == renderer.encode(example.target) + [renderer.end_id]
    # the test split holds the same prompts without targets
    test_example, test_row = dm.examples["test"][0], dm.rows["test"][0]
    assert test_row["input_ids"] == renderer.encode(renderer.prompt(dm.question_text(test_example)))


def test_labels_cover_exactly_the_target_tokens(tokenizer):
    dm = arithmetic(tokenizer)
    rows = dm.rows["train"][:4]
    batch = Collator(dm.examples["train"], tokenizer.pad_token_id, train=True, generate=True)(rows)
    assert batch["input_ids"].shape[1] % 8 == 0
    for i, row in enumerate(rows):
        n, p = len(row["input_ids"]), row["prompt_len"]
        labels = batch["labels"][i].tolist()
        assert labels[:p] == [IGNORE_INDEX] * p
        assert labels[p:n] == row["input_ids"][p:]
        assert set(labels[n:]) <= {IGNORE_INDEX}
        assert batch["attention_mask"][i].sum().item() == n
        # generation prompts are left-padded and end with the prompt
        prompt = batch["prompt_input_ids"][i].tolist()
        assert prompt[len(prompt) - p :] == row["input_ids"][:p]
        assert batch["prompt_attention_mask"][i].sum().item() == p
    assert batch["ids"] == [dm.examples["train"][r["index"]].id for r in rows]
    assert batch["real_tokens"] == int(batch["attention_mask"].sum()) == sum(len(r["input_ids"]) for r in rows)
    assert batch["label_tokens"] == int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())


def test_the_end_token_ends_every_target_even_when_it_is_the_pad_token(tokenizer):
    tokenizer_copy = load_tokenizer(tokenizer.name_or_path)  # a fresh copy: this test changes its pad token
    tokenizer_copy.pad_token = tokenizer_copy.eos_token
    dm = arithmetic(tokenizer_copy, template="alpaca")
    rows = dm.rows["train"][:3]
    batch = Collator(dm.examples["train"], tokenizer_copy.pad_token_id, train=True, generate=False)(rows)
    for i, row in enumerate(rows):
        labels = batch["labels"][i].tolist()
        assert labels[len(row["input_ids"]) - 1] == tokenizer_copy.eos_token_id


def test_overflow_drop_counts_and_keeps_every_answer(tokenizer):
    full = arithmetic(tokenizer, granularity=6)
    limit = sorted(full.lengths("train"))[len(full.rows["train"]) // 2]
    dm = arithmetic(tokenizer, granularity=6, max_length=limit)
    assert dm.dropped["train"] == sum(n > limit for n in full.lengths("train")) > 0
    for example, row in zip(dm.examples["train"], dm.rows["train"]):
        assert len(row["input_ids"]) <= limit
        text = tokenizer.decode(row["input_ids"][row["prompt_len"] :], skip_special_tokens=True)
        assert text.strip().endswith(f"The answer is {dm.examples['train'][row['index']].answer}")


def test_overflow_error_and_all_overflowing_fail_with_the_length_needed(tokenizer):
    with pytest.raises(CotlitError, match=r"examples are longer than max_length=40 tokens \(the longest needs \d+\)"):
        arithmetic(tokenizer, granularity=6, max_length=40, on_overflow="error")
    with pytest.raises(CotlitError, match=r"40 of 40 train examples are longer"):
        arithmetic(tokenizer, granularity=6, max_length=40, on_overflow="drop")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"granularity": 7}, "valid levels: [1, 2, 3, 4, 5, 6]"),
        ({"format": "tree"}, "valid formats: plain, bsm, rar, sym"),
        ({"task": "sat"}, "valid tasks:"),
        ({"template": "vicuna"}, "valid templates: auto, chat, llama3, gemma, alpaca"),
    ],
)
def test_unknown_names_list_the_valid_ones(tokenizer, kwargs, message):
    with pytest.raises(CotlitError) as err:
        arithmetic(tokenizer, **kwargs)
    assert message in str(err.value)


@pytest.mark.parametrize("world", [2, 3])
def test_train_sampler_gives_disjoint_equal_shards(world):
    lengths = [(i * 37) % 101 + 5 for i in range(203)]
    shards = [list(LengthGroupedBatchSampler(lengths, 8, seed=3, rank=r, world_size=world)) for r in range(world)]
    assert len({len(s) for s in shards}) == 1
    assert all(len(s) == len(LengthGroupedBatchSampler(lengths, 8, rank=r, world_size=world))
               for r, s in enumerate(shards))
    seen = [i for shard in shards for batch in shard for i in batch]
    assert len(seen) == len(set(seen))
    batches = -(-len(lengths) // 8)
    assert len(seen) >= len(lengths) - (batches % world) * 8
    # a new epoch reshuffles
    sampler = LengthGroupedBatchSampler(lengths, 8, seed=3)
    assert list(sampler) != list(sampler)


@pytest.mark.parametrize("world", [1, 2, 3])
def test_eval_sampler_scores_every_example_with_the_same_batch_mates(world):
    lengths = [(i * 13) % 29 + 1 for i in range(23)]
    single = {tuple(b) for b in EvalBatchSampler(lengths, 4)}
    shards = [list(EvalBatchSampler(lengths, 4, rank=r, world_size=world)) for r in range(world)]
    assert len({len(s) for s in shards}) == 1
    assert {tuple(b) for s in shards for b in s} == single
    assert sorted({i for s in shards for b in s for i in b}) == list(range(23))


def test_length_grouping_beats_random_batching():
    lengths = [(i * 7919) % 400 + 20 for i in range(2000)]
    grouped = LengthGroupedBatchSampler(lengths, 16, grouped=True).global_batches(0)
    random_ = LengthGroupedBatchSampler(lengths, 16, grouped=False).global_batches(0)
    assert padding_efficiency(lengths, grouped) > 0.95 > padding_efficiency(lengths, random_)


def test_arithmetic_levels_render_the_same_problem_in_growing_detail(tokenizer):
    medians, questions = [], []
    for level in range(1, 7):
        dm = arithmetic(tokenizer, granularity=level, train_size=60)
        medians.append(statistics.median(len(r["input_ids"]) - r["prompt_len"] for r in dm.rows["train"]))
        questions.append([ex.question for ex in dm.examples["train"]])
        assert all(ex.target.endswith(f"The answer is {ex.gold}") for ex in dm.examples["train"])
    assert medians == sorted(set(medians))
    assert all(q == questions[0] for q in questions)


def test_describe_reports_sizes_lengths_and_padding(tokenizer):
    info = arithmetic(tokenizer).describe()
    assert info["splits"]["train"]["examples"] == 40 and info["splits"]["test"]["examples"] == 10
    assert 0 < info["padding_efficiency_random"] <= info["padding_efficiency_grouped"] <= 1
    assert info["renderer"]["template"] == "chat"


def test_json_data_reads_a_file_with_a_field_mapping(tokenizer, tmp_path):
    import json

    records = [{"q": f"Tom has {i} apples and gets 2 more. How many?", "cot": f"{i} + 2 = {i + 2}. The answer is {i + 2}"}
               for i in range(30)]
    (tmp_path / "cot.json").write_text(json.dumps(records))
    dm = JsonData(task="svamp", train_path=str(tmp_path / "cot.json"), prompt_field="q", response_field="cot",
                  val_size=5, teacher="gpt4o", granularity=2, tokenizer=tokenizer)
    dm.setup("fit")
    assert len(dm.examples["train"]) == 25 and len(dm.examples["val"]) == 5
    example: CoTExample = dm.examples["train"][0]
    assert example.teacher == "gpt4o" and example.granularity == 2 and example.rationale.endswith("= " + example.answer + ".")


def test_renderer_rejects_an_end_token_the_tokenizer_does_not_know(tiny_chat_llama):
    with pytest.raises(CotlitError, match="unknown to this tokenizer"):
        Renderer(load_tokenizer(tiny_chat_llama), "llama3", "svamp")


def test_paper_data_selects_the_file_by_teacher_level_and_format(tokenizer, shared_data):
    from cotlit.data.paper import PaperData

    common = dict(task="svamp", dataset_dir=str(shared_data / "train"), tokenizer=tokenizer, max_length=4096,
                  test_path=str(shared_data / "eval/svamp/SVAMP_test_300.json"))
    assert PaperData(teacher="gpt4o", granularity=3, **common).select_entry() == "SVAMP_ChatGPT_level3"
    assert PaperData(teacher="gpt4o", granularity=5, format="rar", **common).select_entry() == "svamp_gemma_rar"
    assert PaperData(teacher=None, granularity=None, **common).select_entry() == "SVAMP_only_ans"
    assert PaperData(teacher="human", granularity=None, **common).select_entry() == "SVAMP_human"
    dm = PaperData(teacher="llama", granularity=2, **common)
    dm.setup("fit")
    assert len(dm.examples["train"]) + len(dm.examples["val"]) == 700
    assert len(dm.examples["test"]) == 300
    assert {ex.teacher for ex in dm.examples["train"]} == {"llama"}
    with pytest.raises(CotlitError, match="0 registry entries"):
        PaperData(teacher="llama", granularity=6, **common).select_entry()
