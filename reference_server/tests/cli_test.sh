#!/usr/bin/env bash
# The command line against the reference server over loopback: listing and describing, a chain
# of processors on files with their geometry kept, format round trips, cancel, tokens, TLS and the
# documented exit codes. Usage: cli_test.sh SERVER_BINARY CLI_BINARY PHANTOM_BINARY
set -uo pipefail
server_bin=$1
cli=$2
phantom=$3
python=/usr/bin/python3
work=$(mktemp -d)
pids=()

cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
pass() { echo "ok: $1"; }
fail() {
  echo "FAIL: $1"
  failures=$((failures + 1))
}

# start_server NAME ARGS...: starts the server, waits (bounded) for its first line, sets $address.
start_server() {
  local name=$1
  shift
  "$server_bin" "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  for _ in $(seq 200); do
    [ -s "$work/$name.out" ] && break
    sleep 0.05
  done
  address=$(sed -n '1s/^listening on //p' "$work/$name.out")
}

# run_status EXPECTED DESCRIPTION COMMAND...: runs COMMAND, output in $work/out and $work/err.
run_status() {
  local expected=$1 description=$2
  shift 2
  "$@" >"$work/out" 2>"$work/err"
  local status=$?
  if [ "$status" -eq "$expected" ]; then
    pass "$description (exit $status)"
  else
    fail "$description: exit $status, expected $expected"
    sed 's/^/    /' "$work/err"
  fi
}

start_server main --listen 127.0.0.1:0
if [[ "$address" =~ ^127\.0\.0\.1:[0-9]+$ ]]; then
  pass "the server's first line names its loopback address [SEC-1]"
else
  fail "no 'listening on 127.0.0.1:PORT' first line: $(cat "$work/main.out" "$work/main.err")"
  exit 1
fi
sb() { "$cli" --server "$address" "$@"; }

# ---- catalog --------------------------------------------------------------------------------
run_status 0 "list" sb list
for name in echo slow fail gaussian_smoothing threshold connected_components label_statistics \
  iso_surface mesh_smoothing mesh_decimation resample; do
  grep -q "^$name " "$work/out" || fail "list lacks $name"
done
run_status 0 "describe --json" sb describe threshold --json
"$python" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["name"]=="threshold"; assert [p["name"] for p in d["parameters"]]==["lower","upper","inside_value","outside_value"]' "$work/out" \
  && pass "describe --json is the description as JSON [CAT-6]" || fail "describe --json content"
run_status 0 "describe (human readable)" sb describe resample
grep -q "interpolation" "$work/out" || fail "describe lacks the interpolation parameter"
run_status 1 "describe of an unknown processor fails the call [CAT-2]" sb describe no_such_processor

# ---- usage, file and connection errors ----------------------------------------------------
run_status 2 "no command is a usage error" "$cli" --server "$address"
run_status 2 "an unknown command is a usage error" sb frobnicate
run_status 2 "an unknown parameter is a usage error" sb run threshold --param nope=1
run_status 2 "a malformed parameter value is a usage error" sb run slow --param seconds=soon
run_status 2 "an unknown enum choice is a usage error" sb run resample --param interpolation=sinc
run_status 4 "a missing input file is a file error" sb run threshold --input volume="$work/missing.nrrd"
run_status 3 "no server listening is a connection failure" "$cli" --server 127.0.0.1:1 list
run_status 1 "a failing processor fails the call [INV-5]" sb run fail --param code=1234
grep -q "1234" "$work/err" || fail "the failure does not show the processor's code"
run_status 1 "a passed deadline fails the call [INV-6]" sb run slow --param seconds=30 --deadline 0.2
grep -q "deadline" "$work/err" || fail "the deadline failure is not named"

# ---- a chain on an oblique phantom ----------------------------------------------------------
run_status 0 "phantom" "$phantom" "$work/phantom.nrrd" --size 48
centres=$(sed -n 's/.*spheres (RAS mm) at \([^ ]*\) r=.* and \([^ ]*\) r=.*/\1 \2/p' "$work/out")
run_status 0 "gaussian_smoothing" sb run gaussian_smoothing --input volume="$work/phantom.nrrd" \
  --param sigma=1.5 --output smoothed="$work/smoothed.nrrd"
run_status 0 "threshold" sb run threshold --input volume="$work/smoothed.nrrd" --param lower=80 \
  --output labels="$work/labels.nrrd"
run_status 0 "connected_components" sb run connected_components --input labels="$work/labels.nrrd" \
  --output components="$work/components.nrrd"
run_status 0 "label_statistics" sb run label_statistics --input labels="$work/components.nrrd" \
  --input volume="$work/phantom.nrrd" --output statistics="$work/statistics.csv" --timings
grep -Eq "^timings label_statistics: receiving [0-9.]+ s, queued [0-9.]+ s, computing [0-9.]+ s, sending [0-9.]+ s, round trip [0-9.]+ s$" "$work/out" \
  && pass "--timings prints the server's timings and the round trip [TIME-1]" || fail "--timings line: $(cat "$work/out")"
