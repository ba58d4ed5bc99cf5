"""Batched greedy generation from left-padded prompts, cut at the response's end token.

A row leaves the batch as soon as it emits a stop token (its KV cache is dropped), so finished rows cost nothing
while the others go on; ``model.generate`` would keep computing them until the slowest row ends.
"""

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
    """Greedy decoding with a KV cache; a row stops (and leaves the batch) at its first stop token."""
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    stops = set(stop_ids)
    positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    live = list(range(input_ids.shape[0]))
    generated: list[list[int]] = [[] for _ in live]
    ended = [False] * len(live)
    step_ids = input_ids
    for _ in range(max_new_tokens):
        logits = model(input_ids=step_ids, attention_mask=attention_mask, position_ids=positions, cache=cache,
                       use_cache=True, logits_to_keep=1).logits[:, -1]
        next_ids = logits.argmax(-1)
        keep = []
        for slot, (row, token) in enumerate(zip(live, next_ids.tolist())):
            if token in stops:
                ended[row] = True
            else:
                generated[row].append(token)
                keep.append(slot)
        if not keep:
            break
        if len(keep) < len(live):
            index = torch.tensor(keep, device=next_ids.device)
            cache.batch_select_indices(index)
            attention_mask, positions, next_ids = attention_mask[index], positions[index], next_ids[index]
            live = [live[slot] for slot in keep]
        attention_mask = torch.cat([attention_mask, attention_mask.new_ones(len(live), 1)], dim=-1)
        positions = positions[:, -1:] + 1
        step_ids = next_ids[:, None]
    return [
        Generation(text=tokenizer.decode(tokens, skip_special_tokens=True), tokens=len(tokens), truncated=not end)
        for tokens, end in zip(generated, ended)
    ]
