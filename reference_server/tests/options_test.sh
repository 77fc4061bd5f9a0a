#!/usr/bin/env bash
# The options of the command-line programs, parsed by CLI11: --help lists every option with its
# default, --version names the program and its version, and an unknown option, a missing value
# or a bad value ends with the usage status (2) and a message naming what was wrong.
# Usage: options_test.sh [cli=BINARY] [server=BINARY] [igtl=BINARY]
set -uo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failures=0
pass() { echo "ok: $1"; }
fail() {
  echo "FAIL: $1"
  failures=$((failures + 1))
}

# expect STATUS TEXT DESCRIPTION COMMAND...: COMMAND exits with STATUS, TEXT (a fixed string) is
# in its standard output or error. Each program exits at once: no server is reached.
expect() {
  local expected=$1 text=$2 description=$3
  shift 3
  timeout 20 "$@" >"$work/out" 2>"$work/err"
  local status=$?
  if [ "$status" -ne "$expected" ]; then
    fail "$description: exit $status, expected $expected: $(cat "$work/out" "$work/err")"
  elif ! grep -qF -- "$text" "$work/out" "$work/err"; then
    fail "$description: no \"$text\" in: $(cat "$work/out" "$work/err")"
  else
    pass "$description (exit $status)"
  fi
}

# lists_options DESCRIPTION OPTION... : every OPTION is in the help in $work/out.
lists_options() {
  local description=$1 missing=()
  shift
  for option in "$@"; do
    grep -qE -- "(^|[ ,])$option( |=|,|$)" "$work/out" || missing+=("$option")
  done
  [ "${#missing[@]}" -eq 0 ] && pass "$description lists all its $# options" ||
    fail "$description lacks ${missing[*]}"
}

