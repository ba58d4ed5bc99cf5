#!/usr/bin/env bash
# GPU smoke-and-speed check (~5 minutes on one H100, no internet): QLoRA, LoRA and full fine-tuning of a
# random-weight Llama-3.2-1B-shaped student, each a fixed number of steps and a test pass, once with the old
# loss path (full_logits) and once with the new one (chunked) on the same batches; prints tokens/s, peak GPU
# memory and MFU per mode and path. --fit-search adds the largest QLoRA and LoRA batch within 24 GB and 80 GB;
# --dry-run checks the script on the CPU. Options: `bash scripts/gpu_check.sh --help` (e.g. --peak-tflops for a
# card it does not know). Exits non-zero with one line when no GPU is visible or a run fails.
set -euo pipefail
cd "$(dirname "$0")/.."
python=python3
if [[ -x .venv/bin/python ]]; then python=.venv/bin/python; fi
exec "$python" scripts/gpu_check.py "$@"
