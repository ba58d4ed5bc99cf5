"""Generation backends on a tiny random Llama: loop == generate (greedy), beams == model.generate per row, stop
strings cut, and vLLM == generate where a GPU and vLLM are present."""

from __future__ import annotations

import pytest
import torch

from cotlit.data.arithmetic import ArithmeticData
from cotlit.evaluation.backends import GenerateBackend, LoopBackend, VLLMBackend
from cotlit.evaluation.decoding import GenerationSettings
from cotlit.evaluation.generation import StopStrings, finish


@pytest.fixture(scope="module")
def student(tiny_llama):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    dm = ArithmeticData(granularity=1, train_size=4, val_size=4, test_size=5, eval_batch_size=5, tokenizer=tokenizer)
    dm.setup("test")
    batch = next(iter(dm.test_dataloader()))
    assert (batch["prompt_attention_mask"] == 0).any()  # prompts of different lengths: left padding is exercised
    return model, tokenizer, batch["prompt_input_ids"], batch["prompt_attention_mask"]


def settings(budget: int, beams: int = 1, stops: tuple[str, ...] = (), backend: str = "loop") -> GenerationSettings:
    return GenerationSettings(max_new_tokens=budget, num_beams=beams, stop_strings=stops, backend=backend)


def common_stop_string(texts: list[str]) -> str:
    """A 3-character piece that occurs in some texts but not all, so rows stop at different steps."""
    for text in texts:
        for start in range(2, len(text) - 3):
            piece = text[start : start + 3]
            if piece.strip() and 0 < sum(piece in t for t in texts) < len(texts):
                return piece
    raise AssertionError("no usable stop string in these generations")


def test_loop_and_generate_give_the_same_greedy_rows_with_and_without_stop_strings(student):
    model, tokenizer, ids, mask = student
    stop_ids = [tokenizer.eos_token_id]
    plain = GenerateBackend().generate(model, tokenizer, ids, mask, settings(16), stop_ids)
    assert plain == LoopBackend().generate(model, tokenizer, ids, mask, settings(16), stop_ids)
    stop = common_stop_string([g.text for g in plain])
    cut = GenerateBackend().generate(model, tokenizer, ids, mask, settings(16, stops=(stop,)), stop_ids)
    assert cut == LoopBackend().generate(model, tokenizer, ids, mask, settings(16, stops=(stop,)), stop_ids)
    for before, after in zip(plain, cut):
        if stop in before.text:
            assert after.text == before.text[: before.text.index(stop)] and not after.truncated
            assert after.tokens < before.tokens
        else:
            assert after == before


def test_stop_strings_end_a_row_at_the_token_that_completes_them(tiny_llama, student):
    _, tokenizer, _, _ = student
    tokens = tokenizer("x = 1 ### Instruction: more text", add_special_tokens=False)["input_ids"]
    stops = StopStrings(tokenizer, ["### Instruction:"])
    generation = finish(tokens, tokenizer, [tokenizer.eos_token_id], stops)
    assert generation.text == "x = 1 " and not generation.truncated
    kept = tokens[: generation.tokens]
    assert "### Instruction:" in tokenizer.decode(kept) and "### Instruction:" not in tokenizer.decode(kept[:-1])
    assert finish(tokens + [tokenizer.eos_token_id], tokenizer, [tokenizer.eos_token_id], StopStrings(tokenizer, []))\
        .tokens == len(tokens)


@pytest.mark.parametrize("with_stop", [False, True])
def test_batched_beam_search_equals_model_generate_per_row(student, with_stop):
    model, tokenizer, ids, mask = student
    stop_ids = [tokenizer.eos_token_id]
    greedy = LoopBackend().generate(model, tokenizer, ids, mask, settings(12), stop_ids)
    stops = (common_stop_string([g.text for g in greedy]),) if with_stop else ()
    batched = GenerateBackend().generate(model, tokenizer, ids, mask, settings(12, beams=3, stops=stops), stop_ids)
    assert batched != greedy  # the beams found other sequences than greedy decoding
    extra = {"stop_strings": list(stops), "tokenizer": tokenizer} if stops else {}
    for row, generation in zip(range(ids.shape[0]), batched):
        keep = mask[row].bool()
        alone = model.generate(input_ids=ids[row][keep][None], attention_mask=torch.ones(1, int(keep.sum())),
                               max_new_tokens=12, num_beams=3, do_sample=False, eos_token_id=stop_ids,
                               pad_token_id=tokenizer.pad_token_id, **extra)[0, int(keep.sum()) :].tolist()
        assert generation == finish(alone, tokenizer, stop_ids, StopStrings(tokenizer, stops))
        assert not any(stop in generation.text for stop in stops)


def test_the_loop_refuses_beam_search(student):
    model, tokenizer, ids, mask = student
    from cotlit.errors import CotlitError

    with pytest.raises(CotlitError, match="num_beams=2 needs the generate or vllm backend"):
        LoopBackend().generate(model, tokenizer, ids, mask, settings(4, beams=2), [tokenizer.eos_token_id])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="vLLM parity needs a CUDA GPU")
@pytest.mark.parametrize("beams", [1, 3])
def test_vllm_gives_the_rows_of_the_generate_backend(student, beams):
    pytest.importorskip("vllm")
    model, tokenizer, ids, mask = student
    model = model.cuda()
    stop_ids = [tokenizer.eos_token_id]
    vllm = VLLMBackend()
    try:
        got = vllm.generate(model, tokenizer, ids, mask, settings(12, beams=beams, backend="vllm"), stop_ids)
    finally:
        vllm.release()
    want = GenerateBackend().generate(model, tokenizer, ids.cuda(), mask.cuda(), settings(12, beams=beams), stop_ids)
    assert [g.text for g in got] == [g.text for g in want]
