"""Batched greedy generation that drops finished rows gives what ``model.generate`` gives, row by row."""

from __future__ import annotations

from collections import Counter

import torch

from cotlit.data.arithmetic import ArithmeticData
from cotlit.evaluation.generation import generate_batch


def test_rows_that_stop_early_leave_the_batch_without_changing_any_output(tiny_llama):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    model = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    dm = ArithmeticData(granularity=1, train_size=4, val_size=4, test_size=6, eval_batch_size=6, tokenizer=tokenizer)
    dm.setup("test")
    batch = next(iter(dm.test_dataloader()))
    ids, mask = batch["prompt_input_ids"], batch["prompt_attention_mask"]
    assert (mask == 0).any()  # prompts of different lengths: left padding is exercised
    budget = 24
    reference = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=budget, do_sample=False,
                               pad_token_id=tokenizer.pad_token_id)[:, ids.shape[1] :].tolist()
    # stop on tokens that some rows emit and others do not, so rows finish at different steps
    counts = Counter(token for row in reference for token in set(row))
    stop_ids = [token for token, n in counts.items() if 0 < n < len(reference)][:2]
    assert stop_ids
    generations = generate_batch(model, tokenizer, ids, mask, max_new_tokens=budget, stop_ids=stop_ids)
    for row, generation in zip(reference, generations):
        end = next((i for i, token in enumerate(row) if token in stop_ids), None)
        kept = row if end is None else row[:end]
        assert generation.tokens == len(kept) and generation.truncated == (end is None)
        assert generation.text == tokenizer.decode(kept, skip_special_tokens=True)
    assert {g.truncated for g in generations} == {True, False}
    assert len({g.tokens for g in generations}) > 2


def test_a_batch_of_one_matches_its_row_in_a_batch(tiny_llama):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama)
    model = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    dm = ArithmeticData(granularity=1, train_size=4, val_size=4, test_size=3, eval_batch_size=3, tokenizer=tokenizer)
    dm.setup("test")
    batch = next(iter(dm.test_dataloader()))
    together = generate_batch(model, tokenizer, batch["prompt_input_ids"], batch["prompt_attention_mask"],
                              max_new_tokens=10, stop_ids=[tokenizer.eos_token_id])
    for i, generation in enumerate(together):
        keep = batch["prompt_attention_mask"][i].bool()
        alone = generate_batch(model, tokenizer, batch["prompt_input_ids"][i][keep][None],
                               torch.ones(1, int(keep.sum()), dtype=torch.long), max_new_tokens=10,
                               stop_ids=[tokenizer.eos_token_id])[0]
        assert alone == generation
