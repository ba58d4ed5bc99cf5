"""The README's "Train on your own data" journey runs exactly as written, on the real offline student."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def journey_commands(heading: str) -> list[list[str]]:
    """The ``.venv/bin/cotlit`` commands of the first bash block under ``heading`` in README.md."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index(heading):]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1).replace("\\\n", " ")
    return [shlex.split(line) for line in block.splitlines() if line.startswith(".venv/bin/cotlit")]


@pytest.mark.slow
def test_own_data_journey_renders_and_fits_as_written(tmp_path):
    commands = journey_commands("### Train on your own data")
    assert [argv[1] for argv in commands] == ["render", "fit"]
    outputs = []
    for argv in commands:
        argv = [sys.executable, "-m", "cotlit", *argv[1:]]
        if "--run_dir" in argv:  # the README's runs/mine, here in a temporary folder
            argv[argv.index("--run_dir") + 1] = str(tmp_path / "mine")
        done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        outputs.append(done.stdout)
    assert re.search(r"^train +6 +0 +0 ", outputs[0], re.M)  # 6 training rows (2 held out), none skipped or dropped
    metrics = json.loads((tmp_path / "mine" / "metrics.json").read_text())
    assert metrics["n"] == 4 and metrics["teacher"] == "my-teacher" and metrics["granularity"] == 2
    rows = [json.loads(line) for line in (tmp_path / "mine" / "predictions.jsonl").read_text().splitlines()]
    assert [row["gold"] for row in rows] == ["30", "25", "36", "4"]
