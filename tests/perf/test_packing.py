"""Sequence packing: bins respect capacity, packed rows isolate examples, and packed loss equals unpacked loss."""

from __future__ import annotations

import random

import pytest
import torch

from cotlit.data.arithmetic import ArithmeticData
from cotlit.data.collate import Collator
from cotlit.data.packing import IGNORE_INDEX, PackedRows, pack_lengths
from cotlit.data.sampling import LengthGroupedBatchSampler, padding_efficiency


def svamp_like_lengths(n: int, seed: int = 0) -> list[int]:
    """Prompt ~60-140 tokens plus a CoT of 10-400 tokens, like SVAMP levels 1-6 pooled under a chat template."""
    rng = random.Random(seed)
    return [rng.randint(60, 140) + rng.choice([rng.randint(10, 40), rng.randint(40, 150), rng.randint(150, 400)])
            for _ in range(n)]


def test_pack_lengths_places_every_index_once_within_capacity():
    lengths = svamp_like_lengths(500)
    bins = pack_lengths(lengths, 1024)
    assert sorted(i for b in bins for i in b) == list(range(500))
    assert all(sum(lengths[i] for i in b) <= 1024 for b in bins)
    assert bins == pack_lengths(lengths, 1024)
    # best-fit decreasing is within a bin or two of the volume bound here
    assert len(bins) <= -(-sum(lengths) // 1024) + 2
    assert pack_lengths([5, 3, 4, 2, 6], 10) == [[4, 2], [0, 1, 3]]
    with pytest.raises(ValueError, match="longer than the packing capacity"):
        pack_lengths([11], 10)


def test_packing_reaches_95_percent_padding_efficiency_on_svamp_like_lengths():
    lengths = svamp_like_lengths(4200)
    packed = PackedRows([{"input_ids": [0] * n} for n in lengths], 1024).lengths()
    sampler = LengthGroupedBatchSampler(packed, 8, seed=0)
    efficiency = padding_efficiency(packed, sampler.global_batches(0))
    random_batches = LengthGroupedBatchSampler(lengths, 8, seed=0, grouped=False).global_batches(0)
    unpacked = padding_efficiency(lengths, random_batches)
    assert efficiency >= 0.95 > unpacked


@pytest.fixture(scope="module")
def data(tiny_llama):
    from transformers import AutoTokenizer

    dm = ArithmeticData(granularity=3, train_size=24, val_size=4, test_size=4, max_length=1024, batch_size=3,
                        pack=True, tokenizer=AutoTokenizer.from_pretrained(tiny_llama))
    dm.setup("fit")
    return dm


def test_packed_rows_reset_positions_and_never_predict_across_examples(data):
    batch = next(iter(data.train_dataloader()))
    assert set(batch) >= {"input_ids", "labels", "position_ids", "attention_mask"}
    for r in range(batch["input_ids"].shape[0]):
        starts = (batch["position_ids"][r] == 0).nonzero().flatten().tolist()
        assert len(starts) >= 2  # several examples (and maybe a padding segment) share the row
        assert all(batch["labels"][r, s] == IGNORE_INDEX for s in starts)
        real = int(batch["attention_mask"][r].sum())
        assert (batch["labels"][r, real:] == IGNORE_INDEX).all()
    assert len(batch["ids"]) == int(batch["index"].numel()) > batch["input_ids"].shape[0]
    length = {row["index"]: len(row["input_ids"]) for row in data.rows["train"]}
    assert int(batch["attention_mask"].sum()) == sum(length[i] for i in batch["index"].tolist())


def example_token_losses(model, batch, *, packed_mask: bool) -> dict[int, torch.Tensor]:
    """Per-token losses of every example in ``batch`` (packed or not), keyed by example index."""
    inputs = {"input_ids": batch["input_ids"], "use_cache": False}
    if packed_mask:
        inputs["position_ids"] = batch["position_ids"]
    else:
        inputs["attention_mask"] = batch["attention_mask"]
    logits = model(**inputs).logits[:, :-1]
    losses = torch.nn.functional.cross_entropy(logits.transpose(1, 2), batch["labels"][:, 1:], reduction="none")
    width = batch["input_ids"].shape[1]
    starts = batch.get("position_ids", torch.arange(width).expand_as(batch["input_ids"])) == 0
    out, examples = {}, iter(batch["index"].tolist())
    for r in range(batch["input_ids"].shape[0]):
        real = int(batch["attention_mask"][r].sum())
        bounds = [*starts[r, :real].nonzero().flatten().tolist(), real]
        for begin, end in zip(bounds, bounds[1:]):
            labelled = batch["labels"][r, begin + 1 : end] != IGNORE_INDEX
            out[next(examples)] = losses[r, begin : end - 1][labelled]
    return out


@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_packed_and_unpacked_losses_match(data, tiny_llama, attn):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama, attn_implementation=attn).eval()
    with torch.no_grad():  # sharper attention than the random init, so that leaking across examples shows
        for layer in model.model.layers:
            layer.self_attn.q_proj.weight.mul_(8.0)
    rows, pad = data.rows["train"], data.tokenizer.pad_token_id
    packed_items = PackedRows(rows, data.max_length)
    assert len(packed_items) < len(rows)
    packed = Collator(data.examples["train"], pad, train=True, generate=False, packed=True)([*packed_items])
    unpacked = Collator(data.examples["train"], pad, train=True, generate=False)(rows)
    assert packed["real_tokens"] == unpacked["real_tokens"] == int(packed["attention_mask"].sum())
    assert packed["label_tokens"] == unpacked["label_tokens"] == int((packed["labels"][:, 1:] != -100).sum())
    with torch.no_grad():
        expected = example_token_losses(model, unpacked, packed_mask=False)
        got = example_token_losses(model, packed, packed_mask=True)
        leaky = example_token_losses(model, packed, packed_mask=False)  # plain causal mask over the whole row
    assert got.keys() == expected.keys() and len(got) == len(rows)
    total = sum(float(t.sum()) for t in expected.values())
    assert sum(float(t.sum()) for t in got.values()) == pytest.approx(total, rel=1e-4)
    assert max(float((got[i] - expected[i]).abs().max()) for i in got) < 1e-3
    assert max(float((leaky[i] - expected[i]).abs().max()) for i in got) > 1e-2


def test_student_forward_drops_the_mask_for_packed_rows(data, tiny_llama):
    from cotlit.model.student import StudentModule

    student = StudentModule(name_or_path=tiny_llama, finetuning="full")
    student.configure_model()
    student.model.eval()
    batch = next(iter(data.train_dataloader()))
    with torch.no_grad():
        loss = student(batch["input_ids"], batch["attention_mask"], batch["labels"], batch["position_ids"])
        isolated = student.model(input_ids=batch["input_ids"], labels=batch["labels"],
                                 position_ids=batch["position_ids"], use_cache=False).loss
        leaky = student(batch["input_ids"], batch["attention_mask"], batch["labels"])
    assert float(loss) == pytest.approx(float(isolated), rel=1e-6)
    assert float(loss) != pytest.approx(float(leaky), rel=1e-4)


def test_packing_raises_the_reported_padding_efficiency(data):
    packed = data.train_padding_efficiency()
    data.pack = False
    try:
        unpacked = data.train_padding_efficiency(grouped=False)
    finally:
        data.pack = True
    assert packed > unpacked
