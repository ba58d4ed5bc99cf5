"""Checkpoints a killed ``fit`` resumes from: ``checkpoints/last.ckpt`` at an interval, atomically, at the exact batch.

``--checkpoint_every`` sets the interval: a number of optimizer steps (``200``) or a time (``30s``, ``10min``,
``1h``). The file is written beside its final name and renamed over it, so a kill at any moment leaves the previous
checkpoint whole. It is never versioned (``last-v1.ckpt``): a fit into a run directory that already holds a
checkpoint must say ``--ckpt_path last`` (resume) or use another directory, so the checkpoint in a run directory is
always the one its last fit wrote. A resumed epoch continues at the batch the checkpoint was taken after, as an
uninterrupted run would, instead of restarting the epoch's data.
"""

from __future__ import annotations

import os
import re
import traceback
import warnings
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from weakref import proxy

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from torch.utils.data import DataLoader, Sampler

from cotlit.cli.outputs import check_output
from cotlit.errors import CotlitError

DEFAULT_EVERY = "10min"
"""Checkpoint interval when none is given: at most ten minutes of training are lost to a kill."""
CHECKPOINT_DIR = "checkpoints"
LAST = "last.ckpt"
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?\s*$")
_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}


def parse_interval(every: str | int) -> tuple[int | None, timedelta | None]:
    """``(steps, None)`` for a plain count, ``(None, duration)`` for ``<n>s|min|h``."""
    match = _INTERVAL.match(str(every))
    if not match or float(match[1]) <= 0 or (match[2] is None and not match[1].isdigit()):
        raise CotlitError(f"checkpoint_every: {every!r} is not a number of steps (e.g. 200) or a time "
                          "(e.g. 30s, 10min, 1h)")
    if match[2] is None:
        return int(match[1]), None
    return None, timedelta(seconds=float(match[1]) * _SECONDS[match[2]])


class IntervalCheckpoint(ModelCheckpoint):
    """``last.ckpt`` every interval and when training ends, written to a temporary file and renamed."""

    def __init__(self, dirpath: str, every: str = DEFAULT_EVERY) -> None:
        steps, duration = parse_interval(every)
        super().__init__(dirpath=dirpath, save_last=True, save_top_k=0, enable_version_counter=False,
                         every_n_train_steps=steps, train_time_interval=duration)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """The final weights, whatever the interval (Lightning saves ``last`` here only if it never saved)."""
        if self._last_global_step_saved != trainer.global_step:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def _save_checkpoint(self, trainer: L.Trainer, filepath: str) -> None:
        partial = f"{filepath}.partial"
        trainer.save_checkpoint(partial, self.save_weights_only)
        if trainer.is_global_zero:
            os.replace(partial, filepath)
        trainer.strategy.barrier("IntervalCheckpoint._save_checkpoint")
        self._last_global_step_saved = trainer.global_step
        self._last_checkpoint_saved = filepath
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.after_save_checkpoint(proxy(self))


