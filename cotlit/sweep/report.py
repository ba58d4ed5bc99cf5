"""``results.csv``, ``report.md`` and the plots of a directory of runs.

``report.md`` has, per (task, split, teacher), a table shaped like the paper's: rows are students, columns are
levels (and formats when there are several), cells are accuracy % with its exact 95% interval, the best cell of
each row in bold. Then, per (task, split, student), a table of its conditions: seeds (with each seed's
accuracy), accuracy with its interval, the paper's answer rules re-applied to the saved generations, the
difference from answer-only with its paired bootstrap interval and exact McNemar p-value, mean generated
tokens, share truncated, format-ok rate and the mean words of the training rationales. Conditions run with
several seeds get a seed-against-seed table: how far accuracy moves when only the seed changes.

Intervals of accuracies are exact (Clopper-Pearson; Wilson on request): a seed-pooled condition counts each
test problem once, at its mean correctness over the seeds. Paired comparisons use the seeds both conditions
ran and the problems both scored.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cotlit.core import FORMATS
from cotlit.errors import CotlitError
from cotlit.io import json_lines, read_text
from cotlit.sweep import plots
from cotlit.sweep.recommend import format_p, paired_comparison
from cotlit.sweep.results import Cell, Collection, Condition, RunResult, collect, pool, row_label
from cotlit.sweep.runner import PREDICTIONS_FILE
from cotlit.sweep.stats import Comparison, IntervalMethod, accuracy_interval, compare, mcnemar
from cotlit.tasks.base import get_task

CSV_COLUMNS = ("run_dir", "task", "split", "student", "finetuning", "teacher", "granularity", "format", "seed", "n",
               "scoring", "answer_accuracy", "ci_low", "ci_high", "paper_accuracy", "p_vs_answer_only",
               "format_ok_rate", "gen_tokens", "gen_truncated", "train_cot_words", "baseline_accuracy")
PLOTS = {"granularity": plots.plot_granularity, "format": plots.plot_formats, "teacher": plots.plot_teachers,
         "length": plots.plot_length}


@dataclass(frozen=True)
class ReportOptions:
    """How intervals are computed and what is written."""

    n_boot: int = 2000
    """Paired bootstrap resamples for the interval of a difference."""
    seed: int = 0
    """Seed of every bootstrap (each restarts from it, so results do not depend on order)."""
    level: float = 0.95
    interval: IntervalMethod = "clopper-pearson"
    """Interval of an accuracy: exact ``clopper-pearson`` or ``wilson``."""
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


@dataclass(frozen=True)
class ConditionRow:
    """One condition of one student, against that student's answer-only condition."""

    cell: Cell
    paper_accuracy: float | None
    """Accuracy under the paper's answer rules, re-scored from the saved generations; None when not possible."""
    versus_answer_only: Comparison | None

    def markdown(self, with_paper: bool) -> str:
        cell, runs = self.cell, self.cell.runs
        seeds = str(runs[0].metrics["seed"])
        if len(runs) > 1:
            seeds = ", ".join(f"{run.metrics['seed']}: {100 * run.accuracy:.1f}" for run in runs)
        n = len(cell.scores) if cell.scores else runs[0].metrics["n"]
        cells = [cell.condition.setting, seeds, str(n), _cell_text(cell, None)]
        if with_paper:
            cells.append("–" if self.paper_accuracy is None else f"{100 * self.paper_accuracy:.1f}")
        test = self.versus_answer_only
        if test is None:
            cells += ["–", "–"]
        else:
            diff = test.diff
            cells += [f"{100 * diff.mean:+.1f} [{100 * diff.low:+.1f}, {100 * diff.high:+.1f}]",
                      f"{format_p(test.p_value)} ({test.mcnemar.a_better}:{test.mcnemar.b_better})"]
        cells += [f"{_mean(runs, 'gen_tokens'):.1f}", f"{100 * _mean(runs, 'gen_truncated'):.1f}",
                  f"{100 * _mean(runs, 'format_ok_rate'):.1f}", f"{cell.cot_words:.0f}"]
        return "| " + " | ".join(cells) + " |"


@dataclass(frozen=True)
class SeedRow:
    """One later seed of a condition against its first seed, on the problems both scored."""

    student: str
    cell: Cell
    first: RunResult
    other: RunResult
    comparison: Comparison

    def markdown(self) -> str:
        seeds = f"{self.other.metrics['seed']} vs {self.first.metrics['seed']}"
        accuracies = f"{100 * self.other.accuracy:.1f} vs {100 * self.first.accuracy:.1f}"
        diff, test = self.comparison.diff, self.comparison.mcnemar
        return (f"| {self.student} | {self.cell.condition.setting} | {seeds} | {accuracies} | "
                f"{100 * diff.mean:+.1f} [{100 * diff.low:+.1f}, {100 * diff.high:+.1f}] | "
                f"{format_p(test.p_value)} ({test.a_better}:{test.b_better}) |")


