#!/bin/bash
# A batch whose processors run as SLURM job steps: each connection of the pool is one
# `srun ... slicerbridge-server --stdio`, talking over the step's standard input and output.
#   slicerbridge-batch.sh INPUT_GLOB OUTPUT_DIR [JOBS]
# Run it where srun works (a login node, or inside an salloc/sbatch allocation).
# Not run in CI: a SLURM cluster (slurmctld, slurmd, munge) is a system service setup that
# needs systemd-style daemons and a munge key; see README "Clusters" for a one-node set-up.
set -euo pipefail
inputs=$1 out=$2 jobs=${3:-4}
server=${SLICERBRIDGE_SERVER_BIN:-slicerbridge-server}
exec slicerbridge --launch "srun --ntasks=1 --cpus-per-task=2 --quiet $server --stdio" \
  batch gaussian_smoothing --input "input=$inputs" --param sigma=1.5 \
  --output 'output={item}_smooth.nrrd' --output-dir "$out" --jobs "$jobs" --progress lines
