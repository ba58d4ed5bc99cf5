"""``scripts/gpu_check.py --dry-run``: the GPU check's every arm runs end to end on the CPU (a tiny student).

A device session has minutes, not hours: the script it runs must not fail on an argument or a missing key.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_dry_run_times_both_lora_modes_on_every_loss_path_and_packed(tmp_path: Path) -> None:
    # liger is asked for too: skipped with a note on a CPU, the other paths still run
    env = os.environ | {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "TOKENIZERS_PARALLELISM": "false"}
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts/gpu_check.py"), "--dry-run", "--pack",
         "--losses=full_logits,chunked,liger", f"--workdir={tmp_path / 'work'}", f"--json={out}"],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    installed = importlib.util.find_spec("liger_kernel") is not None
    why = "it runs on CUDA only" if installed else "liger_kernel is not installed"
    assert f"loss path liger skipped: {why}" in done.stderr
    results = json.loads(out.read_text())["results"]
    runs = [(r["mode"], r["loss"], r["packed"]) for r in results]
    assert runs == [("lora", "full_logits", False), ("lora", "chunked", False), ("lora", "chunked", True),
                    ("lora_bf16", "full_logits", False), ("lora_bf16", "chunked", False),
                    ("lora_bf16", "chunked", True)]
    assert all("error" not in r and r["adapter"] and r["test_n"] == 4 for r in results)
    for unpacked, packed in zip(results[1::3], results[2::3], strict=True):
        assert packed["batch_size"] == max(1, round(unpacked["tokens_per_step"] / 1024))
        assert packed["padding_efficiency"] > 0.9
    assert "a fit-search probe (3 steps of 8) ran" in done.stdout
