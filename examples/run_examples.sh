#!/usr/bin/env bash
# Runs every client example against cpp17_minimal_server and, if given, the reference server.
# Usage: run_examples.sh EXAMPLES_DIR [REFERENCE_SERVER] [COROUTINE_EXAMPLE]
set -uo pipefail
dir=$1
reference=${2:-}
coroutine=${3:-}
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

start() { # NAME COMMAND...: starts a server, waits (bounded) for "listening on", sets $address
  local name=$1
  shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  for _ in $(seq 200); do
    [ -s "$work/$name.out" ] && break
    sleep 0.05
  done
  address=$(sed -n '1s/^listening on //p' "$work/$name.out")
}

try() { # DESCRIPTION COMMAND...
  local description=$1
  shift
  if "$@" >"$work/client.out" 2>&1; then
    echo "ok: $description"
  else
    echo "FAIL: $description"
    sed 's/^/    /' "$work/client.out"
    failures=$((failures + 1))
  fi
}

servers=("minimal:$dir/cpp17_minimal_server")
[ -n "$reference" ] && servers+=("reference:$reference")
for entry in "${servers[@]}"; do
  name=${entry%%:*}
  start "$name" "${entry#*:}"
  if [ -z "$address" ]; then
    echo "FAIL: the $name server did not start"
    failures=$((failures + 1))
    continue
  fi
  try "cpp17_sync_client against the $name server" "$dir/cpp17_sync_client" "$address"
  try "cpp17_async_callbacks against the $name server" "$dir/cpp17_async_callbacks" "$address"
  [ -n "$coroutine" ] && try "cpp20_coroutine_client against the $name server" "$coroutine" "$address"
done
echo "$failures failure(s)"
[ "$failures" -eq 0 ]
