#!/usr/bin/python3
"""Runs the SlicerBridge benchmarks and their baselines and reports them as ratios.

Every row is one program and its arguments. The programs (built in <build-dir>/bench, or Python
scripts in the repository) each start their own server process, measure over loopback and print
one JSON line. This runner runs them one after another, never two at once, in rounds (every row
once per round, so that a baseline and the rows compared to it are measured close together in
time), keeps each row's best figure, computes the ratios to the baselines measured in the same run,
prints a table and writes the same figures to results.json.

Rows whose program does not exist yet (the SlicerBridge cases before the SDK lands) are reported
as unavailable, never estimated. Nothing here checks a figure against its target: the report
says whether a target is met, and the exit status only says whether every program ran.
"""

import argparse
import datetime
import fnmatch
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
PYTHON = "/usr/bin/python3"
MIB = 1 << 20
SCHEMA = "slicerbridge-bench/1"


@dataclass(frozen=True)
class Target:
    """A goal from the issue: `metric op value`, reported, never asserted."""

    metric: str  # "ratio" or "server_peak_ratio"
    op: str  # ">=" or "<="
    value: float

    def met(self, figure):
        if figure is None:
            return None
        return figure >= self.value if self.op == ">=" else figure <= self.value

    def text(self):
        return f"{self.op} {self.value:g}"


@dataclass(frozen=True)
class Row:
    id: str
    title: str
    group: str  # "volume", "latency" or "throughput"
    program: str  # an executable in <build-dir>/bench, or a .py script (path in the repository)
    args: tuple
    baseline: str = None  # id of the row this one is a ratio to; None for a baseline
    targets: tuple = ()
    reference: str = ""  # the peer's figure quoted in the issue, for comparison
    expects: dict = field(default_factory=dict)  # fields the program's JSON must echo back
    # Run beside a process that keeps the CPUs out of their idle state: see AWAKE_NOTE.
    awake: bool = False
    # A script that also needs the build (gets --build-dir) and these executables on PATH.
    needs_build: bool = False
    requires: tuple = ()


@dataclass(frozen=True)
class Settings:
    """How hard each program works: full run or --quick smoke run."""

    rounds: int
    edges: dict  # nominal volume size label -> edge of the int16 cube
    warmup: int
    iterations: int
    latency_warmup: int
    latency_calls: int
    throughput_seconds: float
    throughput_warmup_seconds: float
    timeout: int


FULL = Settings(rounds=3, edges={"32 MiB": 256, "256 MiB": 512}, warmup=1, iterations=3,
                latency_warmup=1000, latency_calls=10000, throughput_seconds=1.0,
                throughput_warmup_seconds=0.2, timeout=300)
QUICK = Settings(rounds=1, edges={"32 MiB": 16, "256 MiB": 32}, warmup=0, iterations=1,
                 latency_warmup=10, latency_calls=200, throughput_seconds=0.05,
                 throughput_warmup_seconds=0.01, timeout=60)

CLIENT_COUNTS = (1, 8, 64)
SMALL_MESSAGE_BYTES = 64
# The threads of the Asio hand-off row's pool: as many as the worker pool's default
# (server_options::workers).
ASIO_POOL_THREADS = 2


