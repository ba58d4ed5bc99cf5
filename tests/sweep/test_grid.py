from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from cotlit.errors import CotlitError
from cotlit.sweep.grid import cli_value, load_grid

REPO = Path(__file__).resolve().parents[2]


def grid_file(tmp_path: Path, **content) -> Path:
    path = tmp_path / "g.yaml"
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


def test_product_names_and_commands(tmp_path):
    path = grid_file(
        tmp_path,
        configs=["base.yaml"],
        overrides={"data.init_args.train_size": 8},
        axes={"config": {"name": "student", "values": ["students/a.yaml", ["students/b.yaml", "extra.yaml"]]},
              "data.init_args.granularity": [1, None]},
    )
    grid = load_grid(path, runs_dir=tmp_path / "runs")
    runs = grid.expand()
    assert [r.name for r in runs] == [
        "student=a__granularity=1", "student=a__granularity=none",
        "student=b+extra__granularity=1", "student=b+extra__granularity=none",
    ]
    assert [r.index for r in runs] == [0, 1, 2, 3]
    assert runs[3].configs == ("base.yaml", "students/b.yaml", "extra.yaml")
    assert runs[3].overrides == {"data.init_args.train_size": 8, "data.init_args.granularity": None}
    argv = grid.command(grid.fit, runs[1])
    assert argv[:4] == [sys.executable, "-m", "cotlit", "fit"]
    assert argv[4:] == ["--config", "base.yaml", "--config", "students/a.yaml", "--data.init_args.train_size=8",
                        "--data.init_args.granularity=null", "--run_dir", str(tmp_path / "runs" / runs[1].name)]
    test = grid.command(grid.test, runs[0])
    run_dir = str(tmp_path / "runs" / runs[0].name)
    assert test[4:] == ["--config", f"{run_dir}/config.yaml", "--ckpt_path", f"{run_dir}/checkpoints/last.ckpt",
                        "--run_dir", run_dir]


def test_names_are_stable_when_an_axis_grows(tmp_path):
    small = load_grid(grid_file(tmp_path, axes={"seed_everything": [0], "data.init_args.teacher": ["gpt4o"]}))
    big = load_grid(grid_file(tmp_path, axes={"seed_everything": [0, 1], "data.init_args.teacher": ["gpt4o", "x"]}))
    assert small.expand()[0].name == "seed_everything=0__teacher=gpt4o"
    assert small.expand()[0].name in {r.name for r in big.expand()}


def test_include_and_exclude(tmp_path):
    path = grid_file(
        tmp_path,
        axes={"config": {"name": "student", "values": ["s/a.yaml", "s/b.yaml"]},
              "data.init_args.teacher": ["gpt4o", "llama"],
              "data.init_args.granularity": {"name": "level", "values": [1, 5, 6]}},
        exclude=[{"teacher": "llama", "level": [5, 6]}, {"student": "b", "data.init_args.granularity": 1}],
        include=[{"teacher": "human", "level": None}, {"teacher": None, "level": None, "student": "s/a.yaml"}],
    )
    names = [r.name for r in load_grid(path).expand()]
    assert names == [
        "student=a__teacher=gpt4o__level=1", "student=a__teacher=gpt4o__level=5", "student=a__teacher=gpt4o__level=6",
        "student=a__teacher=llama__level=1",
        "student=b__teacher=gpt4o__level=5", "student=b__teacher=gpt4o__level=6",
        "student=a__teacher=human__level=none", "student=b__teacher=human__level=none",
        "student=a__teacher=none__level=none",
    ]


def test_include_duplicate_of_product_is_kept_once(tmp_path):
    path = grid_file(tmp_path, axes={"data.init_args.granularity": [1, 2]}, include=[{"granularity": 2}])
    assert [r.name for r in load_grid(path).expand()] == ["granularity=1", "granularity=2"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"axes": {"a.b": []}}, "non-empty list"),
        ({"axes": {"a.b": [1]}, "exclude": [{"c": 1}]}, "names no axis"),
        ({"axes": {"a.b": [1, 2]}, "exclude": [{"b": "1"}]}, "matches no run"),
        ({"axes": {"a.b": [1]}, "bogus": 1}, "unknown keys"),
        ({"axes": {"x.b": [1], "y.b": [2]}}, "used twice"),
        ({"axes": {"a.b": ["x/y", "x y"]}}, "both named"),
        ({"axes": {"a.b": [1]}, "fit": "cotlit fit"}, "{run_dir}"),
        ({"axes": {"a.b": [1]}, "overrides": {"a.b": 2}}, "both fixed overrides and axes"),
        ({"axes": {"config": [1]}}, "config values"),
    ],
)
def test_bad_grids_name_the_problem(tmp_path, content, message):
    with pytest.raises(CotlitError, match="g.yaml") as err:
        load_grid(grid_file(tmp_path, **content)).expand()
    assert message in str(err.value)


def test_cli_values():
    assert [cli_value(v) for v in (None, True, 3, 0.5, "gpt4o", [1, 2], {"a": 1})] == [
        "null", "true", "3", "0.5", "gpt4o", "[1, 2]", '{"a": 1}']


def test_shipped_grids_expand():
    sweeps = {p.stem: load_grid(p).expand() for p in sorted((REPO / "configs" / "sweeps").glob("*.yaml"))}
    svamp = sweeps["svamp_granularity"]
    # 7 students x (gpt4o 6 + gemini 6 + llama 4 + human + answer-only)
    assert len(svamp) == 7 * 18
    assert not [r for r in svamp if r.values["teacher"] == "llama" and r.values["granularity"] in (5, 6)]
    assert len(sweeps["svamp_format"]) == 7 * 2 * 4
    cpu = sweeps["cpu_arithmetic"]
    assert sorted(r.values["granularity"] or 0 for r in cpu) == [0, 1, 3, 6]
    assert all({"data.init_args.train_size", "data.init_args.test_size"} <= set(r.overrides) for r in cpu)
