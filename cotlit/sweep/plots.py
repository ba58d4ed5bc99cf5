"""Figures of one task's conditions (matplotlib, Agg): accuracy by granularity, format, teacher and CoT length.

Every figure has a title, axis labels and legends, so it reads without the report. A function returns the
written path, or None when the conditions give it nothing to show (e.g. a single format).
"""

from __future__ import annotations

from pathlib import Path

from cotlit.core import FORMATS
from cotlit.sweep.results import Cell, row_label

_MARKERS = "osD^v<>Ph*X"


def student_colors(cells: list[Cell]) -> dict[str, tuple]:
    """One fixed colour per student (row label), shared by every figure."""
    import matplotlib

    students = sorted({row_label(cell, cells) for cell in cells})
    cmap = matplotlib.colormaps["tab10" if len(students) <= 10 else "tab20"]
    return {student: cmap(i % cmap.N) for i, student in enumerate(students)}


def plot_granularity(cells: list[Cell], title: str, path: Path) -> Path | None:
    """Accuracy vs level, one line per student with its CI band, one panel per teacher (plain format);
    each student's answer-only accuracy as a dashed line of the same colour."""
    plain = [c for c in cells if c.condition.granularity is not None and c.condition.format == "plain"]
    teachers = sorted({c.condition.teacher_label for c in plain})
    if not teachers:
        return None
    plt = _pyplot()
    colors = student_colors(cells)
    fig, axes = plt.subplots(1, len(teachers), figsize=(4.8 * len(teachers) + 2, 4.2), sharey=True,
                             squeeze=False, layout="constrained")
    answer_only = {row_label(c, cells): c for c in cells if c.condition.teacher is None}
    for ax, teacher in zip(axes[0], teachers):
        for student in sorted({row_label(c, cells) for c in plain}):
            line = sorted((c for c in plain if c.condition.teacher_label == teacher and row_label(c, cells) == student),
                          key=lambda c: c.condition.granularity)
            if not line:
                continue
            xs = [c.condition.granularity for c in line]
            ax.plot(xs, [100 * c.accuracy for c in line], marker="o", color=colors[student], label=student)
            if all(c.interval for c in line):
                ax.fill_between(xs, [100 * c.interval.low for c in line], [100 * c.interval.high for c in line],
                                color=colors[student], alpha=0.15, linewidth=0)
            if student in answer_only:
                ax.axhline(100 * answer_only[student].accuracy, color=colors[student], linestyle="--", linewidth=1)
        ax.set_title(f"teacher: {teacher}")
        ax.set_xlabel("granularity level (1 = terse ... 6 = most detailed)")
        ax.set_xticks(range(1, 7))
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test answer accuracy (%)")
    handles, labels = _unique_legend(axes[0])
    if answer_only:
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color="grey", linestyle="--"))
        labels.append("answer-only (no CoT)")
    fig.legend(handles, labels, title="student (bands: 95% CI)", loc="outside right center")
    fig.suptitle(f"{title}: accuracy vs CoT granularity")
    return _save(fig, path)


def plot_formats(cells: list[Cell], title: str, path: Path) -> Path | None:
    """Grouped bars: accuracy per format for each (teacher, level) that has several formats."""
    panels = sorted({(c.condition.teacher, c.condition.granularity) for c in cells if c.condition.teacher is not None
                     and c.condition.granularity is not None},
                    key=lambda p: (p[0], p[1]))
    panels = [p for p in panels if len({c.condition.format for c in _at(cells, *p)}) > 1]
    if not panels:
        return None
    plt = _pyplot()
    colors = student_colors(cells)
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels) + 2, 4.2), sharey=True, squeeze=False,
                             layout="constrained")
    for ax, (teacher, level) in zip(axes[0], panels):
        group = _at(cells, teacher, level)
        formats = [f for f in FORMATS if any(c.condition.format == f for c in group)]
        _bars(ax, group, cells, colors, formats, lambda c: c.condition.format)
        ax.set_title(f"teacher: {teacher}, level L{level}")
        ax.set_xlabel("CoT format")
    axes[0][0].set_ylabel("test answer accuracy (%)")
    fig.legend(*_unique_legend(axes[0]), title="student (bars: 95% CI)", loc="outside right center")
    fig.suptitle(f"{title}: accuracy by CoT format")
    return _save(fig, path)


