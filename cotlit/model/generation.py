"""Batched greedy generation from left-padded prompts, cut at the response's end token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Generation:
    """One generated response."""

    text: str
    tokens: int
    """Generated tokens before the end token."""
    truncated: bool
    """True when ``max_new_tokens`` ran out before an end token."""


@torch.no_grad()
def generate_batch(
    model: Any,
    tokenizer: Any,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    *,
    max_new_tokens: int,
    stop_ids: list[int],
) -> list[Generation]:
    """Greedy decoding with KV cache; finished rows stop early (the batch ends when every row has stopped)."""
    output = model.generate(
        input_ids=input_ids,
        attention_mask=attention_mask,
        max_new_tokens=max_new_tokens,
        do_sample=False,
        num_beams=1,
        use_cache=True,
        eos_token_id=stop_ids,
        pad_token_id=tokenizer.pad_token_id,
    )
    new_tokens = output[:, input_ids.shape[1] :].tolist()
    results = []
    for row in new_tokens:
        end = next((i for i, token in enumerate(row) if token in stop_ids), None)
        content = row if end is None else row[:end]
        results.append(
            Generation(
                text=tokenizer.decode(content, skip_special_tokens=True),
                tokens=len(content),
                truncated=end is None,
            )
        )
    return results
