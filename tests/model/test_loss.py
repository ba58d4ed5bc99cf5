"""The label-only, chunked loss equals the model's own loss (and its gradients) on tiny random models."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from cotlit.errors import CotlitError
from cotlit.model.loss import IGNORE_INDEX, causal_lm, causal_lm_loss, head_matches_model, shift_labels

VOCAB = 96


def tiny_lm(kind: str = "llama", **config: object) -> torch.nn.Module:
    """A tiny random causal LM in fp32 and train mode (no dropout anywhere)."""
    import transformers

    torch.manual_seed(0)
    shape = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)
    classes = {"llama": ("LlamaConfig", "LlamaForCausalLM"), "gemma2": ("Gemma2Config", "Gemma2ForCausalLM"),
               "cohere": ("CohereConfig", "CohereForCausalLM")}
    config_class, model_class = (getattr(transformers, name) for name in classes[kind])
    return model_class(config_class(**shape, **config)).train()


def with_lora(model: torch.nn.Module, **config: object) -> torch.nn.Module:
    """LoRA with random A and B (B = 0 at the usual init would give A no gradient to compare)."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(1)
    settings = dict(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False) | config
    return get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", **settings))


def padded_batch(lengths: list[int], prompts: list[int], seed: int = 0) -> dict[str, torch.Tensor]:
    """Right-padded rows with labels on the response only, as the collator builds them."""
    generator = torch.Generator().manual_seed(seed)
    width = max(lengths) + 3
    ids = torch.randint(3, VOCAB, (len(lengths), width), generator=generator)
    mask = torch.zeros_like(ids)
    labels = torch.full_like(ids, IGNORE_INDEX)
    for row, (n, p) in enumerate(zip(lengths, prompts)):
        mask[row, :n] = 1
        labels[row, p:n] = ids[row, p:n]
    return {"input_ids": ids * mask, "attention_mask": mask, "labels": labels}


def loss_and_grads(model: torch.nn.Module, batch: dict[str, torch.Tensor], **options: object):
    model.zero_grad(set_to_none=True)
    loss = causal_lm_loss(model, batch["input_ids"], batch.get("attention_mask"), batch["labels"],
                          position_ids=batch.get("position_ids"), **options)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def assert_same(a, b, rtol: float = 1e-5, grad_rtol: float = 1e-5) -> None:
    """Losses within ``rtol``; each gradient within ``grad_rtol`` of the other's norm (elementwise, the summation
    order of two different graphs leaves near-zero entries apart by more than that)."""
    (loss_a, grads_a), (loss_b, grads_b) = a, b
    torch.testing.assert_close(loss_a, loss_b, rtol=rtol, atol=0)
    assert grads_a.keys() == grads_b.keys() and grads_a
    for name in grads_a:
        error = float(torch.linalg.vector_norm(grads_a[name] - grads_b[name]))
        assert error <= grad_rtol * float(torch.linalg.vector_norm(grads_b[name])), (name, error)


BATCH = dict(lengths=[20, 13, 7], prompts=[9, 4, 3])


@pytest.mark.parametrize("chunk_size", [1, 5, 1024])
def test_label_only_chunked_loss_and_lora_gradients_equal_full_logits(chunk_size):
    model = with_lora(tiny_lm())
    batch = padded_batch(**BATCH)
    full = loss_and_grads(model, batch, path="full_logits")
    assert all("lora_" in name for name in full[1])
    assert_same(loss_and_grads(model, batch, chunk_size=chunk_size), full)


@pytest.mark.parametrize("tied", [True, False])
def test_full_fine_tuning_gradients_equal_with_tied_or_separate_head(tied):
    model = tiny_lm(tie_word_embeddings=tied)
    batch = padded_batch(**BATCH, seed=1)
    assert_same(loss_and_grads(model, batch, chunk_size=4), loss_and_grads(model, batch, path="full_logits"))