def plot_teachers(cells: list[Cell], title: str, path: Path) -> Path | None:
    """Grouped bars: per teacher (and answer-only), each student's best plain-format level."""
    plain = [c for c in cells if c.condition.format == "plain"]
    teachers = sorted({c.condition.teacher for c in plain if c.condition.teacher is not None})
    teachers += ["answer-only"] if any(c.condition.teacher is None for c in plain) else []
    if len(teachers) < 2:
        return None
    best: dict[tuple[str, str], Cell] = {}
    for cell in plain:
        key = (row_label(cell, cells), cell.condition.teacher_label)
        if key not in best or cell.accuracy > best[key].accuracy:
            best[key] = cell
    plt = _pyplot()
    colors = student_colors(cells)
    fig, ax = plt.subplots(figsize=(1.6 * len(teachers) + 4, 4.2), layout="constrained")
    _bars(ax, list(best.values()), cells, colors, teachers, lambda c: c.condition.teacher_label)
    ax.set_xlabel("teacher (each student's best level)")
    ax.set_ylabel("test answer accuracy (%)")
    fig.legend(*_unique_legend([ax]), title="student (bars: 95% CI)", loc="outside right center")
    ax.set_title(f"{title}: accuracy by teacher")
    return _save(fig, path)


def plot_length(cells: list[Cell], title: str, path: Path) -> Path | None:
    """Accuracy vs mean words of the training rationales: colour = student, marker = teacher."""
    points = [c for c in cells if c.condition.teacher is not None]
    if not points:
        return None
    plt = _pyplot()
    from matplotlib.lines import Line2D

    colors = student_colors(cells)
    teachers = sorted({c.condition.teacher_label for c in points})
    markers = {t: _MARKERS[i % len(_MARKERS)] for i, t in enumerate(teachers)}
    fig, ax = plt.subplots(figsize=(9, 4.8), layout="constrained")
    for cell in points:
        student = row_label(cell, cells)
        yerr = None
        if cell.interval:
            yerr = [[100 * (cell.accuracy - cell.interval.low)], [100 * (cell.interval.high - cell.accuracy)]]
        ax.errorbar(cell.cot_words, 100 * cell.accuracy, yerr=yerr, fmt=markers[cell.condition.teacher_label],
                    color=colors[student], capsize=2, markersize=6)
    ax.set_xlabel("mean words per training rationale")
    ax.set_ylabel("test answer accuracy (%)")
    ax.grid(alpha=0.3)
    student_handles = [Line2D([], [], color=color, marker="o", linestyle="") for color in colors.values()]
    fig.legend(student_handles, list(colors), title="student (colour)", loc="outside right upper")
    teacher_handles = [Line2D([], [], color="grey", marker=markers[t], linestyle="") for t in teachers]
    fig.legend(teacher_handles, teachers, title="teacher (marker)", loc="outside right lower")
    ax.set_title(f"{title}: accuracy vs training CoT length (bars: 95% CI)")
    return _save(fig, path)


def _bars(ax, group: list[Cell], cells: list[Cell], colors: dict[str, tuple], categories: list[str], category) -> None:
    students = sorted({row_label(c, cells) for c in group})
    width = 0.8 / len(students)
    for i, student in enumerate(students):
        for j, name in enumerate(categories):
            cell = next((c for c in group if row_label(c, cells) == student and category(c) == name), None)
            if cell is None:
                continue
            yerr = None
            if cell.interval:
                yerr = [[100 * (cell.accuracy - cell.interval.low)], [100 * (cell.interval.high - cell.accuracy)]]
            ax.bar(j + (i - (len(students) - 1) / 2) * width, 100 * cell.accuracy, width, yerr=yerr, capsize=2,
                   color=colors[student], label=student)
    ax.set_xticks(range(len(categories)), categories)
    ax.grid(axis="y", alpha=0.3)


def _at(cells: list[Cell], teacher: str | None, level: int | None) -> list[Cell]:
    return [c for c in cells if c.condition.teacher == teacher and c.condition.granularity == level]


def _unique_legend(axes) -> tuple[list, list[str]]:
    seen: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
    return list(seen.values()), list(seen)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    _pyplot().close(fig)
    return path
