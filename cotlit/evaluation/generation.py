"""Batched greedy generation from left-padded prompts, and where a generated token sequence ends.

A row leaves the batch as soon as it stops (its KV cache rows are dropped), so finished rows cost nothing while
the others go on; ``model.generate`` keeps computing them until the slowest row ends. A row stops at a stop token
(not part of its text) or when its decoded text contains a stop string (cut from its text, its tokens counted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from transformers import DynamicCache


@dataclass(frozen=True)
class Generation:
    """One generated response."""

    text: str
    """The decoded response (special tokens skipped), cut before the first stop string."""
    tokens: int
    """Generated tokens before the stop token (including those that form a stop string)."""
    truncated: bool
    """True when ``max_new_tokens`` ran out before a stop."""


class StopStrings:
    """String stop sequences, looked for in the decoded text of generated tokens."""

    def __init__(self, tokenizer: Any, strings: Sequence[str]) -> None:
        self.tokenizer, self.strings = tokenizer, tuple(strings)
        # a token holds at least one byte and a character at most four: this many tokens cover any stop string
        self.window = 4 * max(map(len, self.strings), default=0) + 2

    def __bool__(self) -> bool:
        return bool(self.strings)

    def hit(self, tokens: Sequence[int]) -> bool:
        """Whether the text of ``tokens`` ends inside a stop string (checked after every new token)."""
        tail = self.tokenizer.decode(tokens[-self.window :], skip_special_tokens=True)
        return any(stop in tail for stop in self.strings)

    def cut(self, text: str) -> str:
        """``text`` before its first stop string."""
        ends = [text.find(stop) for stop in self.strings]
        return text[: min((end for end in ends if end >= 0), default=len(text))]


def finish(tokens: Sequence[int], tokenizer: Any, stop_ids: Sequence[int], stops: StopStrings) -> Generation:
    """The :class:`Generation` of a raw generated sequence: cut at its first stop token or stop string.

    Backends that do not stop rows themselves (``model.generate`` pads finished rows, vLLM may keep the stop token)
    pass their sequences through here, so every backend counts and cuts the same way.
    """
    ended, kept = False, []
    end_ids = set(stop_ids)
    for token in tokens:
        if token in end_ids:
            ended = True
            break
        kept.append(token)
        if stops and stops.hit(kept):
            ended = True
            break
    return _generation(kept, ended, tokenizer, stops)


def _generation(tokens: list[int], ended: bool, tokenizer: Any, stops: StopStrings) -> Generation:
    text = tokenizer.decode(tokens, skip_special_tokens=True)
    return Generation(text=stops.cut(text) if stops else text, tokens=len(tokens), truncated=not ended)


@torch.no_grad()
def generate_batch(
    model: Any,
    tokenizer: Any,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    *,
    max_new_tokens: int,
    stop_ids: Sequence[int],
    stop_strings: Sequence[str] = (),
) -> list[Generation]:
    """Greedy decoding with a KV cache; a row stops (and leaves the batch) at its first stop token or string."""
    cache = DynamicCache(config=model.config)
    end_ids, stops = set(stop_ids), StopStrings(tokenizer, stop_strings)
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
            if token in end_ids:
                ended[row] = True
                continue
            generated[row].append(token)
            if stops and stops.hit(generated[row]):
                ended[row] = True
            else:
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
    return [_generation(tokens, end, tokenizer, stops) for tokens, end in zip(generated, ended)]
