"""Grid files: axes of config overrides, their product with include/exclude lists, and stable run names.

A grid file is YAML::

    name: svamp_granularity            # default: the file's stem
    runs_dir: runs/svamp_granularity   # default: runs/<name>
    configs: [configs/trainer/gpu.yaml, configs/data/svamp_paper.yaml]   # --config files of every run
    overrides: {trainer.max_epochs: 3}  # --key=value of every run
    axes:                               # their product, first axis slowest
      config:                           # the special axis: extra --config file(s) per value
        name: student
        values: [configs/students/llama-3.2-1b.yaml, configs/students/bloom-560m.yaml]
      data.init_args.teacher: {name: teacher, values: [gpt4o, gemini, llama]}
      data.init_args.granularity: [1, 2, 3, 4, 5, 6]
    exclude:                            # product runs matching every listed axis (a list = any of its values)
      - {teacher: llama, granularity: [5, 6]}
    include:                            # extra runs; axes they leave out are crossed with all their values
      - {teacher: human, granularity: null}
    fit: "{python} -m cotlit fit {configs} {overrides} --run_dir {run_dir} {resume}"   # command templates
    test: "..."                         # null: fit alone writes metrics.json
    slurm: {time: "04:00:00", gres: "gpu:1"}   # '#SBATCH --key=value' lines for --emit slurm
    results_dir: docs/results/svamp_granularity   # finished runs published here are reused, not run again

Paths are relative to the directory ``cotlit sweep`` runs from (the repository root). Axes are named by
key or by ``name`` (default: the key's last component) in include/exclude entries. A run's name is
``<axis>=<value>`` for every axis, joined by ``__``, so adding a value to an axis never renames old runs.
``{resume}`` in the fit template becomes ``--ckpt_path=last`` when a killed fit of the same run is continued.
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cotlit.errors import CotlitError

CONFIG_AXIS = "config"
"""The axis key whose values are extra ``--config`` files (a path or a list of paths per value)."""
DEFAULT_FIT = "{python} -m cotlit fit {configs} {overrides} --run_dir {run_dir} {resume}"
DEFAULT_TEST = (
    "{python} -m cotlit test --config {run_dir}/config.yaml"
    " --ckpt_path {run_dir}/checkpoints/last.ckpt --run_dir {run_dir}"
)
RESUME = "{resume}"
"""Fit-template token that becomes ``--ckpt_path=last`` when the runner continues a killed fit."""
_GRID_KEYS = {"name", "runs_dir", "configs", "overrides", "axes", "include", "exclude", "fit", "test", "slurm",
              "results_dir"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SLURM_OPTION = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")


@dataclass(frozen=True)
class Axis:
    """One dimension of the grid."""

    key: str
    """A LightningCLI dotted key (``data.init_args.granularity``) or ``config``."""
    name: str
    """Short name used in run names and in include/exclude entries."""
    values: tuple[Any, ...]

    def label(self, value: Any) -> str:
        """The value as it appears in a run name: config files by stem, ``null`` as ``none``."""
        if self.key == CONFIG_AXIS:
            paths = value if isinstance(value, list) else [value]
            text = "+".join(Path(str(p)).stem for p in paths)
        elif value is None:
            text = "none"
        elif isinstance(value, bool):
            text = str(value).lower()
        elif isinstance(value, (list, dict)):
            text = json.dumps(value, separators=(",", ":"), sort_keys=True)
        else:
            text = str(value)
        return _UNSAFE.sub("-", text).strip("-") or "empty"

    def matches(self, run_value: Any, wanted: Any) -> bool:
        """Whether an include/exclude entry value selects ``run_value`` (a list selects any of its items)."""
        if _same(run_value, wanted) or (self.key == CONFIG_AXIS and wanted == self.label(run_value)):
            return True
        return isinstance(wanted, list) and any(self.matches(run_value, item) for item in wanted)


@dataclass(frozen=True)
class RunSpec:
    """One run of the grid: where it lives and what it is given."""

    index: int
    """Position in the expanded grid (``--only_index``)."""
    name: str
    values: dict[str, Any]
    """Axis name -> value."""
    configs: tuple[str, ...]
    """``--config`` files, base files first, then the config axis's."""
    overrides: dict[str, Any]
    """Dotted key -> value: the grid's fixed overrides, then the axes'."""