def define_rows(settings):
    """Every row of the report, in the order it is printed and run."""
    rows = []
    volume_targets = {"32 MiB": 0.8, "256 MiB": 0.85}
    for label, edge in settings.edges.items():
        size = label.replace(" ", "")
        voxel_bytes = 2 * edge ** 3
        repeat = ("--warmup", str(settings.warmup), "--iterations", str(settings.iterations))
        plain = ("--test", "echo", "--bytes", str(voxel_bytes)) + repeat
        image = ("--test", "echo", "--dims", str(edge)) + repeat
        expects = {"bytes": voxel_bytes}
        tcp, unix = f"tcp_echo.{size}", f"unix_echo.{size}"
        rows += [
            Row(tcp, "plain TCP echo, reused buffers", "volume", "bench_socket",
                plain + ("--transport", "tcp"), reference="1.00", expects=expects),
            Row(unix, "plain Unix-socket echo", "volume", "bench_socket",
                plain + ("--transport", "unix"), baseline=tcp, expects=expects),
            Row(f"zmq_zero_copy.{size}", "ZeroMQ REQ/REP, zero copy", "volume", "bench_zmq",
                plain + ("--copy", "0"), baseline=tcp, reference="0.54", expects=expects),
            Row(f"zmq_copy.{size}", "ZeroMQ REQ/REP, copying", "volume", "bench_zmq",
                plain + ("--copy", "1"), baseline=tcp, reference="0.31", expects=expects),
            Row(f"igtl_image.{size}", "OpenIGTLink 1.11 IMAGE, CRC not checked", "volume",
                "bench_igtl", image + ("--crc", "0"), baseline=tcp, reference="0.10",
                expects=expects),
            Row(f"igtl_image_crc.{size}", "OpenIGTLink 1.11 IMAGE, CRC checked", "volume",
                "bench_igtl", image + ("--crc", "1"), baseline=tcp, reference="0.06",
                expects=expects),
        ]
        sdk_targets = (Target("ratio", ">=", volume_targets[label]),)
        if label == "256 MiB":
            sdk_targets += (Target("server_peak_ratio", "<=", 2.2),)
        if label == "32 MiB":
            # OpenIGTLink peers using a SlicerBridge processor through slicerbridge-igtl: the
            # same IMAGE round trip as igtl_image, with a gateway and a processor in the middle.
            rows.append(
                Row(f"igtl_gateway.{size}", "OpenIGTLink IMAGE through slicerbridge-igtl and a "
                    "processor returning its input, CRC not checked", "volume",
                    "bench_igtl_gateway", image + ("--crc", "0"), baseline=f"igtl_image.{size}",
                    expects=expects))
        rows += [
            Row(f"slicerbridge_tcp.{size}", "SlicerBridge C++ volume round trip, TCP", "volume",
                "bench_slicerbridge", image + ("--transport", "tcp"), baseline=tcp,
                targets=sdk_targets, expects=expects),
            Row(f"slicerbridge_unix.{size}", "SlicerBridge C++ volume round trip, Unix socket",
                "volume", "bench_slicerbridge", image + ("--transport", "unix", "--memfd", "0"),
                baseline=unix, expects=expects),
            # Issue 13: the volume as a sealed memory file both ways (transfer.memfd), at most a
            # tenth of the plain Unix-socket echo's time.
            Row(f"slicerbridge_memfd.{size}", "SlicerBridge C++ volume round trip, Unix socket, "
                "memfd", "volume", "bench_slicerbridge",
                image + ("--transport", "unix", "--memfd", "1"), baseline=unix,
                targets=(Target("ratio", ">=", 10.0),), expects=expects),
        ]
    large = list(settings.edges)[-1].replace(" ", "")
    edge = settings.edges[list(settings.edges)[-1]]
    rows.append(
        Row(f"python_tcp.{large}", "SlicerBridge Python volume round trip, TCP", "volume",
            "python/tools/bench_echo.py",
            ("--test", "echo", "--dims", str(edge), "--transport", "tcp", "--warmup",
             str(settings.warmup), "--iterations", str(settings.iterations)),
            baseline=f"slicerbridge_tcp.{large}", targets=(Target("ratio", ">=", 0.5),),
            expects={"bytes": 2 * edge ** 3}))
    rows.append(
        Row(f"python_memfd.{large}", "SlicerBridge Python volume round trip, Unix socket, memfd",
            "volume", "python/tools/bench_echo.py",
            ("--test", "echo", "--dims", str(edge), "--transport", "unix", "--memfd", "1",
             "--warmup", str(settings.warmup), "--iterations", str(settings.iterations)),
            baseline=f"unix_echo.{large}", targets=(Target("ratio", ">=", 10.0),),
            expects={"bytes": 2 * edge ** 3}))

    latency = ("--test", "latency", "--warmup", str(settings.latency_warmup), "--calls",
               str(settings.latency_calls), "--batches", "1")
    small = ("--bytes", str(SMALL_MESSAGE_BYTES))
    rows += [
        Row("tcp_pingpong.latency", f"plain TCP ping-pong, {SMALL_MESSAGE_BYTES} bytes",
            "latency", "bench_socket", latency + small + ("--transport", "tcp"), reference="1.0"),
        Row("zmq_reqrep.latency", f"ZeroMQ REQ/REP, {SMALL_MESSAGE_BYTES} bytes", "latency",
            "bench_zmq", latency + small, baseline="tcp_pingpong.latency", reference="1.5"),
        Row("igtl_string.latency", f"OpenIGTLink 1.11 STRING, {SMALL_MESSAGE_BYTES} bytes",
            "latency", "bench_igtl", latency + small, baseline="tcp_pingpong.latency",
            reference="1.0"),
        Row("slicerbridge_invoke.latency", "SlicerBridge empty invoke", "latency",
            "bench_slicerbridge", latency + ("--transport", "tcp"),
            baseline="tcp_pingpong.latency", targets=(Target("ratio", "<=", 1.3),)),
        Row("slicerbridge_invoke_nospin.latency",
            "SlicerBridge empty invoke, idle workers sleep at once (worker_spin 0)", "latency",
            "bench_slicerbridge", latency + ("--transport", "tcp", "--worker-spin-us", "0"),
            baseline="tcp_pingpong.latency"),
        Row("slicerbridge_invoke_inline.latency",
            "SlicerBridge empty invoke, processor on the I/O thread", "latency",
            "bench_slicerbridge", latency + ("--transport", "tcp", "--execution", "io_thread"),
            baseline="tcp_pingpong.latency", targets=(Target("ratio", "<=", 1.3),)),
        # Progress, then the answer, written back to back: what a Slicer call usually sends.
        Row("slicerbridge_invoke_progress.latency",
            "SlicerBridge invoke that reports progress once", "latency", "bench_slicerbridge",
            latency + ("--transport", "tcp", "--progress", "1"),
            baseline="tcp_pingpong.latency"),
    ]

    # The same calls with no CPU ever idle, so that no wake-up pays an idle CPU's exit latency:
    # what remains is the software's own cost.
    rows += [
        Row("tcp_pingpong_awake.latency", f"plain TCP ping-pong, {SMALL_MESSAGE_BYTES} bytes, "
            "CPUs kept awake", "latency", "bench_socket",
            latency + small + ("--transport", "tcp"), awake=True),
        # The same ping-pong on Asio's reactor, and handed to a pool and back: the floors of
        # the two SlicerBridge rows below, built on Asio and, for the pool, on two hand-offs.
        Row("asio_pingpong_awake.latency", f"plain TCP ping-pong on Asio, "
            f"{SMALL_MESSAGE_BYTES} bytes, CPUs kept awake", "latency", "bench_asio",
            latency + small + ("--transport", "tcp"), baseline="tcp_pingpong_awake.latency",
            awake=True),
        Row("asio_pool_pingpong_awake.latency", f"plain TCP ping-pong on Asio, each message "
            f"handed to a pool of {ASIO_POOL_THREADS} threads and back, CPUs kept awake",
            "latency", "bench_asio",
            latency + small + ("--transport", "tcp", "--workers", str(ASIO_POOL_THREADS)),
            baseline="tcp_pingpong_awake.latency", awake=True),
        # The pool's other design: the threads share the reactor, each echoes what it read.
        Row("asio_shared_pingpong_awake.latency", f"plain TCP ping-pong on Asio, one io_context "
            f"run by {ASIO_POOL_THREADS} threads, CPUs kept awake", "latency", "bench_asio",
            latency + small + ("--transport", "tcp", "--io-threads", str(ASIO_POOL_THREADS)),
            baseline="tcp_pingpong_awake.latency", awake=True),
        Row("slicerbridge_invoke_awake.latency", "SlicerBridge empty invoke, CPUs kept awake",
            "latency", "bench_slicerbridge", latency + ("--transport", "tcp"),
            baseline="tcp_pingpong_awake.latency", awake=True,
            targets=(Target("ratio", "<=", 2.0),)),
        # The worker's answer always posted to a sleeping I/O thread: the hand-over's own cost.
        Row("slicerbridge_invoke_nowait_awake.latency",
            "SlicerBridge empty invoke, the I/O thread never waits for the answer "
            "(answer_wait 0), CPUs kept awake", "latency", "bench_slicerbridge",
            latency + ("--transport", "tcp", "--answer-wait-us", "0"),
            baseline="tcp_pingpong_awake.latency", awake=True),
        # No thread ever spins: what a pool call costs in CPU when every hand-off is a wake-up.
        Row("slicerbridge_invoke_nospin_awake.latency",
            "SlicerBridge empty invoke, no spinning (worker_spin 0, answer_wait 0), CPUs kept "
            "awake", "latency", "bench_slicerbridge",
            latency + ("--transport", "tcp", "--worker-spin-us", "0", "--answer-wait-us", "0"),
            baseline="tcp_pingpong_awake.latency", awake=True),
        Row("slicerbridge_invoke_inline_awake.latency",
            "SlicerBridge empty invoke on the I/O thread, CPUs kept awake", "latency",
            "bench_slicerbridge", latency + ("--transport", "tcp", "--execution", "io_thread"),
            baseline="tcp_pingpong_awake.latency", awake=True,
            targets=(Target("ratio", "<=", 1.5),)),
    ]

    # A live image stream through the gateway: 256 x 256 uint8 frames, one in flight.
    rows.append(
        Row("igtl_gateway_stream.1", "OpenIGTLink 256x256 uint8 frames through slicerbridge-igtl "
            "and a trivial processor, one in flight (frames/s)", "throughput",
            "bench_igtl_gateway",
            ("--test", "stream", "--edge", "256", "--seconds", str(settings.throughput_seconds),
             "--warmup-seconds", str(settings.throughput_warmup_seconds)),
            expects={"clients": 1}))

    for clients in CLIENT_COUNTS:
        throughput = ("--test", "throughput", "--clients", str(clients), "--seconds",
                      str(settings.throughput_seconds), "--warmup-seconds",
                      str(settings.throughput_warmup_seconds), "--batches", "1", "--transport",
                      "tcp")
        base = f"tcp_calls.{clients}"
        targets = (Target("ratio", ">=", 0.8),) if clients > 1 else ()
        rows += [
            Row(base, f"plain TCP ping-pong, {clients} client(s), epoll", "throughput",
                "bench_socket", throughput + small, expects={"clients": clients}),
            # What Asio's reactor alone costs: the ceiling of SlicerBridge's SDK, built on it.
            Row(f"asio_calls.{clients}", f"plain TCP ping-pong on Asio, {clients} client(s)",
                "throughput", "bench_asio", throughput + small, baseline=base,
                expects={"clients": clients}),
            # Each message handed to a pool thread and back: the floor under any server that runs
            # a call on another thread than the one that read it, as the worker pool does.
            Row(f"asio_pool_calls.{clients}",
                f"plain TCP ping-pong on Asio, each message handed to a pool of "
                f"{ASIO_POOL_THREADS} threads and back, {clients} client(s)", "throughput",
                "bench_asio", throughput + small + ("--workers", str(ASIO_POOL_THREADS)),
                baseline=base, expects={"clients": clients, "workers": ASIO_POOL_THREADS}),
            # The other way to compute on several threads: they share one reactor, and each
            # message is echoed by the thread that read it; no hand-off, but a shared queue.
            Row(f"asio_shared_calls.{clients}",
                f"plain TCP ping-pong on Asio, one io_context run by {ASIO_POOL_THREADS} threads, "
                f"each message echoed by the thread that read it, {clients} client(s)",
                "throughput", "bench_asio",
                throughput + small + ("--io-threads", str(ASIO_POOL_THREADS)), baseline=base,
                expects={"clients": clients, "io_threads": ASIO_POOL_THREADS}),
            Row(f"slicerbridge_calls.{clients}", f"SlicerBridge empty invoke, {clients} client(s)",
                "throughput", "bench_slicerbridge", throughput, baseline=base,
                expects={"clients": clients}, targets=targets),
            Row(f"slicerbridge_calls_inline.{clients}",
                f"SlicerBridge empty invoke on the I/O thread, {clients} client(s)",
                "throughput", "bench_slicerbridge", throughput + ("--execution", "io_thread"),
                baseline=base, expects={"clients": clients}, targets=targets),
        ]
    rows += cluster_rows(settings)
    return rows


