"""Answer metrics that stay exact under DDP: per-example states gathered across ranks, de-duplicated by index."""

from __future__ import annotations

import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

METRIC_NAMES = ("answer_accuracy", "answer_found", "gen_tokens", "gen_truncated")


class AnswerMetrics(Metric):
    """Accuracy, trigger rate, mean generated tokens and truncation rate over unique examples.

    Distributed evaluation may score an example on two ranks (padding); ``compute`` keeps one row per dataset
    index, so the result equals the single-process one.
    """

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        for name in ("index", "correct", "found", "tokens", "truncated"):
            self.add_state(name, default=[], dist_reduce_fx="cat")

    def update(
        self,
        index: torch.Tensor,
        correct: torch.Tensor,
        found: torch.Tensor,
        tokens: torch.Tensor,
        truncated: torch.Tensor,
    ) -> None:
        self.index.append(index.long())
        self.correct.append(correct.float())
        self.found.append(found.float())
        self.tokens.append(tokens.float())
        self.truncated.append(truncated.float())

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
            "answer_found": mean(self.found),
            "gen_tokens": mean(self.tokens),
            "gen_truncated": mean(self.truncated),
        }
        values["n"] = torch.tensor(float(keep.numel()))
        return values
