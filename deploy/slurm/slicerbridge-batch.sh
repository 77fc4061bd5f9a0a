#!/bin/bash
# A batch whose processors run as SLURM job steps: each connection of the pool is one
# `srun ... slicerbridge-server --stdio`, talking over the step's standard input and output.
#   slicerbridge-batch.sh INPUT_GLOB OUTPUT_DIR [JOBS]
# Run it where srun works (a login node, or inside an salloc/sbatch allocation).
# `--unbuffered` is required: without it slurmstepd holds a step's output until a newline, and
# a frame rarely ends in one, so the first answer never arrives. (With it, Slurm 22.05 gives
# the step a terminal in raw mode: the bytes pass unchanged, checked by deploy/tests.)
# Tried on one machine with deploy/slurm/local_cluster.sh; see README "SLURM and ssh".
set -euo pipefail
inputs=$1 out=$2 jobs=${3:-4}
server=${SLICERBRIDGE_SERVER_BIN:-slicerbridge-server}
exec slicerbridge --launch "srun --unbuffered --quiet --ntasks=1 --cpus-per-task=2 $server --stdio" \
  batch gaussian_smoothing --input "input=$inputs" --param sigma=1.5 \
  --output 'output={item}_smooth.nrrd' --output-dir "$out" --jobs "$jobs" --progress lines