"$python" - "$work/statistics.csv" $centres <<'PY' && pass "label statistics find both spheres at their RAS centres" || fail "label statistics centroids"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
expected = [tuple(map(float, c.split(","))) for c in sys.argv[2:4]]
assert len(rows) == 2, rows
for row in rows:
    found = (float(row["centroid_r"]), float(row["centroid_a"]), float(row["centroid_s"]))
    assert min(sum((a - b) ** 2 for a, b in zip(found, e)) ** 0.5 for e in expected) < 1.0, found
assert float(rows[0]["mean"]) > 100
PY
run_status 0 "iso_surface" sb run iso_surface --input volume="$work/components.nrrd" \
  --output surface="$work/surface.vtp"
run_status 0 "mesh_smoothing" sb run mesh_smoothing --input mesh="$work/surface.vtp" \
  --output smoothed="$work/smoothed.vtk"
run_status 0 "mesh_decimation" sb run mesh_decimation --input mesh="$work/smoothed.vtk" \
  --output decimated="$work/decimated.stl"
run_status 0 "a table output to standard output" sb run label_statistics --quiet \
  --input labels="$work/components.nrrd" --output statistics=-
head -1 "$work/out" | grep -q "^label,voxel_count,volume_mm3,centroid_r" \
  && pass "CSV on standard output" || fail "CSV on standard output: $(head -2 "$work/out")"

# ---- formats keep voxels and geometry -------------------------------------------------------
previous="$work/phantom.nrrd"
for next in nii.gz mha mhd vti nrrd; do
  run_status 0 "echo to .$next" sb run echo --input image="$previous" --output image_out="$work/round.$next"
  previous="$work/round.$next"
done
"$python" - "$work/phantom.nrrd" "$work/round.nrrd" <<'PY' && pass "NRRD -> NIfTI -> MetaImage -> VTI -> NRRD keeps voxels and geometry (to float32)" || fail "round trip through the formats"
import sys
def read(path):
    data = open(path, "rb").read()
    head, body = data.split(b"\n\n", 1)
    fields = dict(line.split(": ", 1) for line in head.decode().splitlines()[1:] if ": " in line)
    directions = [list(map(float, v.strip("()").split(","))) for v in fields["space directions"].split()]
    origin = list(map(float, fields["space origin"].strip("()").split(",")))
    if fields["space"] == "left-posterior-superior":
        directions = [[-d[0], -d[1], d[2]] for d in directions]
        origin = [-origin[0], -origin[1], origin[2]]
    return fields["sizes"], fields["type"], directions, origin, body
a, b = read(sys.argv[1]), read(sys.argv[2])
assert a[0] == b[0] and a[1] == b[1] and a[4] == b[4]
for x, y in zip(sum(a[2], []) + a[3], sum(b[2], []) + b[3]):
    assert abs(x - y) < 1e-4, (x, y)  # NIfTI keeps its matrices in float32
PY

# ---- cancel with Ctrl-C ---------------------------------------------------------------------
"$cli" --server "$address" run slow --param seconds=60 --progress lines >"$work/slow.out" 2>"$work/slow.err" &
slow_pid=$!
for _ in $(seq 200); do
  grep -q "^progress:" "$work/slow.err" && break
  sleep 0.05
done
kill -INT "$slow_pid"
wait "$slow_pid"
status=$?
if [ "$status" -eq 130 ] && grep -q "cancelling the call" "$work/slow.err" && grep -q "was cancelled" "$work/slow.err"; then
  pass "Ctrl-C cancels the remote call and exits 130 [CANCEL-2]"
else
  fail "Ctrl-C: exit $status; $(cat "$work/slow.err")"
fi

# Ctrl-C at a terminal signals the whole foreground process group: a launched processor leads
# its own, so the signal reaches only the command line, which cancels the call.
setsid "$cli" --launch "$server_bin --stdio" run slow --param seconds=60 --progress lines \
  >"$work/slow-launch.out" 2>"$work/slow-launch.err" &
slow_pid=$!
for _ in $(seq 200); do
  grep -q "^progress:" "$work/slow-launch.err" && break
  sleep 0.05
done
kill -INT -- "-$slow_pid"
wait "$slow_pid"
status=$?
if [ "$status" -eq 130 ] && grep -q "was cancelled" "$work/slow-launch.err"; then
  pass "Ctrl-C to the process group of --launch cancels the call and exits 130"
else
  fail "Ctrl-C with --launch: exit $status; $(cat "$work/slow-launch.err")"
fi

# ---- messages that say what went wrong ------------------------------------------------------
run_status 1 "a misspelt processor" "$cli" --server "$address" run threshhold
grep -q 'no processor named "threshhold" (did you mean "threshold"?)' "$work/err" &&
  pass "a misspelt processor gets the likeliest one meant" || fail "misspelt: $(cat "$work/err")"
