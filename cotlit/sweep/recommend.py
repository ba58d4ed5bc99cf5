""""Tailor the granularity to the student": each student's best condition and whether it beats the runner-up.

For each (task, split, student), conditions (teacher, level, format) are ranked by accuracy; the best is
compared with the second best on the test problems both scored, over the seeds both ran: the exact McNemar test
decides "significantly better", and a paired bootstrap gives the interval of the difference. Accuracies carry
exact (Clopper-Pearson) or Wilson intervals.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cotlit.sweep.results import Cell, row_label
from cotlit.sweep.stats import LEVEL, Comparison, Interval, IntervalMethod, accuracy_interval, compare, paired_scores


@dataclass(frozen=True)
class Recommendation:
    """One student's best condition on one task."""

    task: str
    split: str
    student: str
    best: Cell
    runner_up: Cell | None
    test: Comparison | None
    """Best against runner-up on their shared examples and seeds; None when there is nothing to pair."""
    level: float = LEVEL
    method: IntervalMethod = "clopper-pearson"

    @property
    def verdict(self) -> str:
        if self.runner_up is None:
            return "only condition"
        if self.test is None:
            return "not tested: no shared seed and test examples with predictions"
        return "significantly better" if self.test.significant else "not significantly better (tie)"

    def interval(self, cell: Cell) -> Interval | None:
        """The accuracy interval of ``cell`` (None without predictions)."""
        if not cell.scores:
            return None
        return accuracy_interval(list(cell.scores.values()), level=self.level, method=self.method)

    def to_dict(self) -> dict[str, Any]:
        def cell(c: Cell | None) -> dict[str, Any] | None:
            if c is None:
                return None
            interval = self.interval(c)
            ci = [interval.low, interval.high] if interval else None
            return {"teacher": c.condition.teacher, "granularity": c.condition.granularity,
                    "format": c.condition.format, "accuracy": c.accuracy, "ci": ci, "ci_method": self.method,
                    "seeds": c.seeds}

        test = None
        if self.test is not None:
            m = self.test.mcnemar
            test = {"diff": self.test.diff.mean, "ci": [self.test.diff.low, self.test.diff.high],
                    "p_value": m.p_value, "test": "exact McNemar", "n": m.n, "best_only_right": m.a_better,
                    "runner_up_only_right": m.b_better, "significant": self.test.significant}
        return {"task": self.task, "split": self.split, "student": self.student, "best": cell(self.best),
                "runner_up": cell(self.runner_up), "paired_test": test, "verdict": self.verdict}


def seed_scores(cell: Cell) -> dict[Any, dict[str, float]] | None:
    """Seed -> example id -> correctness of each run of ``cell``; None when a run has no predictions."""
    if not all(run.scores for run in cell.runs):
        return None
    return {run.metrics["seed"]: run.scores for run in cell.runs}


def paired_comparison(a: Cell, b: Cell, *, n_boot: int, seed: int, level: float = LEVEL) -> Comparison | None:
    """``a`` against ``b`` over the seeds both ran, on the examples both scored; None when nothing is shared."""
    a_scores, b_scores = seed_scores(a), seed_scores(b)
    pair = paired_scores(a_scores, b_scores) if a_scores and b_scores else None
    if pair is None:
        return None
    return compare(pair[0], pair[1], n_boot=n_boot, level=level, seed=seed)


def recommend(cells: list[Cell], *, n_boot: int, seed: int, level: float = LEVEL,
              method: IntervalMethod = "clopper-pearson") -> list[Recommendation]:
    """The best condition per (task, split, student) and its paired test against the runner-up."""
    groups: dict[tuple[str, str, str], list[Cell]] = {}
    for cell in cells:
        groups.setdefault((cell.condition.task, cell.condition.split, row_label(cell, cells)), []).append(cell)
    result = []
    for (task, split, student), group in sorted(groups.items(), key=lambda item: item[0]):
        ranked = sorted(group, key=lambda c: (-c.accuracy, c.condition.sort_key()))
        best, runner_up = ranked[0], (ranked[1] if len(ranked) > 1 else None)
        test = paired_comparison(best, runner_up, n_boot=n_boot, seed=seed, level=level) if runner_up else None
        result.append(Recommendation(task, split, student, best, runner_up, test, level, method))
    return result


def render(recommendations: list[Recommendation], level: float = LEVEL) -> str:
    """A markdown table of the recommendations."""
    pct = round(100 * level)
    lines = [f"| task | student | best | accuracy % [{pct}% CI] | runner-up | accuracy % [{pct}% CI] | "
             f"difference [{pct}% CI] | McNemar p | verdict |", "|---" * 9 + "|"]
    for r in recommendations:
        cells = [f"{r.task} ({r.split})", r.student, r.best.condition.setting, _accuracy(r, r.best)]
        cells += [r.runner_up.condition.setting, _accuracy(r, r.runner_up)] if r.runner_up else ["–", "–"]
        if r.test is not None:
            diff = r.test.diff
            cells += [f"{100 * diff.mean:+.1f} [{100 * diff.low:+.1f}, {100 * diff.high:+.1f}]",
                      format_p(r.test.p_value)]
        else:
            cells += ["–", "–"]
        lines.append("| " + " | ".join(cells + [r.verdict]) + " |")
    return "\n".join(lines)


def format_p(p_value: float) -> str:
    """A p-value in three decimals, or in two significant digits below 0.001 (``6.1e-05``)."""
    return f"{p_value:.1e}" if p_value < 0.001 else f"{p_value:.3f}"


def _accuracy(recommendation: Recommendation, cell: Cell) -> str:
    text = f"{100 * cell.accuracy:.1f}"
    interval = recommendation.interval(cell)
    return f"{text} [{100 * interval.low:.1f}, {100 * interval.high:.1f}]" if interval else text
