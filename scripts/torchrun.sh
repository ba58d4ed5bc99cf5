#!/usr/bin/env bash
# One machine, N processes (one per GPU) of `cotlit fit`, started by torchrun; Lightning reads torchrun's
# environment (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) and starts no processes of its own.
#
#   scripts/torchrun.sh NUM_GPUS [cotlit fit arguments...]
#   scripts/torchrun.sh 4 --config configs/quickstart.yaml --config configs/trainer/ddp.yaml
#
# All ranks share one run directory: --run_dir (or the config's run_dir), else COTLIT_RUN_DIR, else
# runs/fit-<time> chosen here once. The trainer's devices are set to NUM_GPUS (after your arguments, so it wins).
set -euo pipefail
if [[ $# -lt 1 || ! $1 =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 NUM_GPUS [cotlit fit arguments...]" >&2
    exit 2
fi
procs=$1
shift
export COTLIT_RUN_DIR=${COTLIT_RUN_DIR:-runs/fit-$(date +%Y%m%d-%H%M%S)}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}
exec torchrun --standalone --nproc_per_node="$procs" -m cotlit fit "$@" --trainer.devices="$procs" \
    --trainer.num_nodes=1
