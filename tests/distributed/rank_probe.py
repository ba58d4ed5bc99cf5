"""A test instrument loaded into ``cotlit fit`` ranks as a callback: what each rank trained, reduced, wrote and saw.

Each rank dumps its trainable weights and what its DDP wrapper all-reduces to ``<out_dir>/rank<N>.pt``; ranks
other than 0 record every file they open for writing inside the run directory (a Python audit hook) and list
them in ``<out_dir>/writes-rank<N>.json`` when the process exits (run-dir files are written after teardown).
Each rank also lists the example ids of every batch it trained on (per epoch) and tested on, with every split's
ids, in ``<out_dir>/seen-rank<N>.json``.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
from pathlib import Path
from typing import Any

import lightning as L
import torch

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


class RankProbe(L.Callback):
    def __init__(self, out_dir: str) -> None:
        self.out_dir = Path(out_dir)
        self.writes: list[str] = []
        self.seen: dict[str, list[str]] = {}
        self._hooked = False

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if trainer.global_rank != 0 and not self._hooked:
            run_dir = os.path.join(Path(trainer.default_root_dir).resolve(), "")
            sys.addaudithook(lambda event, args: self._audit(event, args, run_dir))
            atexit.register(self._dump_writes, self.out_dir / f"writes-rank{trainer.global_rank}.json")
            self._hooked = True

    def _audit(self, event: str, args: tuple[Any, ...], run_dir: str) -> None:
        if event != "open" or not isinstance(args[0], (str, os.PathLike)):
            return
        path, mode, flags = args
        writing = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & WRITE_FLAGS)
        if writing and os.path.abspath(path).startswith(run_dir):
            self.writes.append(os.fspath(path))

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        wrapper = trainer.strategy.model
        reduced = wrapper._get_ddp_logging_data() if isinstance(wrapper, torch.nn.parallel.DistributedDataParallel) else {}
        trainable = {n: p.detach().cpu().clone() for n, p in pl_module.named_parameters() if p.requires_grad}
        torch.save({"trainable": trainable, "reduced_tensors": reduced.get("num_parameter_tensors"),
                    "reduced_bytes": reduced.get("total_parameter_size_bytes"), "world_size": trainer.world_size},
                   self.out_dir / f"rank{trainer.global_rank}.pt")

    def _dump_writes(self, path: Path) -> None:
        path.write_text(json.dumps(self.writes))

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self.seen.setdefault(f"train-epoch{trainer.current_epoch}", []).extend(batch["ids"])

    def on_test_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        self.seen.setdefault("test", []).extend(batch["ids"])

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        splits = {split: [ex.id for ex in examples] for split, examples in trainer.datamodule.examples.items()}
        seen = {"seen": self.seen, "splits": splits}
        (self.out_dir / f"seen-rank{trainer.global_rank}.json").write_text(json.dumps(seen))