CLUSTER_SERVER_COUNTS = (1, 2, 4)
CLUSTER_CLIENTS = 8
CLUSTER_DELAY_SECONDS = 0.02


def cluster_rows(settings):
    """Reference servers behind HAProxy (bench_cluster.py): calls that wait, spread over 1, 2 and
    4 servers, as a ratio to one server; and a volume round trip through HAProxy, as a ratio to
    the same round trip straight to the server."""
    rows = []
    seconds = max(2.0, settings.throughput_seconds * 2) if settings.rounds > 1 else 0.2
    for count in CLUSTER_SERVER_COUNTS:
        rows.append(Row(
            f"haproxy_calls.{count}",
            f"echo waiting {CLUSTER_DELAY_SECONDS * 1e3:g} ms, {count} server(s) (1 worker each) "
            f"behind HAProxy, {CLUSTER_CLIENTS} clients", "throughput",
            "bench/bench_cluster.py",
            ("--test", "throughput", "--servers", str(count), "--clients", str(CLUSTER_CLIENTS),
             "--delay", str(CLUSTER_DELAY_SECONDS), "--seconds", str(seconds),
             "--warmup-seconds", str(max(settings.throughput_warmup_seconds, 0.3))),
            baseline=None if count == 1 else "haproxy_calls.1",
            targets=(Target("ratio", ">=", 3.6),) if count == 4 else (),
            expects={"clients": CLUSTER_CLIENTS, "servers": count},
            needs_build=True, requires=("haproxy",)))
    label = list(settings.edges)[-1]
    edge = settings.edges[label]
    size = label.replace(" ", "")
    echo = ("--test", "echo", "--dims", str(edge), "--warmup", str(settings.warmup),
            "--iterations", str(settings.iterations))
    direct = f"cluster_direct.{size}"
    rows += [
        Row(direct, "SlicerBridge C++ client to the reference server, directly", "volume",
            "bench/bench_cluster.py", echo + ("--via", "direct"),
            expects={"bytes": 2 * edge ** 3}, needs_build=True, requires=("haproxy",)),
        Row(f"cluster_haproxy.{size}", "the same through HAProxy (TCP mode, kernel splicing)",
            "volume", "bench/bench_cluster.py", echo + ("--via", "haproxy"), baseline=direct,
            targets=(Target("ratio", ">=", 0.8),), expects={"bytes": 2 * edge ** 3},
            needs_build=True, requires=("haproxy",)),
        Row(f"cluster_haproxy_copying.{size}",
            "the same through HAProxy without splicing (copying 16 KiB buffers)", "volume",
            "bench/bench_cluster.py", echo + ("--via", "haproxy-copying"), baseline=direct,
            expects={"bytes": 2 * edge ** 3}, needs_build=True, requires=("haproxy",)),
    ]
    return rows