class _SkippingBatchSampler(Sampler[list[int]]):
    """A batch sampler that leaves out the first ``skip`` batches of the next epoch it yields."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.skip = 0

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.inner, "set_epoch"):
            self.inner.set_epoch(epoch)

    def __iter__(self) -> Iterator[list[int]]:
        skip, self.skip = self.skip, 0
        for index, batch in enumerate(self.inner):
            if index >= skip:
                yield batch

    def __len__(self) -> int:
        return len(self.inner)


class ResumeDataPosition(Callback):
    """Continues a resumed run on the batches an uninterrupted one would see next: the batch sampler's epoch is the
    trainer's (Lightning sets it on samplers only, so a batch sampler that counts its own epochs restarts from
    epoch 0's order) and the resumed epoch starts after the checkpoint's batch (Lightning restarts a plain
    DataLoader's epoch from its first batch)."""

    def __init__(self) -> None:
        self.sampler: _SkippingBatchSampler | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        datamodule = trainer.datamodule
        if stage != "fit" or datamodule is None:
            return
        make_loader = datamodule.train_dataloader

        def train_dataloader() -> DataLoader:
            loader = make_loader()
            self.sampler = _SkippingBatchSampler(loader.batch_sampler)
            return DataLoader(loader.dataset, batch_sampler=self.sampler, collate_fn=loader.collate_fn,
                              num_workers=loader.num_workers, pin_memory=loader.pin_memory)

        datamodule.train_dataloader = train_dataloader

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """The iterator exists but has drawn no batch yet; a checkpoint taken after batch k resumes at k + 1."""
        if self.sampler is None:
            return
        self.sampler.set_epoch(trainer.current_epoch)
        done = trainer.fit_loop.epoch_loop.batch_progress.current.processed
        if 0 < done < len(self.sampler):
            self.sampler.skip = done


def add_checkpoint_arguments(parser: Any) -> None:
    """``--checkpoint_every`` on every LightningCLI command (read by fit; kept in config.yaml)."""
    parser.add_argument("--checkpoint_every", type=str, default=DEFAULT_EVERY,
                        help="fit: save checkpoints/last.ckpt every N optimizer steps (e.g. 200) or every time "
                        "span (30s, 10min, 1h); a killed fit resumes from it with --ckpt_path last.")


def configure_checkpointing(subcommand: str, config: Any, run_dir: str) -> None:
    """Add the interval checkpoint and data-position callbacks (unless the config has them, or the user brings a
    ModelCheckpoint) and check ``--ckpt_path`` before anything loads: ``last`` needs a checkpoint, and a fresh fit
    must not mix with an old one's."""
    if config.get("weights_only") is False:
        raise CotlitError("weights_only: cotlit loads checkpoints only as weights (a checkpoint that needs "
                          "weights_only=false could run code)")
    trainer = config["trainer"]
    callbacks = trainer.get("callbacks") or []
    ours = next((cb for cb in callbacks if _class_name(cb) == "IntervalCheckpoint"), None)
    if ours is None and not any(_class_name(cb) == "ModelCheckpoint" for cb in callbacks):
        ours = {"class_path": f"{__name__}.IntervalCheckpoint",
                "init_args": {"dirpath": str(Path(run_dir) / CHECKPOINT_DIR),
                              "every": str(config.get("checkpoint_every") or DEFAULT_EVERY)}}
        callbacks.append(ours)
    if not any(_class_name(cb) == "ResumeDataPosition" for cb in callbacks):
        callbacks.append({"class_path": f"{__name__}.ResumeDataPosition"})
    trainer["callbacks"] = callbacks
    if ours is None:  # the user's own ModelCheckpoint decides where checkpoints go
        return
    init_args = ours["init_args"] if isinstance(ours, dict) else ours.init_args
    parse_interval(init_args["every"])
    folder = Path(init_args["dirpath"])
    if subcommand == "fit":
        check_output(folder, folder=True, flag="the checkpoint folder")
    ckpt_path = config.get("ckpt_path")
    if ckpt_path == "last" and not (folder / LAST).is_file():
        raise CotlitError(f"--ckpt_path last: {folder / LAST} does not exist (this run saved no checkpoint yet); "
                          "drop --ckpt_path to start over")
    if ckpt_path not in (None, "last", "best", "hpc") and not Path(ckpt_path).is_file():
        found = "expected a checkpoint file, found a folder" if Path(ckpt_path).exists() else "checkpoint not found"
        raise CotlitError(found, path=ckpt_path, field="ckpt_path")
    if subcommand == "fit" and ckpt_path is None and any(folder.glob("*.ckpt")):
        raise CotlitError(f"{folder} holds the checkpoint of an earlier fit: pass --ckpt_path last to resume it, "
                          "or give another --run_dir (or delete that folder) to start over")


def _class_name(callback: Any) -> str:
    path = callback.get("class_path", "") if isinstance(callback, dict) else getattr(callback, "class_path", "")
    return str(path or type(callback).__name__).rsplit(".", 1)[-1]


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint file read as weights only (no code runs), or a one-line error naming it."""
    path = Path(path)
    if not path.is_file():
        raise CotlitError("checkpoint not found" if not path.exists() else "expected a checkpoint file, found a "
                          "folder", path=path)
    try:
        with warnings.catch_warnings():  # torch warns about the pickle protocol of files it then refuses
            warnings.simplefilter("ignore", UserWarning)
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise checkpoint_load_error(err, path) or err from None
    if not isinstance(checkpoint, dict):
        raise CotlitError("not a checkpoint (it holds no mapping)", path=path)
    return checkpoint


def checkpoint_load_error(err: BaseException, path: str | Path | None = None) -> CotlitError | None:
    """A one-line error for an exception raised inside ``torch.load`` (corrupt, truncated or code-carrying file)."""
    frames = traceback.extract_tb(err.__traceback__)
    if not any(frame.filename.endswith(os.path.join("torch", "serialization.py")) for frame in frames):
        return None
    where = {"path": path} if path is not None else {"field": "ckpt_path"}
    text = str(err)
    if "Weights only load failed" in text:
        unsupported = re.search(r"Unsupported global: GLOBAL [\w.]+|WeightsUnpickler error:\s*(\S[^\n]*)", text)
        detail = (unsupported[1] or unsupported[0]) if unsupported else "it is not a plain state dict"
        return CotlitError(f"refusing to load a checkpoint that would run code or build objects ({detail})", **where)
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(err).__name__)
    return CotlitError(f"cannot read the checkpoint (corrupt, truncated or not a checkpoint): {first}", **where)
