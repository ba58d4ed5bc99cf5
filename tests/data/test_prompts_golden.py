"""Training rows token by token as LLaMA-Factory builds them from its ``llama3`` / ``gemma`` / ``alpaca`` templates.

LLaMA-Factory encodes one turn as ``format_prefix`` (``{"bos_token"}``: the tokenizer's BOS id, for llama3 and gemma;
nothing for alpaca) + the system and user slots encoded without special tokens, and loss only on the response.
The expected ids below are built from the template text written out by hand (LLaMA-Factory's
``data/template.py``), never from cotlit's renderer. The tokenizer adds its BOS on ``add_special_tokens=True`` (as
the Llama 3 and Gemma tokenizers do), so a BOS added twice would show. Only the prompt part and the end token are
pinned; the text strings alone are pinned in ``test_prompts.py``.
"""

from __future__ import annotations

import pytest
from tokenizers.processors import TemplateProcessing

from cotlit.data.arithmetic import ArithmeticData
from cotlit.model.loading import load_tokenizer

ALPACA_SYSTEM = ("Below is an instruction that describes a task. Write a response that appropriately completes the "
                 "request.\n\n")
TEMPLATES = {
    # name: (BOS of the model's tokenizer or None, system + user slots, end-of-response token or None for EOS)
    "llama3": ("<|begin_of_text|>",
               "<|start_header_id|>user<|end_header_id|>\n\n{q}<|eot_id|>"
               "<|start_header_id|>assistant<|end_header_id|>\n\n",
               "<|eot_id|>"),
    "gemma": ("<bos>", "<start_of_turn>user\n{q}<end_of_turn>\n<start_of_turn>model\n", "<end_of_turn>"),
    "alpaca": ("<s>", ALPACA_SYSTEM + "### Instruction:\n{q}\n\n### Response:\n", None),
}
PREFIXED = {"llama3", "gemma"}
"""Templates whose ``format_prefix`` is ``{"bos_token"}``; alpaca has none, so it starts without a BOS."""
SPECIALS = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<bos>", "<s>",
            "<start_of_turn>", "<end_of_turn>"]


def model_like_tokenizer(path: str, bos: str):
    """The tiny tokenizer with the templates' special tokens, ``bos`` as its BOS, added on ``add_special_tokens``."""
    tokenizer = load_tokenizer(path)
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIALS})
    tokenizer.bos_token = bos
    tokenizer.backend_tokenizer.post_processor = TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A $B", special_tokens=[(bos, tokenizer.bos_token_id)])
    assert tokenizer("x")["input_ids"][0] == tokenizer.bos_token_id  # the tokenizer adds BOS by default
    return tokenizer


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_training_rows_are_llama_factory_encodings(tiny_llama: str, template: str) -> None:
    bos, slots, end = TEMPLATES[template]
    tokenizer = model_like_tokenizer(tiny_llama, bos)
    dm = ArithmeticData(train_size=4, val_size=0, test_size=2, template=template, tokenizer=tokenizer)
    dm.setup("fit")
    end_id = tokenizer.convert_tokens_to_ids(end) if end else tokenizer.eos_token_id
    for split in ("train", "test"):
        for row in dm.rows[split]:
            example = dm.examples[split][row["index"]]
            prefix = [tokenizer.bos_token_id] if template in PREFIXED else []
            text = slots.format(q=dm.question_text(example))
            prompt = prefix + tokenizer(text, add_special_tokens=False)["input_ids"]
            ids = row["input_ids"]
            assert ids[: row["prompt_len"]] == prompt
            assert ids.count(tokenizer.bos_token_id) == len(prefix)  # one BOS where LLaMA-Factory puts one, else none
            if split == "train":
                response = tokenizer(dm.target_text(example), add_special_tokens=False)["input_ids"] + [end_id]
                assert ids[row["prompt_len"] :] == response