def select_rows(rows, patterns):
    """Rows matching any pattern (fnmatch on the id, or a group name), plus their baselines."""
    if not patterns:
        return list(rows)
    by_id = {row.id: row for row in rows}
    chosen = set()
    for row in rows:
        if any(row.group == p or fnmatch.fnmatchcase(row.id, p) for p in patterns):
            chosen.add(row.id)
    pending = list(chosen)
    while pending:
        baseline = by_id[pending.pop()].baseline
        if baseline and baseline not in chosen:
            chosen.add(baseline)
            pending.append(baseline)
    if not chosen:
        raise SystemExit(f"--only {','.join(patterns)} matches no row; see --list")
    return [row for row in rows if row.id in chosen]


def command_for(row, build_dir, timeout):
    """The command line of a row, or (None, reason) when its program does not exist."""
    missing = [name for name in row.requires if shutil.which(name) is None]
    if missing:
        return None, f"{', '.join(missing)} not installed (Debian package): skipped"
    if row.program.endswith(".py"):
        script = REPO_DIR / row.program
        if not script.is_file():
            return None, f"{row.program} not written yet"
        command = [PYTHON, str(script)]
        if row.needs_build:
            for program in ("reference_server/slicerbridge-server", "bench/bench_slicerbridge"):
                if not os.access(build_dir / program, os.X_OK):
                    return None, f"{program} not built in {build_dir}"
            command += ["--build-dir", str(build_dir)]
    else:
        executable = build_dir / "bench" / row.program
        if not os.access(executable, os.X_OK):
            return None, f"{row.program} not built in {build_dir}"
        command = [str(executable)]
    return command + list(row.args) + ["--timeout", str(timeout)], None


