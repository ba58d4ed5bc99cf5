"""The training step keeps an accelerator busy: nothing in cotlit's step or in Lightning's loop, progress bar and
logging between steps reads a value back from the device (transformers' mask builder reads one per forward, to see
whether the rows are packed); the attention kernel is selectable."""

from __future__ import annotations

import contextlib
import sys
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch

from cotlit.errors import CotlitError
from cotlit.model.loss import IGNORE_INDEX
from cotlit.model.student import StudentModule

READBACKS = ("item", "tolist", "cpu", "numpy", "nonzero", "__bool__", "__float__", "__int__")
"""Tensor methods that wait for the device (``nonzero``: its size is read back)."""
MASK_BUILDER = str(Path("transformers", "masking_utils.py"))
"""transformers' attention-mask builder: it reads back whether position ids restart (packed rows) or the padding
mask is all ones, once per forward, before the first layer."""


def batches(vocab: int, steps: int) -> list[dict[str, Any]]:
    """Right-padded training batches as the collator builds them, with their host-side token counts."""
    generator = torch.Generator().manual_seed(0)
    out = []
    for _ in range(steps):
        lengths, prompts = [24, 17, 9, 30], [10, 6, 4, 12]
        ids = torch.randint(3, vocab, (4, 32), generator=generator)
        mask, labels = torch.zeros_like(ids), torch.full_like(ids, IGNORE_INDEX)
        for row, (n, p) in enumerate(zip(lengths, prompts)):
            mask[row, :n] = 1
            labels[row, p:n] = ids[row, p:n]
        out.append({"input_ids": ids * mask, "attention_mask": mask, "labels": labels, "real_tokens": sum(lengths),
                    "label_tokens": sum(n - p for n, p in zip(lengths, prompts))})
    return out


class ReadbackCounter(L.Callback):
    """Records device read-backs (method, calling file) from the start of the second step to the start of the
    last one, so whole steps and everything between them (progress bar included); on CUDA, PyTorch's own sync
    detector warns on every synchronising call in that window too."""

    def __init__(self, steps: int) -> None:
        self.steps, self.calls, self.counting = steps, [], False
        self._patches = contextlib.ExitStack()

    def on_train_start(self, trainer: Any, module: Any) -> None:
        for name in READBACKS:
            original = getattr(torch.Tensor, name)

            def counted(tensor: torch.Tensor, *args: Any, _name: str = name, _original: Any = original) -> Any:
                if self.counting:
                    self.calls.append((_name, sys._getframe(1).f_code.co_filename))
                return _original(tensor, *args)

            self._patches.enter_context(pytest.MonkeyPatch.context()).setattr(torch.Tensor, name, counted)

    def on_train_batch_start(self, trainer: Any, module: Any, batch: Any, batch_idx: int) -> None:
        self.counting = 1 <= batch_idx < self.steps - 1
        if torch.cuda.is_available() and module.device.type == "cuda":
            torch.cuda.set_sync_debug_mode("warn" if self.counting else "default")

    def on_train_end(self, trainer: Any, module: Any) -> None:
        self.counting = False
        self._patches.close()


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_training_steps_read_nothing_back_from_the_device(tiny_llama, tmp_path, device):
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    student = StudentModule(name_or_path=tiny_llama, lr=1e-3, warmup=0)
    steps = 5
    counter = ReadbackCounter(steps)
    trainer = L.Trainer(accelerator=device, devices=1, max_steps=steps, default_root_dir=tmp_path,
                        callbacks=[counter], log_every_n_steps=100, enable_checkpointing=False,
                        enable_model_summary=False, limit_val_batches=0, num_sanity_val_steps=0)
    loader = torch.utils.data.DataLoader(batches(len(student.tokenizer), steps), batch_size=None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(student, train_dataloaders=loader)
    assert trainer.global_step == steps
    ours = [call for call in counter.calls if not call[1].endswith(MASK_BUILDER)]
    assert ours == [], f"device read-backs inside training steps: {ours}"
    assert len(counter.calls) <= steps - 2, counter.calls  # at most the mask builder's one per forward
    synchronising = [w for w in caught if "synchronizing" in str(w.message)]
    assert len(synchronising) <= len(counter.calls), [str(w.message) for w in synchronising]
    assert isinstance(trainer.optimizers[0], torch.optim.AdamW)
    assert trainer.optimizers[0].defaults["fused"]


def test_attention_kernel_is_passed_to_the_model(tiny_llama):
    student = StudentModule(name_or_path=tiny_llama, attn_implementation="eager")
    student.configure_model()
    assert student.model.config._attn_implementation == "eager"


def test_an_attention_kernel_that_is_not_installed_fails_in_one_line(tiny_llama):
    import importlib.util

    if importlib.util.find_spec("flash_attn") is not None:
        pytest.skip("flash-attn is installed")
    with pytest.raises(CotlitError, match="attn_implementation 'flash_attention_2'"):
        StudentModule(name_or_path=tiny_llama, attn_implementation="flash_attention_2").configure_model()
