"""The results writer: a callback that turns the scored rows of test and predict into a run's result files.

Every rank hands its rows (what ``test_step`` / ``predict_step`` return) to the writer; at the end of the epoch
the rows of all ranks are gathered, de-duplicated by dataset index (DDP pads ranks with repeated examples) and
ordered, and global rank 0 writes ``predictions.jsonl`` and, after test, ``metrics.json`` (both atomically).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import torch

from cotlit.core import METRICS_FILE, PREDICTIONS_FILE, AnswerScores, PredictionRow, RunMetrics
from cotlit.io import read_json, write_json, write_text

RunInfo = Callable[[L.Trainer, L.LightningModule], dict[str, Any]]
"""The run's description for ``metrics.json``: every :class:`RunMetrics` field but ``scores`` and ``baseline``."""


class ResultsWriter(L.Callback):
    """Writes ``<prefix>predictions.jsonl`` after test and predict, and ``<prefix>metrics.json`` after test."""

    def __init__(self, run_dir: str | Path, run_info: RunInfo) -> None:
        self.run_dir = Path(run_dir)
        self.run_info = run_info
        self.prefix = ""
        """Prefix of the file names (``baseline_`` for the untrained student's test)."""
        self.baseline: AnswerScores | None = None
        """The untrained student's scores, written into ``metrics.json`` beside the trained one's."""
        self._rows: list[PredictionRow] = []

    @property
    def predictions_path(self) -> Path:
        return self.run_dir / f"{self.prefix}{PREDICTIONS_FILE}"

    @property
    def metrics_path(self) -> Path:
        return self.run_dir / f"{self.prefix}{METRICS_FILE}"

    # -- collecting -------------------------------------------------------------------------------------------
    def on_test_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._rows = []

    def on_predict_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._rows = []

    def on_test_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                          batch_idx: int, dataloader_idx: int = 0) -> None:
        self._rows += outputs

    def on_predict_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                             batch_idx: int, dataloader_idx: int = 0) -> None:
        self._rows += outputs

    # -- writing ----------------------------------------------------------------------------------------------
    def on_test_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        rows = unique_rows(self._rows)
        if trainer.is_global_zero:
            self._write_predictions(rows)
            scores = AnswerScores.of(rows)
            info = self.run_info(trainer, pl_module)
            baseline = self.baseline.to_dict() if self.baseline is not None and not self.prefix else None
            write_json(self.metrics_path, RunMetrics(scores=scores, baseline=baseline, **info).to_dict())

    def on_predict_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        rows = unique_rows(self._rows)
        if trainer.is_global_zero:
            self._write_predictions(rows)

    def _write_predictions(self, rows: list[PredictionRow]) -> None:
        write_text(self.predictions_path,
                   "".join(json.dumps(row.to_dict(), ensure_ascii=False) + "\n" for row in rows))

    def read_metrics(self) -> RunMetrics:
        """The ``metrics.json`` this writer wrote last (on global rank 0)."""
        return RunMetrics.from_dict(read_json(self.metrics_path, dict), path=self.metrics_path)


def unique_rows(rows: list[PredictionRow]) -> list[PredictionRow]:
    """Every rank's rows, one per dataset index, in dataset order (the same list on every rank)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        gathered: list[Any] = [None] * torch.distributed.get_world_size()
        torch.distributed.all_gather_object(gathered, rows)
        rows = [row for part in gathered for row in part]
    unique = {row.index: row for row in reversed(rows)}
    return [unique[index] for index in sorted(unique)]