# --- Running one program ------------------------------------------------------------------


class ProgramError(Exception):
    pass


def positive_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def check_output(row, result):
    """Raises ProgramError unless `result` holds the fields this row's group needs."""
    if not isinstance(result, dict):
        raise ProgramError("the output is not a JSON object")
    for key, value in row.expects.items():
        if result.get(key) != value:
            raise ProgramError(f"'{key}' is {result.get(key)!r}, expected {value!r}")
    if row.group == "volume":
        samples = result.get("round_trip_seconds")
        if not isinstance(samples, list) or not samples or not all(map(positive_number, samples)):
            raise ProgramError("'round_trip_seconds' must be a non-empty list of positive numbers")
        if not positive_number(result.get("server_peak_rss_bytes")):
            raise ProgramError("'server_peak_rss_bytes' must be a positive number")
        if result.get("verified") is not True:
            raise ProgramError("the program did not verify the echoed bytes")
    elif row.group == "latency":
        for key in ("p50_seconds", "p99_seconds"):
            if not positive_number(result.get(key)):
                raise ProgramError(f"'{key}' must be a positive number")
    elif row.group == "throughput":
        if not positive_number(result.get("calls_per_second")):
            raise ProgramError("'calls_per_second' must be a positive number")


def cpu_seconds_of_children():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


AWAKE_NOTE = (
    "Rows marked 'CPUs kept awake' run beside one process per CPU that only calls sched_yield: "
    "it gives way to any runnable thread but keeps the CPUs out of their idle state. On a "
    "virtual machine, waking a thread on an idle CPU costs tens of microseconds (the CPU must "
    "leave its halt), which dominates a ping-pong; kept awake, the ratio shows each "
    "implementation's own cost. The yielding processes' CPU time is not counted.")

KEEP_AWAKE = "import os\nwhile True:\n    os.sched_yield()\n"


def run_program(row, command, timeout):
    """Runs one program to completion; returns its JSON result or raises ProgramError.
    The result gains `cpu_seconds`: what the program and its forked server used, all threads."""
    keepers = [subprocess.Popen([PYTHON, "-c", KEEP_AWAKE]) for _ in range(os.cpu_count() or 1)
               ] if row.awake else []
    try:
        if keepers:
            time.sleep(0.2)  # let them start
        cpu_before = cpu_seconds_of_children()
        try:
            completed = subprocess.run(command, capture_output=True, text=True,
                                       timeout=timeout + 30, check=False)
        except subprocess.TimeoutExpired:
            raise ProgramError(f"did not finish within {timeout + 30} s") from None
        cpu_seconds = cpu_seconds_of_children() - cpu_before
    finally:
        for keeper in keepers:
            keeper.kill()
            keeper.wait()
    if completed.returncode != 0:
        tail = completed.stderr.strip().splitlines()[-3:]
        raise ProgramError(f"exit status {completed.returncode}: {' | '.join(tail)}")
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    if len(lines) != 1:
        raise ProgramError(f"expected one JSON line on standard output, got {len(lines)} lines")
    try:
        result = json.loads(lines[0])
    except json.JSONDecodeError as error:
        raise ProgramError(f"output is not JSON: {error}") from None
    check_output(row, result)
    if isinstance(result, dict):
        result["cpu_seconds"] = cpu_seconds
    return result


