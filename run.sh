#!/usr/bin/env bash
# SlicerBridge: one entry point for setting up, building, demonstrating, testing and benchmarking.
#   ./run.sh demo    install what is missing, build, run the main job on loopback
#   ./run.sh test    install what is missing, build (plus sanitizer builds and the fuzzers), run every test
#   ./run.sh bench   install what is missing, build in Release, run the benchmarks
#   ./run.sh build   install what is missing and build only
#   ./run.sh fuzz [seconds]  build the libFuzzer targets, run each for that long (default 60)
#   ./run.sh soak [seconds]  build, then the soak and attack test on both servers, each that long (default 60)
set -euo pipefail
cd "$(dirname "$0")"
root=$PWD
jobs=$(nproc 2>/dev/null || echo 2)
python=/usr/bin/python3 # Debian's interpreter: numpy, msgpack, vtk and pytest live there
# Python's bytecode cache goes to one build directory, not beside the sources, and is written
# even where PYTHONDONTWRITEBYTECODE is set: the suites start Python thousands of times, and
# each start would otherwise compile every module it imports again (the conformance suite's
# client mode against the fixture client took 15% less CPU with the cache, measured).
export PYTHONPYCACHEPREFIX=$root/build-pycache
unset PYTHONDONTWRITEBYTECODE

debian_packages=(
  build-essential cmake ninja-build pkg-config git clang-format
  libasio-dev libmsgpack-cxx-dev nlohmann-json3-dev doctest-dev libcli11-dev libssl-dev libzstd-dev liblz4-dev
  libvtk9-dev python3-vtk9 python3-dev libinsighttoolkit5-dev
  python3 python3-numpy python3-msgpack python3-pytest python3-zstandard python3-lz4 python3-setuptools
  python3-nibabel python3-pydicom
  python3-pip python3-venv
  libopenigtlink-dev libexpat1-dev libzmq3-dev
  haproxy iproute2 socat python3-yaml
  slurm-wlm munge openssh-server openssh-client
  clang-14 libclang-rt-14-dev
  g++-mingw-w64-x86-64-posix wine wine64 libz-mingw-w64-dev # the Windows cross build, run under Wine
)

started=$SECONDS
log() { printf '\n== [%d:%02d] %s\n' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)) "$*"; }