def test_lora_on_the_head_itself_keeps_the_loss_and_gradients():
    model = with_lora(tiny_lm(), target_modules=["q_proj", "lm_head"])
    assert type(causal_lm(model).get_output_embeddings()) is not torch.nn.Linear
    batch = padded_batch(**BATCH, seed=2)
    assert_same(loss_and_grads(model, batch, chunk_size=8), loss_and_grads(model, batch, path="full_logits"))


def test_all_linear_leaves_the_head_a_plain_linear_layer():
    """peft's ``all-linear`` excludes the output layer, so the default LoRA keeps Liger's fused path possible."""
    assert type(causal_lm(with_lora(tiny_lm())).get_output_embeddings()) is torch.nn.Linear


def test_right_padded_rows_need_no_attention_mask():
    """The padding follows every labelled position, so the causal mask alone keeps it out."""
    model = with_lora(tiny_lm())
    batch = padded_batch(**BATCH, seed=8)
    unmasked = {k: v for k, v in batch.items() if k != "attention_mask"}
    assert_same(loss_and_grads(model, unmasked), loss_and_grads(model, batch, path="full_logits"))


def test_host_label_count_gives_the_same_loss_as_searching_the_device():
    model = with_lora(tiny_lm())
    batch = padded_batch(**BATCH, seed=3)
    count = int((shift_labels(batch["labels"]) != IGNORE_INDEX).sum())
    assert_same(loss_and_grads(model, batch, label_count=count), loss_and_grads(model, batch))


def test_packed_rows_give_the_unpacked_loss():
    """Two examples in one row (position ids restart, no mask) against the same two as padded rows."""
    model = with_lora(tiny_lm())
    unpacked = padded_batch([11, 8], [4, 3], seed=4)
    a, b = (unpacked["input_ids"][i, :n] for i, n in ((0, 11), (1, 8)))
    labels = torch.full((1, 19), IGNORE_INDEX)
    labels[0, 4:11], labels[0, 14:19] = a[4:], b[3:]
    packed = {"input_ids": torch.cat([a, b]).unsqueeze(0), "labels": labels,
              "position_ids": torch.cat([torch.arange(11), torch.arange(8)]).unsqueeze(0)}
    reference = loss_and_grads(model, unpacked, path="full_logits")
    assert_same(loss_and_grads(model, packed, path="full_logits"), reference, rtol=1e-4, grad_rtol=1e-4)
    assert_same(loss_and_grads(model, packed, chunk_size=3), loss_and_grads(model, packed, path="full_logits"))


def test_gemma2_final_logit_softcapping_is_applied():
    model = tiny_lm("gemma2", head_dim=8, final_logit_softcapping=2.0, tie_word_embeddings=False,
                    attn_implementation="eager")
    with torch.no_grad():
        model.lm_head.weight *= 100  # logits well beyond the cap, so capping changes the loss
    assert head_matches_model(model)
    batch = padded_batch(**BATCH, seed=5)
    capped = loss_and_grads(model, batch, chunk_size=6)
    model.config.final_logit_softcapping = None
    assert not torch.isclose(capped[0], loss_and_grads(model, batch)[0], rtol=1e-2)
    model.config.final_logit_softcapping = 2.0
    assert_same(capped, loss_and_grads(model, batch, path="full_logits"))


def test_an_unknown_logit_transform_is_detected():
    """Cohere scales its logits: the probe sees that the head alone does not give the model's logits."""
    assert head_matches_model(tiny_lm("cohere", logit_scale=1.0))
    assert not head_matches_model(tiny_lm("cohere", logit_scale=0.5))


@pytest.mark.skipif(importlib.util.find_spec("liger_kernel") is not None, reason="liger-kernel is installed")
def test_liger_without_the_package_fails_in_one_line():
    batch = padded_batch(**BATCH)
    with pytest.raises(CotlitError, match=r"cotlit\[liger\].*No module named 'liger_kernel'"):
        causal_lm_loss(tiny_lm(), batch["input_ids"], batch["attention_mask"], batch["labels"], path="liger")


