"""Collect finished runs (``metrics.json`` + ``predictions.jsonl``) and pool seeds into conditions.

A *condition* is (task, split, student, finetuning, teacher, granularity, format). Its runs (one per seed)
are pooled per test example: each example's score is its mean correctness over the runs that scored it,
and the condition's accuracy and exact interval are over those examples. Accuracies are fractions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cotlit.core import METRICS_FILE, PREDICTIONS_FILE, RunMetrics
from cotlit.errors import CotlitError
from cotlit.io import field as checked_field
from cotlit.io import json_lines, read_json, read_text
from cotlit.sweep.runner import STATUS_FILE, read_status
from cotlit.sweep.stats import LEVEL, Interval, IntervalMethod, accuracy_interval


@dataclass(frozen=True)
class Condition:
    """What a run was trained on and evaluated against, without the seed."""

    task: str
    split: str
    student: str
    finetuning: str
    teacher: str | None
    granularity: int | None
    format: str

    def sort_key(self) -> tuple:
        return (self.task, self.split, self.student, self.finetuning, _none_last(self.teacher),
                _none_last(self.granularity), self.format)

    @property
    def teacher_label(self) -> str:
        return self.teacher if self.teacher is not None else "answer-only"

    @property
    def setting(self) -> str:
        """Teacher, level and format in a few words, e.g. ``gpt4o L3 bsm`` or ``answer-only``."""
        if self.teacher is None:
            return "answer-only"
        parts = [self.teacher] + ([f"L{self.granularity}"] if self.granularity is not None else [])
        return " ".join(parts + ([self.format] if self.format != "plain" else []))


@dataclass(frozen=True)
class RunResult:
    """One finished run."""

    run_dir: Path
    metrics: dict[str, Any]
    scores: dict[str, float] | None
    """Test example id -> 1.0 if correct else 0.0, from ``predictions.jsonl``; None when the file is absent."""

    @property
    def condition(self) -> Condition:
        m = self.metrics
        return Condition(str(m["task"]), str(m["split"]), str(m["student"]), str(m["finetuning"]),
                         m["teacher"], m["granularity"], str(m["format"]))

    @property
    def accuracy(self) -> float:
        if self.scores:
            return float(np.mean(list(self.scores.values())))
        return float(self.metrics["answer_accuracy"])


@dataclass
class Cell:
    """One condition with its runs pooled over seeds."""

    condition: Condition
    runs: list[RunResult]
    scores: dict[str, float] | None
    """Example id -> mean correctness over the seeds that scored it; None if a run lacks predictions."""
    interval: Interval | None = None
    """Interval of the accuracy (exact Clopper-Pearson unless :func:`pool` is told otherwise); None without
    predictions."""

    @property
    def accuracy(self) -> float:
        if self.scores:
            return float(np.mean(list(self.scores.values())))
        return float(np.mean([run.accuracy for run in self.runs]))

    @property
    def seeds(self) -> list[Any]:
        return [run.metrics["seed"] for run in self.runs]

    @property
    def cot_words(self) -> float:
        return float(np.mean([run.metrics["train_cot_words"] for run in self.runs]))

    @property
    def baseline(self) -> float | None:
        """The untrained student's accuracy (mean over runs that report one)."""
        values = [run.metrics["baseline"]["answer_accuracy"] for run in self.runs
                  if isinstance(run.metrics.get("baseline"), dict) and "answer_accuracy" in run.metrics["baseline"]]
        return float(np.mean(values)) if values else None


@dataclass
class Collection:
    """Every run found under a directory, and what was left out or looked wrong."""

    runs: list[RunResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Run directories not collected, with the reason."""
    warnings: list[str] = field(default_factory=list)


def collect(runs_dir: Path) -> Collection:
    """Every run directory under ``runs_dir`` holding a ``metrics.json``; runs a sweep did not finish are
    skipped and listed."""
    if not runs_dir.is_dir():
        raise CotlitError("not a directory", path=runs_dir)
    found = Collection()
    for metrics_path in sorted(runs_dir.rglob(METRICS_FILE)):
        run_dir = metrics_path.parent
        status = read_status(run_dir)
        if status is not None and status["state"] != "done":
            found.skipped.append(f"{run_dir}: {STATUS_FILE} says {status['state']}")
            continue
        metrics = _read_metrics(metrics_path)
        predictions = run_dir / PREDICTIONS_FILE
        scores = (_read_scores(predictions) if predictions.is_file() else None) or None
        run = RunResult(run_dir, metrics, scores)
        if scores is None:
            found.warnings.append(f"{run_dir}: no (or an empty) {PREDICTIONS_FILE}, so no confidence interval")
        else:
            if len(scores) != metrics["n"]:
                found.warnings.append(f"{run_dir}: {len(scores)} predictions but metrics n = {metrics['n']}")
            if abs(run.accuracy - metrics["answer_accuracy"]) > 1e-6:
                found.warnings.append(f"{run_dir}: accuracy from predictions {run.accuracy:.4f} differs from "
                                      f"metrics answer_accuracy {metrics['answer_accuracy']:.4f}; using predictions")
        found.runs.append(run)
    return found


def pool(runs: list[RunResult], *, level: float = LEVEL, method: IntervalMethod = "clopper-pearson") -> list[Cell]:
    """Group runs by condition, pool their seeds per example, and give each condition's accuracy its interval
    (:func:`~cotlit.sweep.stats.accuracy_interval` over the pooled per-example scores)."""
    groups: dict[Condition, list[RunResult]] = {}
    for run in runs:
        groups.setdefault(run.condition, []).append(run)
    cells = []
    for condition in sorted(groups, key=Condition.sort_key):
        members = groups[condition]
        scores = None
        if all(run.scores for run in members):
            per_id: dict[str, list[float]] = {}
            for run in members:
                for example, score in run.scores.items():
                    per_id.setdefault(example, []).append(score)
            scores = {example: float(np.mean(values)) for example, values in per_id.items()}
        cell = Cell(condition, members, scores)
        if scores:
            cell.interval = accuracy_interval(list(scores.values()), level=level, method=method)
        cells.append(cell)
    return cells


def row_label(cell: Cell, cells: list[Cell]) -> str:
    """The student, with the fine-tuning method when several are present."""
    c = cell.condition
    several = len({other.condition.finetuning for other in cells}) > 1
    return f"{c.student} ({c.finetuning})" if several else c.student


def _read_metrics(path: Path) -> dict[str, Any]:
    """A checked ``metrics.json`` (:class:`RunMetrics`; older files' ``answer_found`` reads as ``format_ok_rate``)."""
    return RunMetrics.from_dict(read_json(path, dict), path=path).to_dict()


def _read_scores(path: Path) -> dict[str, float]:
    scores: dict[str, float] = {}
    for number, row in json_lines(read_text(path), path):
        example = checked_field(row, None, "id", path=path, line=number)
        correct = checked_field(row, None, "correct", bool, path=path, line=number)
        if example in scores:
            raise CotlitError(f"duplicate example id {example!r}", path=path, line=number, field="id")
        scores[example] = float(correct)
    return scores


def _none_last(value: Any) -> tuple[bool, Any]:
    return (value is None, value if value is not None else 0)
