"""A local Hugging Face causal LM as the teacher, with batched generation."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from cotlit.errors import CotlitError
from cotlit.model.loading import load_causal_lm, load_tokenizer, resolve_student
from cotlit.teach.backends.base import Backend, BackendConfig, Completion, Request, Sampling


def render_chat(tokenizer: Any, messages: Sequence[dict[str, str]]) -> str:
    """The prompt text: the tokenizer's chat template when it has one, else plain ``Role: text`` turns."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
    turns = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
    return "\n\n".join([*turns, "Assistant:"])


def saved_dtype(name_or_path: str) -> str:
    """The dtype a model was saved in, from its config (``float32`` when the config names none)."""
    from transformers import AutoConfig

    dtype = getattr(AutoConfig.from_pretrained(resolve_student(name_or_path)), "dtype", None)
    return str(dtype).removeprefix("torch.") if dtype else "float32"


def end_token_ids(generation_eos: int | list[int] | None, tokenizer_eos: int) -> list[int]:
    """Every token that ends a completion: the generation config's (one id or a list, e.g. Llama 3's
    ``<|end_of_text|>`` and ``<|eot_id|>``), then the tokenizer's EOS when not among them."""
    if generation_eos is None:
        ids = []
    else:
        ids = [generation_eos] if isinstance(generation_eos, int) else list(generation_eos)
    return ids if tokenizer_eos in ids else [*ids, tokenizer_eos]


class TransformersBackend(Backend):
    """Greedy or sampled generation with ``model.generate`` on left-padded batches, in the model's own dtype
    (``backend.dtype: auto``) and stopping at any of its end tokens."""

    name = "transformers"

    def __init__(self, config: BackendConfig, sampling: Sampling, **context: Any) -> None:
        super().__init__(config, sampling, **context)
        import torch

        self._torch = torch
        self.device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = load_tokenizer(config.model)
        self.tokenizer.padding_side = "left"
        dtype = saved_dtype(config.model) if config.dtype == "auto" else config.dtype
        if not isinstance(getattr(torch, dtype, None), torch.dtype):
            message = f"{dtype!r} is not a torch dtype (auto, bfloat16, float16, float32)"
            raise CotlitError(message, field="backend.dtype")
        self.model = load_causal_lm(config.model, dtype=dtype).to(self.device).eval()
        self.end_ids = end_token_ids(self.model.generation_config.eos_token_id, self.tokenizer.eos_token_id)

    def generate_batch(self, requests: Sequence[Request]) -> list[Completion]:
        torch, tokenizer = self._torch, self.tokenizer
        started = time.monotonic()
        prompts = [render_chat(tokenizer, r.messages) for r in requests]
        batch = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        if self.sampling.seed is not None:
            torch.manual_seed(self.sampling.seed)
        with torch.inference_mode():
            output = self.model.generate(
                **batch,
                max_new_tokens=self.sampling.max_tokens,
                **self._decoding(),
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=self.end_ids,
            )
        latency = (time.monotonic() - started) / len(requests)
        new = output[:, batch["input_ids"].shape[1] :].tolist()
        prompt_lengths = batch["attention_mask"].sum(dim=1).tolist()
        completions = []
        for tokens, prompt_tokens in zip(new, prompt_lengths):
            end = next((i for i, token in enumerate(tokens) if token in self.end_ids), None)
            stopped = end is not None
            tokens = tokens[:end] if stopped else tokens
            completions.append(
                Completion(
                    text=tokenizer.decode(tokens, skip_special_tokens=True),
                    finish_reason="stop" if stopped else "length",
                    prompt_tokens=int(prompt_tokens),
                    completion_tokens=len(tokens),
                    latency_s=latency,
                )
            )
        return completions

    def _decoding(self) -> dict[str, Any]:
        """Greedy at temperature 0, sampling above; a null temperature keeps the model's generation config."""
        temperature, top_p = self.sampling.temperature, self.sampling.top_p
        if temperature is None:
            return {}
        if temperature == 0:
            return {"do_sample": False}
        return {"do_sample": True, "temperature": temperature, **({"top_p": top_p} if top_p is not None else {})}


BACKEND = TransformersBackend