for argument in "$@"; do
  program=${argument%%=*}
  binary=${argument#*=}
  case "$program" in
  cli)
    expect 0 "Usage:" "slicerbridge --help" "$binary" --help
    lists_options "slicerbridge --help" --help --version --server --launch --token-file --token --tls-ca \
      list describe ping run batch
    expect 0 "Exit status:" "slicerbridge --help documents the exit statuses" "$binary" --help
    expect 0 "{auto,bar,lines,none}=auto" "run --help shows the default of --progress" "$binary" run --help
    lists_options "slicerbridge run --help" --input --param --output --deadline --timings --progress --quiet
    expect 0 "--jobs N=4" "batch --help shows the default of --jobs" "$binary" batch --help
    lists_options "slicerbridge batch --help" --input --param --output --output-dir --jobs --retries \
      --deadline --no-resume --summary-json --progress --quiet
    expect 0 "slicerbridge " "slicerbridge --version" "$binary" --version
    grep -qE "^slicerbridge [0-9]+\.[0-9]+\.[0-9]+ \(protocol [0-9]+\.[0-9]+\)$" "$work/out" &&
      pass "--version prints the program, its version and the protocol's" || fail "--version: $(cat "$work/out")"
    expect 2 "--frobnicate" "an unknown option is named" "$binary" --frobnicate list
    expect 2 "see slicerbridge --help" "a usage error points at --help" "$binary" --frobnicate list
    expect 2 "--server" "a missing value names its option" "$binary" --server
    expect 2 "--input" "a missing value of a subcommand's option names it" "$binary" --server 127.0.0.1:1 run echo --input
    expect 2 "PROCESSOR" "run without a processor names what is missing" "$binary" --server 127.0.0.1:1 run
    expect 2 "--bogus" "an unknown option of a subcommand is named" "$binary" --server 127.0.0.1:1 run echo --bogus
    expect 2 "extra" "a second processor is not taken for an input" "$binary" --server 127.0.0.1:1 run echo --input a=b extra
    expect 2 "--progress" "a --progress mode that does not exist" "$binary" --server 127.0.0.1:1 run echo --progress sometimes
    expect 2 "--deadline expects a number of seconds >= 0" "a negative deadline" "$binary" --server 127.0.0.1:1 run echo --deadline -1
    expect 2 '--param expects NAME=VALUE, not "novalue"' "a parameter without a value" "$binary" --server 127.0.0.1:1 run echo --param novalue
    expect 2 "excludes" "--server and --launch together" "$binary" --server 127.0.0.1:1 --launch true list
    expect 2 "--output-dir" "batch without --output-dir" "$binary" --server 127.0.0.1:1 batch echo --input "image=*.nrrd"
    expect 2 '--jobs expects an integer from 1 to 4096, not "0"' "batch --jobs 0" "$binary" --server 127.0.0.1:1 batch echo \
      --input "image=*.nrrd" --output-dir "$work" --jobs 0
    expect 2 "no command given" "no command" "$binary" --server 127.0.0.1:1
    expect 2 "frobnicate" "an unknown command is named" "$binary" --server 127.0.0.1:1 frobnicate
    (unset SLICERBRIDGE_SERVER; expect 2 "no server" "no server" "$binary" list)
    ;;
  server)
    expect 0 "Usage:" "slicerbridge-server --help" "$binary" --help
    lists_options "slicerbridge-server --help" --help --version --listen --unix --stdio --token --tls-cert \
      --tls-key --failed-token-delay --name --shutdown-grace --workers --worker-spin-us --answer-wait-us \
      --max-frame --max-in-flight --max-pending-calls --cancel-grace --hello-timeout \
      --idle-timeout --stall-timeout --max-connections --max-connections-per-address \
      --max-pending-handshakes --connection-budget --total-budget --block-cache --log-level --expose-errors
    for default in "--workers N=2" "--hello-timeout SECONDS=10" "--stall-timeout SECONDS=60" \
      "--max-connections N=256" "--total-budget BYTES=4294967296" "--log-level LEVEL=info" \
      "--answer-wait-us N=50" "--failed-token-delay SECONDS=0.1" "--max-in-flight N=64" \
      "--max-pending-calls N=1024" "--cancel-grace SECONDS=5"; do
      grep -qF -- "$default" "$work/out" && pass "server --help shows $default" || fail "server --help lacks \"$default\""
    done
    expect 0 "slicerbridge-server " "slicerbridge-server --version" "$binary" --version
    expect 2 "--frobnicate" "an unknown server option is named" "$binary" --frobnicate
    expect 2 "--workers" "a missing server value names its option" "$binary" --workers
    expect 2 '--workers expects an integer >= 1, not "0"' "--workers 0" "$binary" --workers 0
    expect 2 '--max-in-flight expects an integer >= 1, not "0"' "--max-in-flight 0" "$binary" --max-in-flight 0
    expect 2 "--max-in-flight expects at most 4294967295" "--max-in-flight beyond 32 bits" "$binary" --max-in-flight 4294967296
    expect 2 '--max-pending-calls expects an integer >= 1, not "0"' "--max-pending-calls 0" "$binary" --max-pending-calls 0
    expect 2 '--cancel-grace expects seconds between 0 and 1000000, not "-1"' "a negative --cancel-grace" "$binary" --cancel-grace -1
    expect 2 "--log-level expects error, warning, info or debug" "a log level that does not exist" "$binary" --log-level loud
    expect 2 "--tls-cert and --tls-key go together" "--tls-cert alone" "$binary" --tls-cert "$work/cert.pem"
    expect 2 "needs at least 22 (128 random bits): make one with \`openssl rand -hex 16\`" \
      "a token shorter than 22 characters [SEC-8]" "$binary" --token 21-characters-token-x
    ;;
  igtl)
    expect 0 "CMD_<id>" "slicerbridge-igtl --help" "$binary" --help
    lists_options "slicerbridge-igtl --help" --help --version --server --launch --token --tls-ca --listen \
      --allow-remote --max-message --no-crc --connect --rule --rules --report
    for default in "--listen HOST:PORT=127.0.0.1:18944$" "--max-message BYTES=1073741824$" "--report SECONDS.*=5$"; do
      grep -qE -- "^ *$default" "$work/out" && pass "igtl --help shows $default" || fail "igtl --help lacks \"$default\""
    done
    expect 0 "OpenIGTLink protocol 2" "slicerbridge-igtl --version" "$binary" --version
    expect 2 "--frobnicate" "an unknown gateway option is named" "$binary" --frobnicate
    expect 2 "--launch" "a missing gateway value names its option" "$binary" --launch
    expect 2 "--max-message" "a message size that is not a number" "$binary" --server 127.0.0.1:1 --max-message lots
    expect 2 '--listen expects HOST:PORT, not "18944"' "--listen without a host" "$binary" --server 127.0.0.1:1 --listen 18944
    ;;
  *)
    echo "unknown program $program" >&2
    exit 2
    ;;
  esac
done

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
