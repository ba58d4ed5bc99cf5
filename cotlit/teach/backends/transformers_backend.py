"""A local Hugging Face causal LM as the teacher, with batched generation."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from cotlit.teach.backends.base import Backend, BackendConfig, Completion, Request, Sampling


def render_chat(tokenizer: Any, messages: Sequence[dict[str, str]]) -> str:
    """The prompt text: the tokenizer's chat template when it has one, else plain ``Role: text`` turns."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
    turns = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
    return "\n\n".join([*turns, "Assistant:"])


class TransformersBackend(Backend):
    """Greedy or sampled generation with ``model.generate`` on left-padded batches."""

    name = "transformers"

    def __init__(self, config: BackendConfig, sampling: Sampling) -> None:
        super().__init__(config, sampling)
        import torch

        from cotlit.model.loading import load_causal_lm, load_tokenizer

        self._torch = torch
        self.device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = load_tokenizer(config.model)
        self.tokenizer.padding_side = "left"
        self.model = load_causal_lm(config.model, dtype=config.dtype or "float32").to(self.device).eval()

    def generate_batch(self, requests: Sequence[Request]) -> list[Completion]:
        torch, tokenizer = self._torch, self.tokenizer
        started = time.monotonic()
        prompts = [render_chat(tokenizer, r.messages) for r in requests]
        batch = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        sample = self.sampling.temperature > 0
        if self.sampling.seed is not None:
            torch.manual_seed(self.sampling.seed)
        with torch.inference_mode():
            output = self.model.generate(
                **batch,
                max_new_tokens=self.sampling.max_tokens,
                do_sample=sample,
                **({"temperature": self.sampling.temperature, "top_p": self.sampling.top_p} if sample else {}),
                pad_token_id=tokenizer.pad_token_id,
                eos_token_id=tokenizer.eos_token_id,
            )
        latency = (time.monotonic() - started) / len(requests)
        new = output[:, batch["input_ids"].shape[1] :].tolist()
        prompt_lengths = batch["attention_mask"].sum(dim=1).tolist()
        completions = []
        for tokens, prompt_tokens in zip(new, prompt_lengths):
            stopped = tokenizer.eos_token_id in tokens
            tokens = tokens[: tokens.index(tokenizer.eos_token_id)] if stopped else tokens
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


BACKEND = TransformersBackend
