"""Every shipped config parses, and every fit it composes has a finite budget.

Students, data, recipes, teach configs and the quickstart parse with the classes they configure; every run of every
sweep composes (YAML merge of its configs and overrides) to explicit, finite epochs or steps, since Lightning
turns ``max_epochs: null, max_steps: -1`` into 1000 epochs. One run of each sweep, and each paper recipe
composition, also goes through ``cotlit fit --print_config``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from cotlit.sweep.grid import RunSpec, cli_value, load_grid

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"
SWEEPS = sorted((CONFIGS / "sweeps").glob("*.yaml"))
TASKS = ("svamp", "gsm8k", "aqua", "math", "csqa", "obqa", "strategyqa")
PAPER = {"finetuning": "full", "lr": 5.0e-5, "warmup": 0, "schedule": "cosine", "scoring": "paper"}
PAPER_DATA = {"batch_size": 4, "global_batch_size": 64, "val_size": 0, "max_length": 4096, "seed": 100,
              "target_style": "paper", "eval_prompt": "paper"}


def rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def finite_budget(config: dict[str, Any]) -> bool:
    trainer = config.get("trainer") or {}
    epochs, steps = trainer.get("max_epochs"), trainer.get("max_steps")
    return (isinstance(epochs, int) and epochs > 0) or (isinstance(steps, int) and steps > 0)


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        both = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = merge(merged[key], value) if both else value
    return merged


def compose(run: RunSpec) -> dict[str, Any]:
    """A run's config files merged left to right, then its dotted overrides: what its ``fit`` is given."""
    config: dict[str, Any] = {}
    for path in run.configs:
        config = merge(config, yaml.safe_load((REPO / path).read_text()) or {})
    for key, value in run.overrides.items():
        node: dict[str, Any] = {}
        leaf = node
        *parents, last = key.split(".")
        for part in parents:
            leaf = leaf.setdefault(part, {})
        leaf[last] = value
        config = merge(config, node)
    return config


def parsed_by_fit(run: RunSpec) -> dict[str, Any]:
    """The run's configuration as ``cotlit fit``'s own parser reads it (from the repository root)."""
    from cotlit.cli.config_files import read_configs

    argv = [a for c in run.configs for a in ("--config", c)]
    argv += [f"--{k}={cli_value(v)}" for k, v in run.overrides.items()]
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        return read_configs(argv)
    finally:
        os.chdir(cwd)


def expand(path: Path) -> tuple[Any, list[RunSpec]]:
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        grid = load_grid(rel(path))
        return grid, grid.expand()
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("path", sorted((CONFIGS / "data").glob("*.yaml")), ids=lambda p: p.stem)
def test_data_configs_parse(path: Path) -> None:
    from jsonargparse import ArgumentParser

    import cotlit.cli.train  # noqa: F401  (registers the data plugins)
    from cotlit.data.base import CoTDataModule

    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(CoTDataModule, "data")
    parsed = parser.parse_object({"data": yaml.safe_load(path.read_text())["data"]})
    assert parsed.data.init_args.task


MODEL_CONFIGS = sorted([*(CONFIGS / "students").glob("*.yaml"), *(CONFIGS / "recipes").glob("*.yaml")])


@pytest.mark.parametrize("path", MODEL_CONFIGS, ids=lambda p: p.stem)
def test_student_and_recipe_configs_parse(path: Path) -> None:
    from jsonargparse import ArgumentParser

    from cotlit.model.student import StudentModule

    config = yaml.safe_load(path.read_text())
    model = {"class_path": "cotlit.model.student.StudentModule", **(config.get("model") or {})}
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(StudentModule, "model")
    assert parser.parse_object({"model": model}).model.class_path == "cotlit.model.student.StudentModule"


@pytest.mark.parametrize("path", sorted((CONFIGS / "teach").glob("*.yaml")), ids=lambda p: p.stem)
def test_teach_configs_parse(path: Path) -> None:
    from cotlit.cli.teach import build_parser

    assert build_parser().parse_args(["--config", str(path)]).task


def test_quickstart_has_a_finite_budget() -> None:
    assert finite_budget(yaml.safe_load((CONFIGS / "quickstart.yaml").read_text()))


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.stem)
def test_every_sweep_run_has_a_finite_budget(path: Path) -> None:
    _, runs = expand(path)
    assert runs
    for run in runs:
        assert all((REPO / c).is_file() for c in run.configs), run.configs
        assert finite_budget(compose(run)), f"{path.name}: run {run.name} has no finite epochs or steps"


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.stem)
def test_each_sweep_parses_as_fit_parses_it(path: Path) -> None:
    _, runs = expand(path)
    run = runs[-1]   # the last include: a baseline where the grid has one
    config = parsed_by_fit(run)
    assert finite_budget(config), f"{path.name}: run {run.name}"
    if "configs/recipes/paper.yaml" in run.configs:
        assert_paper_recipe(config)


def assert_paper_recipe(config: dict[str, Any]) -> None:
    model, data = config["model"]["init_args"], config["data"]["init_args"]
    assert {k: model[k] for k in PAPER} == PAPER
    assert {k: data[k] for k in PAPER_DATA} == PAPER_DATA
    assert config["seed_everything"] == 100
    assert (config["trainer"]["max_epochs"], config["trainer"]["gradient_clip_val"]) == (3, 1.0)


@pytest.mark.parametrize("task", TASKS)
def test_paper_sweeps_cover_every_task_on_the_paper_recipe(task: str) -> None:
    grid, runs = expand(CONFIGS / "sweeps" / f"paper_{task}.yaml")
    assert grid.configs[1:] == (f"configs/data/{task}_paper.yaml", "configs/recipes/paper.yaml")
    conditions = {(r.values["teacher"], r.values["granularity"], r.values.get("format", "plain")) for r in runs}
    assert (None, None, "plain") in conditions and ("gpt4o", 6, "plain") in conditions
    assert (("human", None, "plain") in conditions) == (task != "obqa")   # OBQA has no human rationales
    assert len(runs) == 7 * len(conditions)


def sweep_entries(task: str, dataset_dir: Path) -> set[str]:
    """The registry entries the conditions of ``paper_<task>.yaml`` select; each must select exactly one."""
    from cotlit.data.paper import PaperData

    _, runs = expand(CONFIGS / "sweeps" / f"paper_{task}.yaml")
    conditions = {(r.values["teacher"], r.values["granularity"], r.values.get("format", "plain")) for r in runs}
    chosen = set()
    for teacher, granularity, fmt in conditions:
        data = PaperData(task=task, teacher=teacher, granularity=granularity, format=fmt, dataset_dir=str(dataset_dir))
        matches = data.matching_entries()
        assert len(matches) == 1, (teacher, granularity, fmt, matches)
        chosen.add(matches[0])
    assert len(chosen) == len(conditions)
    return chosen


def test_the_paper_sweeps_train_on_every_registry_entry_once(shared_data: Path) -> None:
    from cotlit.data.registry import read_registry

    registry = shared_data / "train"
    per_task = [sweep_entries(task, registry) for task in TASKS]
    assert sum(map(len, per_task)) == len(set().union(*per_task)) == len(read_registry(registry)) == 156
