"""The CLI stays responsive: ``cotlit --help`` and ``cotlit score`` never import the training stack."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "lightning", "transformers", "peft", "datasets")

PROBE = """
import sys
from cotlit.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
print("HEAVY=" + ",".join(heavy), "CODE=" + str(code), file=sys.stderr)
"""


def run_cli(*args: str) -> tuple[str, str]:
    result = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], capture_output=True,
                            text=True, timeout=120)
    marker = result.stderr.strip().splitlines()[-1]
    return result.stdout, marker


def test_help_imports_no_heavy_module():
    out, marker = run_cli("--help")
    assert "commands:" in out
    assert marker == "HEAVY= CODE=0"


@pytest.mark.parametrize("correct", [True, False])
def test_score_imports_no_heavy_module(tmp_path, correct):
    predictions = tmp_path / "predictions.jsonl"
    answer = "5" if correct else "6"
    predictions.write_text(json.dumps({"id": "a", "generated": f"2 + 3 = 5. The answer is {answer}", "gold": "5"})
                           + "\n")
    out, marker = run_cli("score", "--task", "svamp", "--input", str(predictions))
    assert json.loads(out)["accuracy"] == (1.0 if correct else 0.0)
    assert marker == "HEAVY= CODE=0"