@dataclass(frozen=True)
class Grid:
    """A parsed grid file."""

    path: Path
    name: str
    runs_dir: Path
    configs: tuple[str, ...]
    overrides: dict[str, Any]
    axes: tuple[Axis, ...]
    include: tuple[dict[str, Any], ...] = ()
    """Entries keyed by axis name."""
    exclude: tuple[dict[str, Any], ...] = ()
    """Entries keyed by axis name."""
    fit: str = DEFAULT_FIT
    test: str | None = DEFAULT_TEST
    """None when the fit command itself tests and writes ``metrics.json``."""
    slurm: dict[str, str] = field(default_factory=dict)
    results_dir: Path | None = None
    """Where finished runs are published (``cotlit sweep --publish``) and reused from instead of being run."""

    def expand(self) -> list[RunSpec]:
        """Every run: the product minus exclusions, then the includes; duplicates (by name) once."""
        hits = [0] * len(self.exclude)
        assignments: list[dict[str, Any]] = []
        for combo in itertools.product(*(axis.values for axis in self.axes)):
            values = {axis.name: value for axis, value in zip(self.axes, combo)}
            excluded = [i for i, entry in enumerate(self.exclude) if self._selects(entry, values)]
            for i in excluded:
                hits[i] += 1
            if not excluded:
                assignments.append(values)
        for i, hit in enumerate(hits):
            if not hit:
                raise CotlitError("matches no run of the product (check names and value types)",
                                  path=self.path, record=i, field="exclude")
        for entry in self.include:
            free = [axis for axis in self.axes if axis.name not in entry]
            for combo in itertools.product(*(axis.values for axis in free)):
                fixed = dict(zip((axis.name for axis in free), combo)) | entry
                assignments.append({axis.name: fixed[axis.name] for axis in self.axes})
        runs: list[RunSpec] = []
        seen: dict[str, dict[str, Any]] = {}
        for values in assignments:
            name = "__".join(f"{axis.name}={axis.label(values[axis.name])}" for axis in self.axes) or "run"
            if name in seen:
                if all(_same(seen[name][k], v) for k, v in values.items()):
                    continue
                raise CotlitError(f"two different runs are both named {name!r}: {seen[name]} and {values}",
                                  path=self.path, field="axes")
            seen[name] = values
            runs.append(self._run(len(runs), name, values))
        return runs

    def run_dir(self, run: RunSpec) -> Path:
        return self.runs_dir / run.name

    def command(self, template: str, run: RunSpec, resume: bool = False) -> list[str]:
        """Fill a command template: ``{configs}`` and ``{overrides}`` are whole tokens that expand to several
        arguments, ``{resume}`` to ``--ckpt_path=last`` or nothing; ``{run_dir}`` and ``{python}`` are replaced
        inside any token."""
        run_dir = str(self.run_dir(run))
        argv: list[str] = []
        for token in shlex.split(template):
            if token == RESUME:
                argv += ["--ckpt_path=last"] if resume else []
            elif token == "{configs}":
                argv += [arg for path in run.configs for arg in ("--config", path)]
            elif token == "{overrides}":
                argv += [f"--{key}={cli_value(value)}" for key, value in run.overrides.items()]
            else:
                argv.append(token.replace("{run_dir}", run_dir).replace("{python}", sys.executable))
        return argv

    def _selects(self, entry: dict[str, Any], values: dict[str, Any]) -> bool:
        axes = {axis.name: axis for axis in self.axes}
        return all(axes[name].matches(values[name], wanted) for name, wanted in entry.items())

    def _run(self, index: int, name: str, values: dict[str, Any]) -> RunSpec:
        configs = list(self.configs)
        overrides = dict(self.overrides)
        for axis in self.axes:
            value = values[axis.name]
            if axis.key == CONFIG_AXIS:
                configs += [str(p) for p in (value if isinstance(value, list) else [value])]
            else:
                overrides[axis.key] = value
        return RunSpec(index, name, values, tuple(configs), overrides)