# --- Aggregation --------------------------------------------------------------------------


def figures_of(row, runs):
    """Each row's figures over all its runs. The best figure is the headline: interference from
    other processes on the machine can only make a run slower."""
    if row.group == "volume":
        samples = [s for run in runs for s in run["round_trip_seconds"]]
        nbytes = runs[0]["bytes"]
        best = min(samples)
        peak = max(run["server_peak_rss_bytes"] for run in runs)
        figures = {"bytes": nbytes, "samples": len(samples), "best_seconds": best,
                   "median_seconds": statistics.median(samples),
                   "best_mib_per_second": nbytes / MIB / best,
                   "server_peak_rss_bytes": peak, "server_peak_ratio": peak / nbytes}
        balancer = [run["balancer_cpu_seconds_per_round_trip"] for run in runs
                    if "balancer_cpu_seconds_per_round_trip" in run]
        waits = [run["server_waiting_seconds_per_round_trip"] for run in runs
                 if "server_waiting_seconds_per_round_trip" in run]
        if waits:  # bench_cluster.py: time the server, ready to run, waited for a CPU
            figures["median_server_waiting_seconds_per_round_trip"] = statistics.median(waits)
        if balancer:  # bench_cluster.py through HAProxy: its CPU, steadier than time on a busy machine
            figures["median_balancer_cpu_seconds_per_round_trip"] = statistics.median(balancer)
            figures["median_balancer_waiting_seconds_per_round_trip"] = statistics.median(
                run["balancer_waiting_seconds_per_round_trip"] for run in runs)
        return figures
    if row.group == "latency":
        p50s = [run["p50_seconds"] for run in runs]
        p99s = [run["p99_seconds"] for run in runs]
        # Client and server together, start-up included; spread over every call made.
        cpu_per_call = [
            run["cpu_seconds"] /
            (run["warmup"] + len(run["batch_p50_seconds"]) * run["calls_per_batch"])
            for run in runs if "cpu_seconds" in run]
        return {"bytes": runs[0].get("bytes"), "runs": len(runs),
                "median_cpu_seconds_per_call": statistics.median(cpu_per_call) if cpu_per_call else None,
                "calls_per_run": runs[0].get("calls_per_batch"),
                "p50_seconds": min(p50s), "p99_seconds": min(p99s),
                "median_p50_seconds": statistics.median(p50s),
                "median_p99_seconds": statistics.median(p99s)}
    rates = [run["calls_per_second"] for run in runs]
    return {"clients": runs[0]["clients"], "runs": len(runs), "calls_per_second": max(rates),
            "median_calls_per_second": statistics.median(rates)}


RATIO_MEANING = {
    "volume": "baseline best round-trip time / this row's best (higher is better)",
    "latency": "this row's p50 / baseline p50 (lower is better)",
    "throughput": "this row's calls per second / baseline's (higher is better)",
}


def ratio_of(row, figures, baseline_figures):
    if figures is None or baseline_figures is None:
        return None
    if row.group == "volume":
        return baseline_figures["best_seconds"] / figures["best_seconds"]
    if row.group == "latency":
        return figures["p50_seconds"] / baseline_figures["p50_seconds"]
    return figures["calls_per_second"] / baseline_figures["calls_per_second"]


# --- Machine and method -------------------------------------------------------------------


def read_first(path, prefix):
    try:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def machine_description():
    mem_kib = read_first("/proc/meminfo", "MemTotal")
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": read_first("/proc/cpuinfo", "model name") or platform.processor(),
        "kernel": platform.release(),
        "os": read_os_release_name(),
        "memory_bytes": int(mem_kib.split()[0]) * 1024 if mem_kib else None,
        "python": platform.python_version(),
    }


def read_os_release_name():
    try:
        with open("/etc/os-release", encoding="utf-8") as lines:
            for line in lines:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def build_description(build_dir):
    cache = {}
    try:
        with open(build_dir / "CMakeCache.txt", encoding="utf-8") as lines:
            for line in lines:
                for key in ("CMAKE_BUILD_TYPE", "CMAKE_CXX_COMPILER"):
                    if line.startswith(key + ":"):
                        cache[key] = line.split("=", 1)[1].strip()
    except OSError:
        pass
    return {"dir": str(build_dir), "build_type": cache.get("CMAKE_BUILD_TYPE"),
            "cxx_compiler": cache.get("CMAKE_CXX_COMPILER")}


