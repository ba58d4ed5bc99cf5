"""``results.csv``, ``report.md`` and the plots of a directory of runs.

``report.md`` has one table per (task, split, teacher) shaped like the paper's: rows are students, columns
are levels (and formats when there are several), cells are accuracy % with the 95% bootstrap interval, the
best cell of each row in bold.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cotlit.core import FORMATS
from cotlit.sweep import plots
from cotlit.sweep.results import Cell, Collection, Condition, collect, pool, row_label
from cotlit.sweep.stats import bootstrap_ci

CSV_COLUMNS = ("run_dir", "task", "split", "student", "finetuning", "teacher", "granularity", "format", "seed", "n",
               "answer_accuracy", "ci_low", "ci_high", "answer_found", "gen_tokens", "gen_truncated",
               "train_cot_words", "baseline_accuracy")
PLOTS = {"granularity": plots.plot_granularity, "format": plots.plot_formats, "teacher": plots.plot_teachers,
         "length": plots.plot_length}


@dataclass(frozen=True)
class ReportOptions:
    """How intervals are computed and what is written."""

    n_boot: int = 2000
    """Bootstrap resamples per interval."""
    seed: int = 0
    """Seed of every bootstrap (each interval restarts from it, so results do not depend on order)."""
    level: float = 0.95
    plots: bool = True


@dataclass(frozen=True)
class Table:
    """One (task, split, teacher) table."""

    title: str
    columns: list[str]
    rows: list[tuple[str, list[Cell | None]]]

    def markdown(self) -> str:
        lines = [f"| student | {' | '.join(self.columns)} |", "|---" * (len(self.columns) + 1) + "|"]
        for label, cells in self.rows:
            present = [c.accuracy for c in cells if c is not None]
            best = max(present) if present else None
            lines.append(f"| {label} | " + " | ".join(_cell_text(c, best) for c in cells) + " |")
        words = []
        for j in range(len(self.columns)):
            column = [cells[j] for _, cells in self.rows if cells[j] is not None]
            words.append(f"{np.mean([c.cot_words for c in column]):.0f}" if column else "")
        lines.append(f"| *training CoT words* | {' | '.join(words)} |")
        return "\n".join(lines)


def build_report(runs_dir: Path, out_dir: Path, options: ReportOptions = ReportOptions()) -> dict[str, Path]:
    """Collect the runs under ``runs_dir`` and write the CSV, the markdown report and the plots to ``out_dir``."""
    found = collect(runs_dir)
    cells = pool(found.runs, n_boot=options.n_boot, seed=options.seed, level=options.level)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"csv": write_csv(found, out_dir / "results.csv", options)}
    figures: dict[str, Path] = {}
    if options.plots:
        for (task, split), group in _by_task(cells).items():
            for kind, plot in PLOTS.items():
                path = plot(group, f"{task} ({split})", out_dir / "plots" / f"{task}_{split}_{kind}.png")
                if path is not None:
                    figures[f"{task}_{split}_{kind}"] = path
    report = out_dir / "report.md"
    report.write_text(render_markdown(runs_dir, found, cells, figures, out_dir, options), encoding="utf-8")
    return written | {"report": report} | figures


def tables(cells: list[Cell]) -> list[Table]:
    """The paper-shaped tables, one per (task, split, teacher)."""
    groups: dict[tuple, list[Cell]] = {}
    for cell in cells:
        c = cell.condition
        groups.setdefault((c.task, c.split, c.teacher is None, c.teacher or ""), []).append(cell)
    result = []
    for (task, split, _, _), group in sorted(groups.items(), key=lambda item: item[0]):
        several = len({c.condition.format for c in group}) > 1
        keys = sorted({(c.condition.granularity, c.condition.format) for c in group},
                      key=lambda k: (k[0] is None, k[0] or 0, FORMATS.index(k[1]) if k[1] in FORMATS else 99, k[1]))
        rows: dict[str, list[Cell | None]] = {}
        for cell in group:
            row = rows.setdefault(row_label(cell, cells), [None] * len(keys))
            row[keys.index((cell.condition.granularity, cell.condition.format))] = cell
        columns = [_column(group[0].condition, level, fmt, several) for level, fmt in keys]
        title = f"{task} ({split}), teacher: {group[0].condition.teacher_label}"
        result.append(Table(title, columns, sorted(rows.items())))
    return result


def render_markdown(runs_dir: Path, found: Collection, cells: list[Cell], figures: dict[str, Path], out_dir: Path,
                    options: ReportOptions) -> str:
    pct = round(100 * options.level)
    lines = [f"# cotlit report: {runs_dir}", "",
             f"{_count(len(found.runs), 'run')} in {_count(len(cells), 'condition')}. Cells: test answer accuracy (%) and its {pct}% "
             f"percentile bootstrap interval over test examples ({options.n_boot} resamples, seed {options.seed}; "
             "seeds of a condition pooled per example). Bold: best of the row.", ""]
    for table in tables(cells):
        lines += [f"## {table.title}", "", table.markdown(), ""]
    baselines = sorted({(c.condition.task, row_label(c, cells), c.baseline) for c in cells
                        if c.baseline is not None})
    if baselines:
        lines += ["## Untrained students", "", "| task | student | accuracy % |", "|---|---|---|"]
        lines += [f"| {task} | {student} | {100 * acc:.1f} |" for task, student, acc in baselines] + [""]
    if figures:
        lines += ["## Plots", ""]
        lines += [f"![{name}]({path.relative_to(out_dir).as_posix()})" for name, path in figures.items()] + [""]
    for heading, items in (("Skipped runs", found.skipped), ("Warnings", found.warnings)):
        if items:
            lines += [f"## {heading}", ""] + [f"- {item}" for item in items] + [""]
    return "\n".join(lines)


def write_csv(found: Collection, path: Path, options: ReportOptions) -> Path:
    """One row per run, with its own bootstrap interval."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for run in sorted(found.runs, key=lambda r: (r.condition.sort_key(), str(r.metrics["seed"]))):
            m = run.metrics
            interval = None
            if run.scores:
                interval = bootstrap_ci(np.array(list(run.scores.values())), n_boot=options.n_boot,
                                        level=options.level, seed=options.seed)
            baseline = m.get("baseline") if isinstance(m.get("baseline"), dict) else {}
            writer.writerow({key: m.get(key) for key in CSV_COLUMNS} | {
                "run_dir": str(run.run_dir), "answer_accuracy": round(run.accuracy, 6),
                "ci_low": round(interval.low, 6) if interval else None,
                "ci_high": round(interval.high, 6) if interval else None,
                "baseline_accuracy": baseline.get("answer_accuracy"),
            })
    return path


def _by_task(cells: list[Cell]) -> dict[tuple[str, str], list[Cell]]:
    groups: dict[tuple[str, str], list[Cell]] = {}
    for cell in cells:
        groups.setdefault((cell.condition.task, cell.condition.split), []).append(cell)
    return groups


def _column(condition: Condition, level: int | None, fmt: str, several_formats: bool) -> str:
    if condition.teacher is None:
        name = "answer only"
    else:
        name = f"L{level}" if level is not None else f"{condition.teacher} CoT"
    return f"{name} {fmt}" if several_formats else name


def _cell_text(cell: Cell | None, best: float | None) -> str:
    if cell is None:
        return "–"
    value = f"{100 * cell.accuracy:.1f}"
    if best is not None and cell.accuracy >= best - 1e-12:
        value = f"**{value}**"
    if cell.interval is None:
        return value
    return f"{value} [{100 * cell.interval.low:.1f}, {100 * cell.interval.high:.1f}]"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