run_status 3 "a launched processor that exits before its hello" \
  "$cli" --launch "$python -c 'import sys; sys.stderr.write(\"no GPU here\\n\"); sys.exit(7)'" list
grep -q "no GPU here" "$work/err" && grep -q "the processor exited with status 7 before the handshake" "$work/err" &&
  pass "its exit status and standard error are shown" || fail "early exit: $(cat "$work/err")"
run_status 3 "a launched processor that prints to standard output" \
  "$cli" --launch "$python -c 'print(\"loading model\"); import time; time.sleep(5)'" list
grep -q 'not a SlicerBridge frame to its standard output: "loading model.*print()' "$work/err" &&
  pass "stray output is quoted and blamed on a print()" || fail "stray output: $(cat "$work/err")"

# ---- other transports and security ----------------------------------------------------------
run_status 0 "--launch talks to a server over its standard input and output" \
  "$cli" --launch "$server_bin --stdio" run echo --input image="$work/phantom.nrrd" --output image_out="$work/stdio.nrrd"
cmp -s "$work/phantom.nrrd" "$work/stdio.nrrd" && pass "the image went through stdio unchanged [IMG-5]" || fail "stdio echo changed the file"
run_status 2 "a non-loopback address without token or TLS is refused [SEC-2]" "$server_bin" --listen 0.0.0.0:0
grep -q "refusing" "$work/err" || fail "the refusal is not explained"
run_status 2 "a worker spin that is not a whole number is a usage error" "$server_bin" --listen 127.0.0.1:0 --worker-spin-us soon
start_server nospin --listen 127.0.0.1:0 --worker-spin-us 0
run_status 0 "a server whose idle workers sleep at once answers calls" "$cli" --server "$address" run slow --param seconds=0.01
start_server unix --unix "$work/server.sock"
[ "$address" = "unix:$work/server.sock" ] && pass "a Unix socket address is printed" || fail "unix address: $address"
[ "$(stat -c %a "$work/server.sock")" = 600 ] && pass "the Unix socket is private to its owner [SEC-10]" || fail "socket mode $(stat -c %a "$work/server.sock")"
run_status 0 "ping over the Unix socket" "$cli" --server "unix:$work/server.sock" ping
start_server token --listen 127.0.0.1:0 --token s3cret-token-for-the-tests-0123456789
run_status 3 "a missing token is refused [SEC-3]" "$cli" --server "$address" list
run_status 3 "a wrong token is refused [SEC-3]" "$cli" --server "$address" --token wrong list
run_status 0 "the right token is accepted [SEC-3]" "$cli" --server "$address" --token s3cret-token-for-the-tests-0123456789 list
SLICERBRIDGE_TOKEN=s3cret-token-for-the-tests-0123456789 run_status 0 "the token from SLICERBRIDGE_TOKEN" "$cli" --server "$address" list
printf 'f1le-token-for-the-tests-0123456789\r\n' > "$work/server.token"
start_server tokenfile --listen 127.0.0.1:0 --token-file "$work/server.token"
run_status 3 "a server's --token-file: another token is refused [SEC-3]" "$cli" --server "$address" --token s3cret-token-for-the-tests-0123456789 list
printf 'f1le-token-for-the-tests-0123456789\n' > "$work/client.token"
run_status 0 "a server's --token-file: its first line is the token [SEC-3]" "$cli" --server "$address" --token-file "$work/client.token" list
run_status 2 "a server's unreadable --token-file is a usage error" "$server_bin" --token-file "$work/no-such.token"
grep -q "cannot read the token file" "$work/err" || fail "the unreadable token file is not named"
: > "$work/empty.token"
run_status 2 "a server's empty --token-file is a usage error" "$server_bin" --token-file "$work/empty.token"
run_status 2 "--token and --token-file together are a usage error" "$server_bin" --token s3cret-token-for-the-tests-0123456789 --token-file "$work/server.token"

# ---- TLS: no token needed off loopback, certificates verified by the client [SEC-6] -------
if command -v openssl >/dev/null; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1
  start_server tls --listen 127.0.0.1:0 --tls-cert "$work/cert.pem" --tls-key "$work/key.pem"
  if [[ "$address" =~ ^tls://127\.0\.0\.1:[0-9]+$ ]]; then
    pass "a TLS server prints its tls:// address"
    run_status 0 "TLS with the server's certificate trusted" "$cli" --server "$address" --tls-ca "$work/cert.pem" ping
    run_status 3 "TLS with an untrusted certificate is refused [SEC-6]" "$cli" --server "$address" ping
  else
    fail "TLS server address: $address $(cat "$work/tls.err")"
  fi
else
  echo "skipped: TLS (no openssl command)"
fi

# ---- graceful shutdown ----------------------------------------------------------------------
kill -TERM "${pids[0]}"
wait "${pids[0]}"
status=$?
[ "$status" -eq 0 ] && pass "SIGTERM stops the server cleanly" || fail "SIGTERM: exit $status"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