def git_commit():
    try:
        out = subprocess.run(["git", "-C", str(REPO_DIR), "rev-parse", "HEAD"],
                             capture_output=True, text=True, check=True, timeout=10)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def method_description(settings, quick):
    return {
        "quick": quick,
        "rounds": settings.rounds,
        "volume_warmup_round_trips": settings.warmup,
        "volume_timed_round_trips_per_run": settings.iterations,
        "latency_warmup_calls": settings.latency_warmup,
        "latency_calls_per_run": settings.latency_calls,
        "throughput_seconds_per_run": settings.throughput_seconds,
        "text": (
            "Each program forks its server and talks to it over loopback (127.0.0.1 with "
            "TCP_NODELAY, or a Unix socket). Rows run one at a time, never concurrently, in "
            f"{settings.rounds} round(s): every row once per round, so a baseline and the rows "
            "compared to it are measured close together. Volume: the client sends an int16 "
            "volume's bytes, the server receives all of them, then sends them back; a round trip "
            "is timed from the first byte sent to the last byte received, after warm-up round "
            "trips, and the echo is verified outside the timing. Latency: one client, one call "
            "at a time, each call timed; p50/p99 per run; CPU per call is the user and system "
            "time of the program and its server (all threads, start-up included, from "
            "getrusage of the waited children) over every call made. Throughput: N connections with one "
            "call outstanding each, for a fixed time. Headline figures are the best over all "
            "runs (interference can only slow a run down); medians are recorded too. Server "
            "memory: VmHWM of the server process (reset after fork) divided by the payload. " +
            AWAKE_NOTE),
    }


# --- Report -------------------------------------------------------------------------------


def format_table(header, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]

    def line(cells):
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def human_bytes(count):
    return f"{count / MIB:g} MiB" if count >= MIB else f"{count / 1024:g} KiB"


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def scaled(value, factor):
    return None if value is None else value * factor


def targets_text(entry, metric):
    parts = [f"{t['op']} {t['value']:g} {'met' if t['met'] else 'NOT met'}"
             if t["met"] is not None else f"{t['op']} {t['value']:g}"
             for t in entry["targets"] if t["metric"] == metric]
    return ", ".join(parts) or "-"


def status_text(entry):
    return "unavailable: " + entry["reason"] if entry["status"] == "unavailable" else \
        "FAILED: " + entry["reason"]


def render_report(report):
    machine, method = report["machine"], report["method"]
    memory_gib = (machine["memory_bytes"] or 0) / (1 << 30)
    kind = "QUICK smoke run, figures meaningless" if method["quick"] else "full run"
    out = [
        f"SlicerBridge benchmarks ({kind})",
        f"Machine: nproc {machine['nproc']}, {machine['cpu_model']}, kernel {machine['kernel']}, "
        f"{machine['os']}, {memory_gib:.1f} GiB RAM; load average "
        f"{report['load_average_start']} at start, {report['load_average_end']} at end",
        f"Build: {report['build']['build_type']} ({report['build']['dir']}); "
        f"commit {report['git_commit'] or 'unknown'}",
        f"Method: {method['text']}",
    ]
    entries = report["rows"]

    def base_cell(entry):
        return "(baseline)" if entry["baseline"] is None else entry["baseline"]

    sections = [
        ("volume", "Volume round trip: N bytes to an echo server and back. "
                   "Ratio: " + RATIO_MEANING["volume"],
         ["row", "size", "best ms", "median ms", "MiB/s", "ratio", "vs", "issue", "target", "id"],
         lambda f: [human_bytes(f["bytes"]), fmt(f["best_seconds"] * 1e3, ".1f"),
                       fmt(f["median_seconds"] * 1e3, ".1f"),
                       fmt(f["best_mib_per_second"], ".0f")]),
        ("latency", "Small-call latency, one client. Ratio: " + RATIO_MEANING["latency"],
         ["row", "p50 us", "p99 us", "median p50 us", "CPU us/call", "ratio", "vs", "issue",
          "target", "id"],
         lambda f: [fmt(f["p50_seconds"] * 1e6, ".1f"), fmt(f["p99_seconds"] * 1e6, ".1f"),
                       fmt(f["median_p50_seconds"] * 1e6, ".1f"),
                       fmt(scaled(f.get("median_cpu_seconds_per_call"), 1e6), ".1f")]),
        ("throughput", "Small-call throughput. Ratio: " + RATIO_MEANING["throughput"],
         ["row", "clients", "calls/s", "median calls/s", "ratio", "vs", "issue", "target", "id"],
         lambda f: [str(f["clients"]), fmt(f["calls_per_second"], ".0f"),
                       fmt(f["median_calls_per_second"], ".0f")]),
    ]
    for group, heading, header, cells in sections:
        if not any(e["group"] == group for e in entries):
            continue
        table, missing = [], []
        for entry in (e for e in entries if e["group"] == group):
            if entry["status"] != "ok":
                missing.append(f"  {entry['id']}: {status_text(entry)}")
                continue
            table.append([entry["title"]] + cells(entry["figures"]) +
                         [fmt(entry["ratio"], ".2f"), base_cell(entry),
                          entry["reference"] or "-", targets_text(entry, "ratio"), entry["id"]])
        out += ["", heading]
        if table:
            out.append(format_table(header, table))
        out += missing

    measured = [e for e in entries if e["group"] == "volume" and e["status"] == "ok"]
    largest = max((e["figures"]["bytes"] for e in measured), default=None)
    memory = [e for e in measured if e["figures"]["bytes"] == largest]
    if memory:
        out += ["", "Server peak memory during the largest echo: server VmHWM / payload",
                format_table(["row", "server peak MiB", "peak / payload", "target"],
                             [[e["id"], fmt(e["figures"]["server_peak_rss_bytes"] / MIB, ".0f"),
                               fmt(e["figures"]["server_peak_ratio"], ".2f"),
                               targets_text(e, "server_peak_ratio")] for e in memory])]
    return "\n".join(out)


