#!/usr/bin/env bash
# The SlicerBridge demo: the reference server on loopback, a synthetic oblique CT-like phantom,
# and a processing chain run through the command line, file in, file out:
#   smoothing -> threshold -> connected components -> label statistics
#             -> iso-surface -> surface smoothing -> decimation
# then exports the processors as 3D Slicer CLI modules and runs one as Slicer would.
# Outputs go to demo-output/; the end shows where the time went, from each response's timings.
# Usage: examples/demo.sh BUILD_DIR
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$build/reference_server"
python=/usr/bin/python3 # Debian's interpreter, with numpy
for program in "$bin/slicerbridge-server" "$bin/slicerbridge" "$bin/slicerbridge-phantom" \
  "$build/reference_slicer_adapter/cli_module/slicerbridge-cli-module"; do
  if [ ! -x "$program" ]; then
    echo "demo: $program is missing; build first (./run.sh build)" >&2
    exit 1
  fi
done
out="$root/demo-output"
rm -rf "$out"
mkdir -p "$out"

server_pid=
stop_server() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}
trap stop_server EXIT

"$bin/slicerbridge-server" --listen 127.0.0.1:0 --workers 2 --log-level info \
  >"$out/server.out" 2>"$out/server.log" &
server_pid=$!
for _ in $(seq 200); do
  [ -s "$out/server.out" ] && break
  sleep 0.05
done
address=$(sed -n '1s/^listening on //p' "$out/server.out")
if [ -z "$address" ]; then
  echo "demo: the server did not start:" >&2
  cat "$out/server.log" >&2
  exit 1
fi
echo "== reference server listening on $address (loopback only; log in demo-output/server.log)"
"$bin/slicerbridge" --server "$address" list | sed 's/^/   /'

echo
echo "== a 128^3 int16 phantom with oblique geometry, written as NRRD in LPS"
"$bin/slicerbridge-phantom" "$out/phantom.nrrd" --size 128 --space LPS | sed 's/^/   /'
sed -n '/^space/p;/^sizes/p' "$out/phantom.nrrd" | head -4 | sed 's/^/   /'

timings="$out/timings.txt"
: >"$timings"
step() { # TITLE PROCESSOR ARGS...: runs one processor, recording its timings and wall time
  local title=$1 processor=$2
  shift 2
  echo
  echo "== $title"
  local started ended
  started=$(date +%s.%N)
  "$bin/slicerbridge" --server "$address" run "$processor" "$@" --timings --progress auto \
    >"$out/step.out"
  ended=$(date +%s.%N)
  grep -v '^timings ' "$out/step.out" | sed 's/^/   /' || true
  local line
  line=$(grep '^timings ' "$out/step.out")
  echo "   $line"
  echo "$processor $(echo "$line" | sed -E 's/.*receiving ([0-9.]+) s, queued ([0-9.]+) s, computing ([0-9.]+) s, sending ([0-9.]+) s, round trip ([0-9.]+) s/\1 \2 \3 \4 \5/') $(awk -v a="$started" -v b="$ended" 'BEGIN { print b - a }')" >>"$timings"
}

step "Gaussian smoothing, sigma 1.5 mm (isotropic in space on the oblique grid)" gaussian_smoothing \
  --input volume="$out/phantom.nrrd" --param sigma=1.5 --output smoothed="$out/smoothed.nrrd"
step "threshold at 80 -> label map" threshold \
  --input volume="$out/smoothed.nrrd" --param lower=80 --output labels="$out/threshold.nrrd"
step "connected components, largest first" connected_components \
  --input labels="$out/threshold.nrrd" --param minimum_size=100 --output components="$out/components.nrrd"
step "label statistics (volumes, intensities, RAS centroids)" label_statistics \
  --input labels="$out/components.nrrd" --input volume="$out/phantom.nrrd" \
  --output statistics="$out/statistics.csv"
awk -F, '{ line = "   "
           for (i = 1; i <= NF; ++i) {
             cell = ($i ~ /^-?[0-9]+\.[0-9]*(e[-+]?[0-9]+)?$/) ? sprintf("%.6g", $i) : $i
             line = line sprintf("%-13s", cell)
           }
           print line }' \
  "$out/statistics.csv"
step "iso-surface of every component, in the image's space" iso_surface \
  --input volume="$out/components.nrrd" --output surface="$out/surface.vtp"
step "windowed sinc surface smoothing" mesh_smoothing \
  --input mesh="$out/surface.vtp" --param iterations=30 --output smoothed="$out/surface-smoothed.vtp"
step "quadric decimation, 75 %" mesh_decimation \
  --input mesh="$out/surface-smoothed.vtp" --param target_reduction=0.75 \
  --output decimated="$out/surface-decimated.stl"

echo
echo "== where the time went (seconds; server: receiving, queued, computing, sending;"
echo "   client: round trip of the call; wall: the whole command, reading and writing files)"
awk 'BEGIN { printf "   %-22s %10s %8s %10s %8s %11s %8s\n", "processor", "receiving", "queued", "computing", "sending", "round trip", "wall" }
     { printf "   %-22s %10.4f %8.4f %10.4f %8.4f %11.4f %8.3f\n", $1, $2, $3, $4, $5, $6, $7
       r += $2; q += $3; c += $4; s += $5; t += $6; w += $7 }
     END { printf "   %-22s %10.4f %8.4f %10.4f %8.4f %11.4f %8.3f\n", "total", r, q, c, s, t, w }' "$timings"

proxy="$build/reference_slicer_adapter/cli_module/slicerbridge-cli-module"
echo
echo "== the server's processors as 3D Slicer CLI modules (Settings > Modules > Additional module"
echo "   paths: demo-output/slicer-modules; nothing to build in Slicer)"
"$proxy" --server "$address" --output_directory "$out/slicer-modules" | sed 's/^/   /'
echo
echo "== threshold run as Slicer runs that module: files where Slicer writes them, its command"
echo "   line, its progress reading, the return parameter file"
mkdir -p "$out/slicer-work"
"$python" "$root/examples/run_like_slicer.py" "$out/slicer-modules" SlicerBridge_threshold \
  "$out/slicer-work" volume=vtkMRMLScalarVolumeNode1 labels=vtkMRMLLabelMapVolumeNode1 \
  lower=80 --file volume="$out/smoothed.nrrd"

stop_server
echo
echo "== server stopped; outputs in demo-output/:"
ls -l "$out" | awk 'NR > 1 { printf "   %10d  %s\n", $5, $9 }'