@pytest.mark.parametrize("variant", ["use_dora", "use_rslora"])
def test_student_lora_variants_build_and_keep_the_loss(tiny_llama, variant):
    from cotlit.model.student import StudentModule

    student = StudentModule(name_or_path=tiny_llama, **{variant: True})
    student.configure_model()
    config = student.model.peft_config["default"]
    assert getattr(config, variant) and config.use_dora + config.use_rslora == 1
    magnitudes = [n for n, _ in student.model.named_parameters() if "lora_magnitude_vector" in n]
    assert bool(magnitudes) == (variant == "use_dora")
    assert student.loss_path == "chunked"
    batch = padded_batch(**BATCH, seed=6)
    student.loss_path = "full_logits"
    full = student(batch["input_ids"], batch["attention_mask"], batch["labels"])
    student.loss_path = "chunked"
    torch.testing.assert_close(student(batch["input_ids"], batch["attention_mask"], batch["labels"]), full,
                               rtol=1e-5, atol=0)


def qlora_student(tiny_llama: str) -> torch.nn.Module:
    """A QLoRA student's model in train mode, after one eval-mode forward without gradients (as validation runs),
    with random LoRA B (B = 0 at init would leave A without a gradient to compare)."""
    from cotlit.model.student import StudentModule

    student = StudentModule(name_or_path=tiny_llama, finetuning="qlora")
    student.configure_model()
    model = student.model
    batch = padded_batch(**BATCH, seed=9)
    model.eval()
    with torch.no_grad():
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    torch.manual_seed(2)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(std=0.05)
    return model.train()


def test_qlora_student_label_only_loss_and_gradients_equal_full_logits(tiny_llama):
    """QLoRA, the configuration meant to be the small one: the 4-bit base leaves the loss and gradients as they are."""
    model = qlora_student(tiny_llama)
    batch = padded_batch(**BATCH, seed=8)
    full = loss_and_grads(model, batch, path="full_logits")
    assert {n.split("lora_")[1][0] for n in full[1]} == {"A", "B"}
    assert_same(loss_and_grads(model, batch, chunk_size=5), full)


def test_qlora_gradients_flow_through_the_4bit_base_after_an_eval_forward(tiny_llama):
    """The gradients equal LoRA's on the dequantised weights, also after validation ran (bitsandbytes 0.50 on an
    AVX512-BF16 CPU then switched to a kernel without backward: 40-75% off in the first layer)."""
    import bitsandbytes as bnb

    model = qlora_student(tiny_llama)
    batch = padded_batch(**BATCH, seed=8)
    quantized = loss_and_grads(model, batch)
    layers = [m for m in model.modules() if isinstance(getattr(m, "base_layer", None), bnb.nn.Linear4bit)]
    assert layers
    for layer in layers:
        weight = layer.base_layer.weight
        plain = torch.nn.Linear(weight.quant_state.shape[1], weight.quant_state.shape[0], bias=False)
        plain.weight.data = bnb.functional.dequantize_4bit(weight.data, weight.quant_state).to(torch.float32)
        layer.base_layer = plain.requires_grad_(False)
    assert_same(quantized, loss_and_grads(model, batch), grad_rtol=1e-4)


@pytest.mark.slow
def test_smollm2_label_only_loss_equals_its_own_loss(smollm2):
    from cotlit.model.loading import load_causal_lm

    model = with_lora(load_causal_lm(smollm2), r=8, lora_alpha=16)
    assert head_matches_model(model)
    batch = padded_batch(lengths=[40, 25], prompts=[22, 10], seed=7)
    # 30 layers of fp32 backward through two graphs (SDPA's causal kernel without a mask against its masked one)
    # leave the first layers' gradients ~1e-5 apart
    assert_same(loss_and_grads(model, batch, chunk_size=16), loss_and_grads(model, batch, path="full_logits"),
                grad_rtol=1e-4)