def cli_value(value: Any) -> str:
    """A value as LightningCLI reads it after ``--key=``: ``null``, ``true``, numbers, JSON for lists/dicts."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def load_grid(path: str | Path, runs_dir: str | Path | None = None) -> Grid:
    """Read and check a grid file; ``runs_dir`` overrides the file's own."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise CotlitError(f"cannot read grid file: {err.strerror}", path=path) from None
    except UnicodeDecodeError as err:
        raise CotlitError(f"grid file is not UTF-8 text (invalid byte at offset {err.start})", path=path) from None
    except yaml.YAMLError as err:
        raise CotlitError(f"not valid YAML: {err}", path=path) from None
    if not isinstance(raw, dict):
        raise CotlitError("a grid file must be a mapping", path=path)
    unknown = sorted(set(raw) - _GRID_KEYS)
    if unknown:
        raise CotlitError(f"unknown keys {unknown}; valid: {sorted(_GRID_KEYS)}", path=path)
    name = plain_text(str(raw.get("name") or path.stem), path, "name")
    axes = _axes(path, raw.get("axes") or {})
    by_key = {axis.key: axis.name for axis in axes} | {axis.name: axis.name for axis in axes}
    overrides = _mapping(path, raw, "overrides")
    clash = sorted(set(overrides) & {axis.key for axis in axes})
    if clash:
        raise CotlitError(f"keys {clash} are both fixed overrides and axes", path=path, field="overrides")
    return Grid(
        path=path,
        name=name,
        runs_dir=Path(runs_dir) if runs_dir is not None else Path(raw.get("runs_dir") or Path("runs") / name),
        configs=tuple(str(c) for c in _list(path, raw, "configs")),
        overrides=overrides,
        axes=axes,
        include=tuple(_entry(path, "include", i, e, by_key) for i, e in enumerate(_list(path, raw, "include"))),
        exclude=tuple(_entry(path, "exclude", i, e, by_key) for i, e in enumerate(_list(path, raw, "exclude"))),
        fit=_template(path, raw, "fit", DEFAULT_FIT),
        test=_template(path, raw, "test", DEFAULT_TEST),
        slurm=_slurm(path, raw),
        results_dir=Path(raw["results_dir"]) if raw.get("results_dir") else None,
    )


def plain_text(value: str, path: Path, field: str) -> str:
    """``value`` unless it holds a control character (a newline would start a new line of a generated script)."""
    if _CONTROL.search(value):
        raise CotlitError(f"{value!r} holds a control character (newline, tab, ...), which generated scripts "
                          "cannot carry; remove it", path=path, field=field)
    return value


def _slurm(path: Path, raw: dict[str, Any]) -> dict[str, str]:
    options = {}
    for key, value in _mapping(path, raw, "slurm").items():
        if not _SLURM_OPTION.match(key):
            raise CotlitError("an sbatch option name is letters, digits and '-'", path=path, field=f"slurm.{key}")
        options[key] = plain_text(str(value), path, f"slurm.{key}")
    return options


def _axes(path: Path, raw: Any) -> tuple[Axis, ...]:
    if not isinstance(raw, dict):
        raise CotlitError("expected a mapping of key -> values", path=path, field="axes")
    axes = []
    for key, spec in raw.items():
        key = str(key)
        name = "config" if key == CONFIG_AXIS else key.rsplit(".", 1)[-1]
        if isinstance(spec, dict):
            unknown = sorted(set(spec) - {"name", "values"})
            if unknown:
                raise CotlitError(f"unknown keys {unknown}; valid: ['name', 'values']", path=path, field=key)
            name, spec = str(spec.get("name") or name), spec.get("values")
        if not isinstance(spec, list) or not spec:
            raise CotlitError("an axis needs a non-empty list of values", path=path, field=key)
        if key == CONFIG_AXIS and not all(_is_config_value(v) for v in spec):
            raise CotlitError("config values must be paths or lists of paths", path=path, field=key)
        axes.append(Axis(key, name, tuple(spec)))
    names = [axis.name for axis in axes]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise CotlitError(f"axis names {duplicated} are used twice; give the axes distinct 'name's",
                          path=path, field="axes")
    return tuple(axes)


def _entry(path: Path, section: str, index: int, entry: Any, by_key: dict[str, str]) -> dict[str, Any]:
    if not isinstance(entry, dict) or not entry:
        raise CotlitError("expected a non-empty mapping of axis -> value", path=path, record=index, field=section)
    unknown = sorted(str(k) for k in entry if k not in by_key)
    if unknown:
        raise CotlitError(f"names no axis: {unknown}; axes: {sorted(set(by_key.values()))}",
                          path=path, record=index, field=section)
    return {by_key[key]: value for key, value in entry.items()}


def _list(path: Path, raw: dict[str, Any], key: str) -> list[Any]:
    value = raw.get(key) or []
    if not isinstance(value, list):
        raise CotlitError("expected a list", path=path, field=key)
    return value


def _mapping(path: Path, raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise CotlitError("expected a mapping", path=path, field=key)
    return {str(k): v for k, v in value.items()}


def _template(path: Path, raw: dict[str, Any], key: str, default: str) -> str | None:
    value = raw.get(key, default)
    if value is None and key == "test":
        return None
    if not isinstance(value, str) or "{run_dir}" not in value:
        raise CotlitError("expected a command string containing {run_dir}", path=path, field=key)
    return value


def _is_config_value(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and all(isinstance(v, str) for v in value)
    return isinstance(value, str)


def _same(a: Any, b: Any) -> bool:
    """Equality that keeps ``1``, ``1.0`` and ``True`` apart (YAML types matter on the command line)."""
    return type(a) is type(b) and a == b
