"""Answer metrics that stay exact under DDP: per-example states gathered across ranks, de-duplicated by index."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from cotlit.core import PredictionRow

METRIC_NAMES = ("answer_accuracy", "format_ok_rate", "gen_tokens", "gen_truncated")
"""The logged metrics (``val/<name>``, ``test/<name>``); :meth:`AnswerMetrics.compute` adds the count ``n``."""


class AnswerMetrics(Metric):
    """Accuracy, format-ok (trigger) rate, mean generated tokens and truncation rate over unique examples.

    Distributed evaluation may score an example on two ranks (padding); ``compute`` keeps one row per dataset
    index, so the result equals the single-process one.
    """

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        for name in ("index", "correct", "format_ok", "tokens", "truncated"):
            self.add_state(name, default=[], dist_reduce_fx="cat")

    def update(self, rows: Sequence[PredictionRow]) -> None:
        """Add scored rows (each needs its dataset ``index``)."""
        def column(values: list[float | int]) -> torch.Tensor:
            return torch.tensor(values, device=self.device)

        self.index.append(column([row.index for row in rows]).long())
        self.correct.append(column([row.correct for row in rows]).float())
        self.format_ok.append(column([row.format_ok for row in rows]).float())
        self.tokens.append(column([row.gen_tokens for row in rows]).float())
        self.truncated.append(column([row.truncated for row in rows]).float())

    def compute(self) -> dict[str, torch.Tensor]:
        index = dim_zero_cat(self.index)
        order = torch.argsort(index, stable=True)
        first = torch.ones_like(order, dtype=torch.bool)
        first[1:] = index[order][1:] != index[order][:-1]
        keep = order[first]

        def mean(state: list[torch.Tensor]) -> torch.Tensor:  # float64, so 1/100 is reported as 0.01
            return dim_zero_cat(state)[keep].double().mean()

        values = {
            "answer_accuracy": mean(self.correct),
            "format_ok_rate": mean(self.format_ok),
            "gen_tokens": mean(self.tokens),
            "gen_truncated": mean(self.truncated),
        }
        values["n"] = torch.tensor(float(keep.numel()))
        return values