def build_report(runs_dir: Path, out_dir: Path, options: ReportOptions = ReportOptions()) -> dict[str, Path]:
    """Collect the runs under ``runs_dir`` and write the CSV, the markdown report and the plots to ``out_dir``."""
    found = collect(runs_dir)
    cells = pool(found.runs, level=options.level, method=options.interval)
    out_dir.mkdir(parents=True, exist_ok=True)
    paper = {run.run_dir: paper_scores(run, found.warnings) for run in found.runs}
    written = {"csv": write_csv(found, cells, paper, out_dir / "results.csv", options)}
    figures: dict[str, Path] = {}
    if options.plots:
        for (task, split), group in _by_task(cells).items():
            for kind, plot in PLOTS.items():
                path = plot(group, f"{task} ({split})", out_dir / "plots" / f"{task}_{split}_{kind}.png")
                if path is not None:
                    figures[f"{task}_{split}_{kind}"] = path
    report = out_dir / "report.md"
    rows = condition_rows(cells, paper, options)
    report.write_text(render_markdown(runs_dir, found, cells, rows, figures, out_dir, options), encoding="utf-8")
    return written | {"report": report} | figures


def paper_scores(run: RunResult, warnings: list[str]) -> dict[str, float] | None:
    """Example id -> correctness under the paper's answer rules, re-scored from ``generated`` and ``gold`` of
    the run's predictions; None (with a warning) when they are missing or the task has no paper rules."""
    path = run.run_dir / PREDICTIONS_FILE
    if not run.scores or not path.is_file():
        return None
    try:
        task = get_task(str(run.metrics["task"]), paper_compat=True)
        scores = {}
        for _, row in json_lines(read_text(path), path):
            if not isinstance(row.get("generated"), str) or "gold" not in row:
                return None
            scores[str(row["id"])] = float(task.score(row["generated"], row["gold"]).correct)
    except CotlitError as error:
        warnings.append(f"{run.run_dir}: not re-scored with the paper's rules: {error}")
        return None
    return scores


def condition_rows(cells: list[Cell], paper: dict[Path, dict[str, float] | None],
                   options: ReportOptions) -> dict[tuple[str, str, str], list[ConditionRow]]:
    """Per (task, split, student): its conditions, answer-only first, each compared with answer-only."""
    groups: dict[tuple[str, str, str], list[Cell]] = {}
    for cell in cells:
        groups.setdefault((cell.condition.task, cell.condition.split, row_label(cell, cells)), []).append(cell)
    result: dict[tuple[str, str, str], list[ConditionRow]] = {}
    for key, group in sorted(groups.items(), key=lambda item: item[0]):
        answer_only = next((c for c in group if c.condition.teacher is None), None)
        result[key] = []
        for cell in sorted(group, key=lambda c: (c.condition.teacher is not None, c.condition.sort_key())):
            test = None
            if answer_only is not None and cell is not answer_only:
                test = paired_comparison(cell, answer_only, n_boot=options.n_boot, seed=options.seed,
                                         level=options.level)
            result[key].append(ConditionRow(cell, _pooled_accuracy([paper[run.run_dir] for run in cell.runs]), test))
    return result


def seed_rows(cells: list[Cell], options: ReportOptions) -> list[SeedRow]:
    """Each condition's later seeds against its first seed (seed noise: same data, same recipe)."""
    result = []
    for cell in sorted(cells, key=lambda c: (row_label(c, cells), c.condition.sort_key())):
        runs = sorted((run for run in cell.runs if run.scores), key=lambda run: str(run.metrics["seed"]))
        for other in runs[1:]:
            shared = sorted(set(runs[0].scores) & set(other.scores))
            if shared:
                test = compare([other.scores[i] for i in shared], [runs[0].scores[i] for i in shared],
                               n_boot=options.n_boot, level=options.level, seed=options.seed)
                result.append(SeedRow(row_label(cell, cells), cell, runs[0], other, test))
    return result


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


def render_markdown(runs_dir: Path, found: Collection, cells: list[Cell],
                    rows: dict[tuple[str, str, str], list[ConditionRow]], figures: dict[str, Path], out_dir: Path,
                    options: ReportOptions) -> str:
    pct = round(100 * options.level)
    method = "exact Clopper-Pearson" if options.interval == "clopper-pearson" else "Wilson score"
    lines = [f"# cotlit report: {runs_dir}", "",
             f"{_count(len(found.runs), 'run')} in {_count(len(cells), 'condition')}. Accuracy: % of test problems "
             f"answered correctly, with its {pct}% {method} interval (seeds of a condition pooled per problem). "
             "Bold: best of the row.", ""]
    for table in tables(cells):
        lines += [f"## {table.title}", "", table.markdown(), ""]
    if rows:
        lines += _conditions_section(rows, options)
    noise = seed_rows(cells, options)
    if noise:
        lines += _seed_section(noise, options)
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