install_dependencies() {
  local missing=()
  for package in "${debian_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return
  log "installing Debian packages: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Ninja for a new build directory: it compiles a target's objects while the libraries that the
# target links are still being built, where Make waits for them. A directory configured before
# keeps its generator.
generator() { # build-dir
  [ -f "$1/CMakeCache.txt" ] || ! command -v ninja >/dev/null || echo "-GNinja"
}

configure_and_build() { # build-dir, extra cmake arguments...
  local dir=$1
  shift
  cmake -S "$root" -B "$dir" $(generator "$dir") -DSLICERBRIDGE_WARNINGS_AS_ERRORS=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

# Optimised (-O2; -O1 under `./run.sh test`), with line tables only (-g1): backtraces keep
# function names and lines, and the build takes a quarter less compile time than with full debug
# information (measured). The tests check behaviour, not speed (`./run.sh bench` measures that in
# its own Release tree), and at -O1 the tree compiled in 16% less CPU (512 s against 611, the
# adapter core's unity file 28 s against 46; measured with /usr/bin/time per compile). Each
# target compiles as one unity file: a file's time goes mostly to parsing the headers it shares
# with the others (Asio, msgpack, the SDK, VTK, ITK), and the command line's and the reference
# tests' files took 2.6 times less CPU that way (183 s against 70, measured). A name defined in
# two files of a target, even in an anonymous namespace, is then an error: write it once. The
# programs link the SDK compiled once (slicerbridge::compiled) rather than header-only: each of
# them compiles in about 60% of the time (measured on the reference server). `./run.sh bench`
# builds its own tree header-only.
# `./run.sh test` leaves the SDK's unit-test executable out of it (argument OFF): those tests run
# under AddressSanitizer and UBSan (build-sanitize/), ThreadSanitizer and Wine, and compiling them
# once more at -O2 took half of this build.
build_main() { # ON or OFF: the SDK's unit-test executable; the optimisation level (2 or 1)
  log "building (RelWithDebInfo, -O$2 -g1) in build/"
  configure_and_build "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O$2 -g1 -DNDEBUG" -DSLICERBRIDGE_BUILD_BENCH=ON \
    -DSLICERBRIDGE_SEPARATE_COMPILATION=ON "-DSLICERBRIDGE_BUILD_SDK_UNIT_TESTS=$1" \
    -DCMAKE_UNITY_BUILD=ON
}

# Line tables only (-g1) here and under ThreadSanitizer, as in build/: a sanitizer's report
# names each frame's function, file and line from them. Clang compiles this tree in less than
# half of GCC's time (223 s against 515 s on 2 cores; the largest test batch 51 s of CPU against
# 105, measured), and GCC compiles every other tree, so both compilers' warnings stay errors.
build_sanitized() {
  log "building the SDK tests with AddressSanitizer and UBSan (clang) in build-sanitize/"
  configure_and_build "$root/build-sanitize" -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
    -DSLICERBRIDGE_SANITIZE=address,undefined -DSLICERBRIDGE_BUILD_ADAPTER=OFF \
    -DSLICERBRIDGE_BUILD_PROGRAMS=OFF -DSLICERBRIDGE_INSTALL=OFF \
    -DSLICERBRIDGE_PRECOMPILE_TEST_HEADERS=ON -DSLICERBRIDGE_UNITY_TESTS=ON -DCMAKE_UNITY_BUILD=ON
}

# ThreadSanitizer on the tests that run threads and sockets: the server, the client (pool),
# frame streams and what they are built of. Only those test files are built (one executable),
# in two unity batches, one a core, which keeps this build to a few minutes. Asio's fences are
# off in it (see cmake/SlicerBridgeWarnings.cmake).
tsan_test_files="unit-server*.cpp;unit-client*.cpp;unit-transport-*.cpp;unit-stream-ops.cpp"
tsan_test_files+=";unit-worker-pool.cpp;unit-fair-queue.cpp;unit-large-block-cache.cpp"
tsan_test_files+=";unit-byte-budget.cpp;unit-connection-timeouts.cpp;unit-test-stream*.cpp"
tsan_test_files+=";unit-batch-queue.cpp;unit-any-stream.cpp;unit-handler-slot.cpp"
build_tsan() {
  log "building the server, client and stream tests with ThreadSanitizer in build-tsan/"
  configure_and_build "$root/build-tsan" -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1" \
    -DSLICERBRIDGE_SANITIZE=thread -DSLICERBRIDGE_BUILD_ADAPTER=OFF \
    -DSLICERBRIDGE_BUILD_PROGRAMS=OFF -DSLICERBRIDGE_INSTALL=OFF -DSLICERBRIDGE_BUILD_IGTL=OFF \
    -DSLICERBRIDGE_PRECOMPILE_TEST_HEADERS=ON -DSLICERBRIDGE_UNITY_TESTS=ON "-DSLICERBRIDGE_TEST_FILES=$tsan_test_files" \
    -DSLICERBRIDGE_UNITY_TESTS_BATCH_SIZE=13
}

# The libFuzzer targets (fuzz/README.md): clang, -O1, AddressSanitizer and UBSan. `./run.sh test`
# runs each on the seed corpus and then this many inputs, with a fixed seed (given here, since a
# build directory keeps the value it was configured with).
fuzz_runs=100000
build_fuzz() {
  log "building the libFuzzer targets in build-fuzz/"
  configure_and_build "$root/build-fuzz" -DCMAKE_CXX_COMPILER=clang++-14 \
    -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g" -DSLICERBRIDGE_BUILD_FUZZ=ON \
    -DSLICERBRIDGE_BUILD_TESTS=OFF -DSLICERBRIDGE_BUILD_PROGRAMS=OFF \
    -DSLICERBRIDGE_BUILD_ADAPTER=OFF -DSLICERBRIDGE_INSTALL=OFF -DSLICERBRIDGE_BUILD_IGTL=OFF \
    -DSLICERBRIDGE_FUZZ_RUNS="$fuzz_runs"
}

# Each fuzzer for as long as asked, keeping what it finds in build-fuzz/fuzz/found/<target>
# (seeded from spec/vectors each time), its output in found/<target>.log. A crash stops that
# fuzzer and fails the command; the input is build-fuzz/fuzz/found/<target>-crash-*.
run_fuzzers() { # seconds per fuzzer
  local seconds=$1 failed=0 dir=$root/build-fuzz/fuzz
  for target in frame_reader head_decoder message data validate_invoke catalog; do
    log "fuzz_$target for $seconds s"
    mkdir -p "$dir/found/$target"
    if "$dir/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -dict="$dir/fuzz.dict" -artifact_prefix="$dir/found/$target-" \
      "$dir/found/$target" "$dir/corpus" >"$dir/found/$target.log" 2>&1; then
      grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$dir/found/$target.log" || true
    else
      failed=1
      grep -v '^#' "$dir/found/$target.log" | tail -n 60
    fi
  done
  return $failed
}

# The SDK, the server with the conformance processors and the clients, cross-built for Windows
# with MinGW-w64 (-O1: the tests run fast enough, the build stays short; precompiled headers for
# the tests; the SDK compiled once, so that its unit tests run separately compiled here and
# header-only in build-sanitize/) and run under Wine against their Linux peers (test/windows),
# with the CLI-module proxy on its portable NRRD backend (zlib from libz-mingw-w64-dev). No TLS
# or compression: Debian has no OpenSSL, zstd or lz4 for Windows.
windows_targets=(slicerbridge_tests slicerbridge_server slicerbridge-client-check cpp17_sync_client
  slicerbridge_cli_module slicerbridge_nrrd_tests)
windows_ready=0

build_windows() {
  if ! command -v x86_64-w64-mingw32-g++-posix >/dev/null || ! command -v wine >/dev/null; then
    log "SKIPPED: the Windows build and its tests (x86_64-w64-mingw32-g++-posix or wine missing)"
    return
  fi
  log "cross-building for Windows (MinGW-w64, -O1) in build-mingw/: ${windows_targets[*]}"
  cmake -S "$root" -B "$root/build-mingw" $(generator "$root/build-mingw") --toolchain "$root/cmake/toolchains/mingw-w64-x86_64.cmake" \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O1 -DSLICERBRIDGE_WARNINGS_AS_ERRORS=ON \
    -DSLICERBRIDGE_BUILD_ADAPTER=OFF -DSLICERBRIDGE_INSTALL=OFF -DSLICERBRIDGE_SEPARATE_COMPILATION=ON \
    -DSLICERBRIDGE_PRECOMPILE_TEST_HEADERS=ON -DSLICERBRIDGE_UNITY_TESTS=ON -DCMAKE_UNITY_BUILD=ON \
    "-DSLICERBRIDGE_LINUX_BUILD_DIR=$root/build" >/dev/null
  cmake --build "$root/build-mingw" -j "$jobs" --target "${windows_targets[@]}"
  windows_ready=1
}

# The suites that need only Python (the Python implementation, the conformance suite's
# self-tests, the spec's tools) run while C++ builds: they mostly wait on sockets and timers.
python_only_tests=(python/tests conformance/tests spec/tests) # one pytest run each: own conftest
# These need the build: the wrapped adapter core, the bench programs, the cluster test (its own
# network namespaces, HAProxy, the reference server), the launcher test (a one-node SLURM
# cluster in its own namespace and an sshd on a loopback port, about 20 s); and python/tests
# marked `built`, which run the C++ programs.
built_python_tests=(reference_slicer_adapter/python/tests bench deploy/tests)

# A suite run in the background, its output kept in build-<name>.log until finish_background
# prints it; a failed build or test run stops them all.
declare -A background_pids=()
trap 'kill "${background_pids[@]}" 2>/dev/null || true' EXIT
start_background() { # name, what it is, command...
  local name=$1 what=$2
  shift 2
  log "$what: started in the background (output follows at the end)"
  "$@" >"$root/build-$name.log" 2>&1 &
  background_pids[$name]=$!
}
finish_background() { # name, what it is; fails if the suite did
  log "$2"
  local status=0
  wait "${background_pids[$1]}" || status=1
  unset "background_pids[$1]"
  cat "$root/build-$1.log"
  return $status
}

run_python_only_tests() {
  local status=0
  for suite in "${python_only_tests[@]}"; do
    printf '\n-- %s\n' "$suite"
    "$python" -m pytest -q -p no:cacheprovider -m "not built" "$suite" || status=1
  done
  return $status
}

run_built_python_tests() {
  local status=0
  for suite in "${built_python_tests[@]}"; do
    printf '\n-- %s\n' "$suite"
    SLICERBRIDGE_BUILD_DIR="$root/build" SLICERBRIDGE_BENCH_BUILD_DIR="$root/build" \
      "$python" -m pytest -q -p no:cacheprovider "$suite" || status=1
  done
  printf '\n-- python/tests (built)\n'
  SLICERBRIDGE_BUILD_DIR="$root/build" \
    "$python" -m pytest -q -p no:cacheprovider -m built python/tests || status=1
  return $status
}

run_windows_tests() {
  (cd "$root/build-mingw" && ctest --output-on-failure -j "$jobs")
}

# The suites that mostly wait (Wine's start-up and the clients it starts, a SLURM cluster, the
# Python programs' time-outs) run beside the CPU-bound sanitized tests.
run_tests() {
  local failed=0
  log "no merge conflict markers in tracked files"
  if git -C "$root" grep -n -E '^(<{7}|>{7}) ' -- . 2>/dev/null; then failed=1; fi
  if [ "$windows_ready" = 1 ]; then
    start_background windows-tests "Windows programs under Wine, and against their Linux peers" run_windows_tests
  fi
  start_background built-python-tests "Python tests that use the build (Slicer adapter, benchmark smoke, cluster)" \
    run_built_python_tests
  log "C++ tests (sanitized build; the cases that run C++ code)"
  (cd "$root/build-sanitize" &&
    ctest --output-on-failure -j "$jobs" -E 'python_client\.python_server|\.python') || failed=1
  log "server, client and stream tests under ThreadSanitizer"
  (cd "$root/build-tsan" && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    ctest --output-on-failure -j "$jobs") || failed=1
  log "fuzzers: the seed corpus, then a fixed number of inputs each (fuzz/README.md)"
  (cd "$root/build-fuzz" && ctest --output-on-failure -j "$jobs" -L fuzz) || failed=1
  log "C++ tests and cross-implementation tests"
  (cd "$root/build" && ctest --output-on-failure -j "$jobs") || failed=1
  log "golden vectors checked by the spec's independent decoder"
  "$python" spec/vectors/check.py || failed=1
  log "requirement coverage (spec/coverage.md) is current"
  "$python" spec/tools/coverage.py --check || failed=1
  if [ "$windows_ready" = 1 ]; then
    finish_background windows-tests "Windows programs under Wine, and against their Linux peers" || failed=1
  fi
  finish_background built-python-tests "Python tests that use the build (Slicer adapter, benchmark smoke, cluster)" ||
    failed=1
  finish_background python-only-tests "Python tests (implementation, conformance suite's self-tests, spec tools)" ||
    failed=1
  return $failed
}

command=${1:-help}
case "$command" in
  build)
    install_dependencies
    build_main ON 2
    ;;
  demo)
    install_dependencies
    build_main ON 2
    log "demo"
    "$root/examples/demo.sh" "$root/build"
    ;;
  test)
    install_dependencies
    start_background python-only-tests "Python-only tests" run_python_only_tests
    build_main OFF 1
    build_sanitized
    build_tsan
    build_fuzz
    build_windows
    run_tests
    ;;
  fuzz)
    seconds=${2:-60}
    [[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: ./run.sh fuzz [seconds per fuzzer]" >&2; exit 2; }
    install_dependencies
    build_fuzz
    run_fuzzers "$seconds"
    ;;
  soak)
    seconds=${2:-60}
    [[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: ./run.sh soak [seconds of load per server]" >&2; exit 2; }
    install_dependencies
    build_main ON 2
    log "the soak and attack test (python/tests/test_soak.py), $seconds s on each server"
    SLICERBRIDGE_BUILD_DIR="$root/build" SLICERBRIDGE_SOAK_SECONDS="$seconds" \
      "$python" -m pytest -q -p no:cacheprovider python/tests/test_soak.py
    ;;
  bench)
    install_dependencies
    log "building (Release) with benchmarks in build-bench/"
    configure_and_build "$root/build-bench" -DCMAKE_BUILD_TYPE=Release -DSLICERBRIDGE_BUILD_BENCH=ON \
      -DSLICERBRIDGE_BUILD_TESTS=OFF -DSLICERBRIDGE_BUILD_ADAPTER=OFF
    "$python" "$root/bench/run_bench.py" --build-dir "$root/build-bench" "${@:2}"
    ;;
  *)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    [ "$command" = help ] || exit 2
    ;;
esac