# --- Main ---------------------------------------------------------------------------------


def load_average():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", type=Path, default=REPO_DIR / "build-bench",
                        help="CMake build directory with the bench programs (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=BENCH_DIR / "results.json",
                        help="where to write the JSON results (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, one repetition: a smoke test, figures meaningless")
    parser.add_argument("--only", default="",
                        help="comma-separated row ids (fnmatch patterns) or groups (volume, "
                             "latency, throughput); the baselines they need are added")
    parser.add_argument("--rounds", type=int, help="runs of every row (default 3; 1 if --quick)")
    parser.add_argument("--list", action="store_true",
                        help="list the selected rows and their commands, run nothing")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_arguments(argv)
    settings = QUICK if args.quick else FULL
    if args.rounds is not None:
        if args.rounds < 1:
            raise SystemExit("--rounds must be at least 1")
        settings = Settings(**{**settings.__dict__, "rounds": args.rounds})
    build_dir = args.build_dir.resolve()
    patterns = [p.strip() for p in args.only.split(",") if p.strip()]
    rows = select_rows(define_rows(settings), patterns)
    commands = {row.id: command_for(row, build_dir, settings.timeout) for row in rows}

    if args.list:
        for row in rows:
            command, reason = commands[row.id]
            print(f"{row.id}: {' '.join(command) if command else 'unavailable: ' + reason}")
        return 0

    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = load_average()
    runs = {row.id: [] for row in rows}
    errors = {}
    for round_number in range(settings.rounds):
        for row in rows:
            command, _ = commands[row.id]
            if command is None or row.id in errors:
                continue
            print(f"[round {round_number + 1}/{settings.rounds}] {row.id}", file=sys.stderr,
                  flush=True)
            began = time.monotonic()
            try:
                runs[row.id].append(run_program(row, command, settings.timeout))
            except ProgramError as error:
                errors[row.id] = str(error)
                print(f"  failed: {error}", file=sys.stderr, flush=True)
                continue
            print(f"  {time.monotonic() - began:.1f} s", file=sys.stderr, flush=True)

    figures = {row.id: figures_of(row, runs[row.id]) if runs[row.id] and row.id not in errors
               else None for row in rows}
    entries = []
    for row in rows:
        command, reason = commands[row.id]
        status = "unavailable" if command is None else "failed" if row.id in errors else "ok"
        row_figures = figures[row.id]
        if row.baseline is None:
            ratio = 1.0 if row_figures else None
        else:
            ratio = ratio_of(row, row_figures, figures.get(row.baseline))
        measured = {"ratio": ratio,
                    "server_peak_ratio": row_figures.get("server_peak_ratio") if row_figures
                    else None}
        entries.append({
            "id": row.id, "title": row.title, "group": row.group, "status": status,
            "reason": reason if command is None else errors.get(row.id),
            "command": command, "baseline": row.baseline, "ratio": ratio,
            "ratio_meaning": RATIO_MEANING[row.group], "reference": row.reference,
            "figures": row_figures,
            # A quick run's figures say nothing about the targets.
            "targets": [{"metric": t.metric, "op": t.op, "value": t.value,
                         "met": None if args.quick else t.met(measured[t.metric])}
                        for t in row.targets],
            "runs": runs[row.id],
        })

    report = {
        "schema": SCHEMA,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "load_average_start": load_start,
        "load_average_end": load_average(),
        "machine": machine_description(),
        "build": build_description(build_dir),
        "git_commit": git_commit(),
        "method": method_description(settings, args.quick),
        "rows": entries,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(render_report(report))
    print(f"\nResults written to {args.output}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