def _conditions_section(rows: dict[tuple[str, str, str], list[ConditionRow]], options: ReportOptions) -> list[str]:
    """The per-student tables of conditions against answer-only, with their legend."""
    pct = round(100 * options.level)
    with_paper = any(row.paper_accuracy is not None for group in rows.values() for row in group)
    lines = ["## Conditions against answer-only", "",
             f"Δ: accuracy minus the same student's answer-only accuracy, over the seeds both ran and the problems "
             f"both scored, with its {pct}% paired bootstrap interval ({options.n_boot} resamples, seed "
             f"{options.seed}); p: two-sided exact McNemar test (problems only this condition / only answer-only "
             "got right). Tokens: mean generated tokens; truncated: share that ran out of budget; format ok: "
             "share whose answer followed the trigger."
             + (" Paper rules: the paper's answer extraction re-applied to the saved generations." if with_paper
                else ""), ""]
    header = ["condition", "seeds", "n", f"accuracy % [{pct}% CI]"] + (["paper rules %"] if with_paper else [])
    header += [f"Δ vs answer-only [{pct}% CI]", "p", "tokens", "truncated %", "format ok %", "training CoT words"]
    for (task, split, student), group in rows.items():
        lines += [f"### {task} ({split}), {student}", "", "| " + " | ".join(header) + " |",
                  "|---" * len(header) + "|"]
        lines += [row.markdown(with_paper) for row in group] + [""]
    return lines


def _seed_section(noise: list[SeedRow], options: ReportOptions) -> list[str]:
    """The seed-against-seed table with its legend."""
    pct = round(100 * options.level)
    lines = ["## Seed against seed", "",
             "The same condition trained again with another seed (same data, same recipe): its accuracy minus the "
             f"first seed's on the same problems, with its {pct}% paired bootstrap interval, and the exact McNemar "
             "p-value (problems only the later / only the first seed got right). A difference between conditions "
             "no larger than these is within seed noise.", "",
             f"| student | condition | seeds | accuracy % | Δ [{pct}% CI] | p |",
             "|---|---|---|---|---|---|"]
    return lines + [row.markdown() for row in noise] + [""]


def write_csv(found: Collection, cells: list[Cell], paper: dict[Path, dict[str, float] | None], path: Path,
              options: ReportOptions) -> Path:
    """One row per run, with its own interval and its McNemar p-value against the answer-only run of the same
    student and seed."""
    answer_only = {_pairing_key(run): run for run in found.runs if run.condition.teacher is None}
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for run in sorted(found.runs, key=lambda r: (r.condition.sort_key(), str(r.metrics["seed"]))):
            m = run.metrics
            interval = None
            if run.scores:
                interval = accuracy_interval(list(run.scores.values()), level=options.level, method=options.interval)
            baseline = m.get("baseline") if isinstance(m.get("baseline"), dict) else {}
            reference = answer_only.get(_pairing_key(run))
            writer.writerow({key: m.get(key) for key in CSV_COLUMNS} | {
                "run_dir": str(run.run_dir), "scoring": m.get("scoring", "cotlit"),
                "answer_accuracy": round(run.accuracy, 6),
                "ci_low": round(interval.low, 6) if interval else None,
                "ci_high": round(interval.high, 6) if interval else None,
                "paper_accuracy": _round(_pooled_accuracy([paper[run.run_dir]])),
                "p_vs_answer_only": _run_p_value(run, reference),
                "format_ok_rate": format_ok_rate(m),
                "baseline_accuracy": baseline.get("answer_accuracy"),
            })
    return path


def format_ok_rate(metrics: dict[str, Any]) -> float | None:
    """The share of answers after the trigger: ``format_ok_rate``, or ``answer_found`` in older metrics files."""
    return metrics.get("format_ok_rate", metrics.get("answer_found"))


def _run_p_value(run: RunResult, reference: RunResult | None) -> float | None:
    if reference is None or reference is run or not run.scores or not reference.scores:
        return None
    shared = sorted(set(run.scores) & set(reference.scores))
    if not shared:
        return None
    return mcnemar([run.scores[i] for i in shared], [reference.scores[i] for i in shared]).p_value


def _pairing_key(run: RunResult) -> tuple:
    c = run.condition
    return (c.task, c.split, c.student, c.finetuning, str(run.metrics["seed"]))


def _pooled_accuracy(runs: list[dict[str, float] | None]) -> float | None:
    """Per-example mean over runs, then the mean over examples; None if any run could not be scored."""
    if not runs or any(scores is None for scores in runs):
        return None
    per_id: dict[str, list[float]] = {}
    for scores in runs:
        for example, score in scores.items():
            per_id.setdefault(example, []).append(score)
    return float(np.mean([np.mean(values) for values in per_id.values()])) if per_id else None


def _mean(runs: list[RunResult], key: str) -> float:
    values = [format_ok_rate(run.metrics) if key == "format_ok_rate" else run.metrics.get(key) for run in runs]
    present = [float(value) for value in values if isinstance(value, (int, float))]
    return float(np.mean(present)) if present else float("nan")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


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
