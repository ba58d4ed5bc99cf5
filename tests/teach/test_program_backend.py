"""The program teacher writes the full 6-level x 4-format grid for arithmetic problems, exactly and offline."""

from __future__ import annotations

import io
import json

import pytest

from cotlit.core import FORMATS, LEVELS
from cotlit.data.loaders import load_examples
from cotlit.errors import CotlitError
from cotlit.synthetic.generate import generate_problems
from cotlit.synthetic.teacher import solve
from cotlit.teach.backends.base import BackendConfig
from cotlit.teach.questions import DataConfig
from cotlit.teach.runner import TeachConfig, run_teach


def program_config(tmp_path, **overrides) -> TeachConfig:
    settings = dict(
        task="arithmetic", teacher="program", backend=BackendConfig(name="program"), formats=list(FORMATS),
        data=DataConfig(source="arithmetic", limit=12, seed=3), out_dir=str(tmp_path / "out"), progress=False,
    )
    settings.update(overrides)
    return TeachConfig(**settings)


def test_program_backend_writes_every_level_and_format(tmp_path):
    summary = run_teach(program_config(tmp_path), log=io.StringIO())
    out = tmp_path / "out"
    assert len(summary.files) == len(LEVELS) * len(FORMATS) == 24
    assert all(f.rows == 12 and f.correct == 12 and not f.failed and not f.normalised for f in summary.files)
    problems = generate_problems(12, 3, "train")
    info = json.loads((out / "dataset_info.json").read_text())
    for level in LEVELS:
        for fmt in FORMATS:
            stem = f"arithmetic_program_level{level}" + ("" if fmt == "plain" else f"_{fmt}")
            rows = json.loads((out / info[stem]["file_name"]).read_text())
            assert [r["output"] for r in rows] == [solve(p, level, fmt) for p in problems]
            assert [r["gold"] for r in rows] == [str(p.answer) for p in problems]
            examples = load_examples(stem, dataset_dir=out, task="arithmetic")
            assert {(ex.granularity, ex.format) for ex in examples} == {(level, fmt)}
            assert (out / f"{stem}.profile.json").is_file() and (out / f"{stem}.provenance.jsonl").is_file()
    # a re-run is served entirely from the cache
    again = run_teach(program_config(tmp_path), log=io.StringIO())
    assert (again.tally.sent, again.tally.cached) == (0, 12 * 24)


def test_registry_merge_keeps_other_entries(tmp_path):
    registry = tmp_path / "data" / "dataset_info.json"
    registry.parent.mkdir()
    registry.write_text(json.dumps({"SVAMP_human": {"file_name": "svamp_human_annotation.json"}}))
    run_teach(program_config(tmp_path, levels=[2], formats=["plain"], registry=str(registry)), log=io.StringIO())
    info = json.loads(registry.read_text())
    assert set(info) == {"SVAMP_human", "arithmetic_program_level2"}
    assert info["arithmetic_program_level2"]["file_name"] == "../out/arithmetic_program_level2.json"


def test_program_backend_needs_structured_problems(tmp_path):
    questions = tmp_path / "q_onlyans.json"
    questions.write_text(json.dumps([{"instruction": "What is 2 + 3?", "output": "5"}]))
    with pytest.raises(CotlitError, match="data.source: arithmetic"):
        run_teach(program_config(tmp_path, data=DataConfig(source=str(questions))), log=io.StringIO())


@pytest.mark.parametrize(
    ("field", "value"),
    [("levels", [0]), ("formats", ["fancy"]), ("filter", "maybe"), ("max_attempts", 0), ("teacher", "a/b")],
)
def test_bad_settings_name_the_field(tmp_path, field, value):
    with pytest.raises(CotlitError, match=f"field '{field}'"):
        run_teach(program_config(tmp_path, **{field: value}), log=io.StringIO())
