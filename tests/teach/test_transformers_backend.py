"""The transformers backend with a tiny random Llama and a tokenizer trained in the test."""

from __future__ import annotations

import io
import json

import pytest

from cotlit.teach.backends.base import BackendConfig, Request, Sampling, make_backend
from cotlit.teach.questions import DataConfig
from cotlit.teach.runner import TeachConfig, run_teach


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-llama")
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = ["Question: Tom has 3 apples and gets 1 more. How many now? The answer is 4"] * 20
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<pad>", "</s>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="</s>")
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    LlamaForCausalLM(config).save_pretrained(folder)
    return str(folder)


def request(key: str, text: str) -> Request:
    return Request(key=key, prompt_hash=key, messages=({"role": "user", "content": text},), level=1, format="plain")


def test_batched_generation_matches_one_by_one(tiny_llama):
    backend = make_backend(BackendConfig(name="transformers", model=tiny_llama, batch_size=3, device="cpu"),
                           Sampling(max_tokens=6))
    requests = [request(str(i), "Tom has 3 apples" + " and 1 more" * i) for i in range(3)]
    batched = [c for _, c in backend.generate(requests)]
    single = [backend.generate_batch([r])[0] for r in requests]
    assert [c.text for c in batched] == [c.text for c in single]
    assert [c.prompt_tokens for c in batched] == [c.prompt_tokens for c in single]
    assert batched[0].prompt_tokens < batched[2].prompt_tokens
    for c in batched:  # a random model rarely stops: either EOS (stop) or the full budget (length)
        assert (c.finish_reason, c.completion_tokens <= 6) in {("stop", True), ("length", True)}
        assert c.finish_reason == "stop" or c.completion_tokens == 6


def test_run_records_unusable_completions_as_failed_with_reason(tmp_path, tiny_llama):
    questions = tmp_path / "toy_onlyans.json"
    records = [{"instruction": f"Tom has {i} apples. How many?", "output": str(i)} for i in range(3)]
    questions.write_text(json.dumps(records))
    config = TeachConfig(
        task="svamp", teacher="tiny", levels=[2], data=DataConfig(source=str(questions)), out_dir=str(tmp_path / "out"),
        backend=BackendConfig(name="transformers", model=tiny_llama, batch_size=2, device="cpu"),
        sampling=Sampling(max_tokens=5), max_attempts=2, progress=False,
    )
    summary = run_teach(config, log=io.StringIO())
    lines = [json.loads(x) for x in (tmp_path / "out" / "svamp_tiny_level2.provenance.jsonl").read_text().splitlines()]
    assert len(lines) == 3 and summary.tally.sent == 3 and summary.tally.content_retries == 3
    assert all(p["status"] == "failed" and p["reason"] in {"cut-off", "empty", "no-trigger"} for p in lines)
    assert all(p["attempts"] == 2 and p["completion_tokens"] <= 10 and p["prompt_tokens"] > 100 for p in lines)
    assert summary.files[0].rows == 0


def test_the_teacher_loads_in_the_models_own_dtype(tiny_llama, tmp_path):
    import shutil

    import torch
    from transformers import AutoModelForCausalLM

    folder = tmp_path / "bf16"
    shutil.copytree(tiny_llama, folder)
    AutoModelForCausalLM.from_pretrained(tiny_llama, dtype=torch.bfloat16).save_pretrained(folder)
    loaded = {
        dtype: make_backend(BackendConfig(name="transformers", model=str(folder), device="cpu", dtype=dtype),
                            Sampling(max_tokens=2)).model.dtype
        for dtype in ("auto", "float32")
    }
    assert loaded == {"auto": torch.bfloat16, "float32": torch.float32}


def test_generation_stops_at_every_end_token_of_the_generation_config(tiny_llama, tmp_path):
    import shutil

    from transformers import GenerationConfig

    from cotlit.teach.backends.transformers_backend import render_chat

    prompt = request("p", "Tom has 3 apples")
    plain = make_backend(BackendConfig(name="transformers", model=tiny_llama, device="cpu"), Sampling(max_tokens=4))
    batch = plain.tokenizer([render_chat(plain.tokenizer, prompt.messages)], return_tensors="pt",
                            add_special_tokens=False)
    first = int(plain.model(**batch).logits[0, -1].argmax())  # the token greedy decoding emits first
    assert plain.generate_batch([prompt])[0].completion_tokens > 0 and first != plain.tokenizer.eos_token_id

    folder = tmp_path / "two-ends"
    shutil.copytree(tiny_llama, folder)
    GenerationConfig(eos_token_id=[plain.tokenizer.eos_token_id, first]).save_pretrained(folder)
    ends = make_backend(BackendConfig(name="transformers", model=str(folder), device="cpu"), Sampling(max_tokens=4))
    assert ends.end_ids == [plain.tokenizer.eos_token_id, first]
    completion = ends.generate_batch([prompt])[0]
    assert (completion.text, completion.finish_reason, completion.completion_tokens) == ("", "stop", 0)
