"""Fixtures shared by the data tests."""

from __future__ import annotations

import pytest

from cotlit.model.loading import load_tokenizer

TEMPLATE_TOKENS = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<bos>",
                   "<start_of_turn>", "<end_of_turn>"]


@pytest.fixture(scope="module")
def tokenizer(tiny_chat_llama):
    """The tiny tokenizer, knowing the special tokens of every named template (modules may define their own)."""
    tok = load_tokenizer(tiny_chat_llama)
    tok.add_special_tokens({"additional_special_tokens": TEMPLATE_TOKENS})
    return tok
