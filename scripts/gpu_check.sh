#!/usr/bin/env bash
# GPU smoke-and-speed check (< 5 minutes on one H100, no internet): QLoRA, LoRA and full fine-tuning of a
# random-weight Llama-3.2-1B-shaped student, each a fixed number of steps and a test pass; prints tokens/s,
# peak GPU memory and MFU per mode. Options: see `bash scripts/gpu_check.sh --help` (e.g. --peak-tflops for a
# card it does not know). Exits non-zero with one line when no GPU is visible or a mode fails.
set -euo pipefail
cd "$(dirname "$0")/.."
python=python3
if [[ -x .venv/bin/python ]]; then python=.venv/bin/python; fi
exec "$python" scripts/gpu_check.py "$@"
