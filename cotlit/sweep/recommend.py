""""Tailor the granularity to the student": each student's best condition and whether it beats the runner-up.

For each (task, split, student), conditions (teacher, level, format) are ranked by accuracy; the best is
compared with the second best by a paired bootstrap over the test examples both scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cotlit.sweep.results import Cell, row_label
from cotlit.sweep.stats import PairedTest, paired_bootstrap


@dataclass(frozen=True)
class Recommendation:
    """One student's best condition on one task."""

    task: str
    split: str
    student: str
    best: Cell
    runner_up: Cell | None
    test: PairedTest | None
    """Best minus runner-up on their shared examples; None when there is nothing to pair."""

    @property
    def verdict(self) -> str:
        if self.runner_up is None:
            return "only condition"
        if self.test is None:
            return "not tested: no shared test examples with predictions"
        return "significantly better" if self.test.significant else "not significantly better (tie)"

    def to_dict(self) -> dict[str, Any]:
        def cell(c: Cell | None) -> dict[str, Any] | None:
            if c is None:
                return None
            ci = [c.interval.low, c.interval.high] if c.interval else None
            return {"teacher": c.condition.teacher, "granularity": c.condition.granularity,
                    "format": c.condition.format, "accuracy": c.accuracy, "ci": ci, "seeds": c.seeds}

        test = None
        if self.test is not None:
            test = {"diff": self.test.diff, "ci": [self.test.low, self.test.high], "p_value": self.test.p_value,
                    "n": self.test.n, "significant": self.test.significant}
        return {"task": self.task, "split": self.split, "student": self.student, "best": cell(self.best),
                "runner_up": cell(self.runner_up), "paired_test": test, "verdict": self.verdict}


def recommend(cells: list[Cell], *, n_boot: int, seed: int, level: float = 0.95) -> list[Recommendation]:
    """The best condition per (task, split, student) and its paired test against the runner-up."""
    groups: dict[tuple[str, str, str], list[Cell]] = {}
    for cell in cells:
        groups.setdefault((cell.condition.task, cell.condition.split, row_label(cell, cells)), []).append(cell)
    result = []
    for (task, split, student), group in sorted(groups.items(), key=lambda item: item[0]):
        ranked = sorted(group, key=lambda c: (-c.accuracy, c.condition.sort_key()))
        best, runner_up = ranked[0], (ranked[1] if len(ranked) > 1 else None)
        test = None
        if runner_up is not None and best.scores and runner_up.scores:
            shared = sorted(set(best.scores) & set(runner_up.scores))
            if shared:
                a = np.array([best.scores[i] for i in shared])
                b = np.array([runner_up.scores[i] for i in shared])
                test = paired_bootstrap(a, b, n_boot=n_boot, level=level, seed=seed)
        result.append(Recommendation(task, split, student, best, runner_up, test))
    return result


def render(recommendations: list[Recommendation], level: float = 0.95) -> str:
    """A markdown table of the recommendations."""
    pct = round(100 * level)
    lines = [f"| task | student | best | accuracy % [{pct}% CI] | runner-up | accuracy % | "
             f"difference [{pct}% CI] | p | verdict |", "|---" * 9 + "|"]
    for r in recommendations:
        cells = [f"{r.task} ({r.split})", r.student, r.best.condition.setting, _accuracy(r.best)]
        cells += [r.runner_up.condition.setting, f"{100 * r.runner_up.accuracy:.1f}"] if r.runner_up else ["–", "–"]
        if r.test is not None:
            cells += [f"{100 * r.test.diff:+.1f} [{100 * r.test.low:+.1f}, {100 * r.test.high:+.1f}]",
                      f"{r.test.p_value:.3f}"]
        else:
            cells += ["–", "–"]
        lines.append("| " + " | ".join(cells + [r.verdict]) + " |")
    return "\n".join(lines)


def _accuracy(cell: Cell) -> str:
    text = f"{100 * cell.accuracy:.1f}"
    return f"{text} [{100 * cell.interval.low:.1f}, {100 * cell.interval.high:.1f}]" if cell.interval else text
