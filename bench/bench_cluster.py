#!/usr/bin/python3
"""Reference servers behind HAProxy on loopback, measured as bench/README.md's contract says.

    --test throughput --servers N --clients C --delay S --seconds T --warmup-seconds U
        N `slicerbridge-server --workers 1` behind HAProxy (deploy/haproxy/make_config.py:
        leastconn, the protocol health check), C Python clients through HAProxy, each one
        call to `echo` with `delay` S outstanding at a time. A server runs one call at a time
        and the call waits, so the servers, not the 2 CPUs, set the rate. Prints
        `calls_per_second`: calls answered within the T seconds after U seconds of warm-up.
    --test echo --via haproxy|haproxy-copying|direct --dims E --warmup W --iterations K
        One `slicerbridge-server`, reached directly or through HAProxy (`haproxy-copying`: the
        configuration without kernel splicing, as before it was added); the round trips are
        bench_slicerbridge's (`--connect`): an int16 E^3 image to `echo` and back. The server's
        peak memory is its VmHWM; HAProxy's CPU time (user + system, from /proc, over the
        W + K round trips, health checks included) and the time its threads and the server's,
        ready to run, waited for a CPU (schedstat: what a busy machine adds to the path), read
        here.

Common: --build-dir DIR (slicerbridge-server and bench_slicerbridge), --timeout S. Exits with
status 3 and a message when haproxy is not installed.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
sys.path.insert(0, str(REPO_DIR / "python"))
sys.path.insert(0, str(REPO_DIR / "deploy" / "haproxy"))

from make_config import render  # noqa: E402
from slicerbridge.client import Client  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Servers:
    """Reference servers and, optionally, HAProxy in front of them; stopped on exit."""

    def __init__(self, build_dir, count, workers, balancer, timeout, splice=True):
        self.directory = tempfile.TemporaryDirectory(prefix="sb-bench-cluster-")
        self.processes = []
        self.addresses = []
        executable = build_dir / "reference_server" / "slicerbridge-server"
        for _ in range(count):
            process = subprocess.Popen(
                [str(executable), "--listen", "127.0.0.1:0", "--workers", str(workers),
                 "--max-frame", str(2 << 30)],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            self.processes.append(process)
            line = process.stdout.readline().strip()
            if not line.startswith("listening on "):
                raise RuntimeError(f"slicerbridge-server said {line!r}")
            self.addresses.append(line[len("listening on "):])
        self.address = self.addresses[0]
        if balancer:
            admin = os.path.join(self.directory.name, "admin.sock")
            listen = f"127.0.0.1:{free_port()}"
            config = os.path.join(self.directory.name, "haproxy.cfg")
            with open(config, "w", encoding="utf-8") as file:
                file.write(render(listen, [(f"s{i}", a) for i, a in enumerate(self.addresses)],
                                  admin_socket=admin, check_interval_ms=100, splice=splice))
            self.balancer = subprocess.Popen(["haproxy", "-db", "-f", config],
                                             stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL)
            self.processes.append(self.balancer)
            self.wait_until_up(admin, count, timeout)
            self.address = listen

    def wait_until_up(self, admin, count, timeout):
        """Until HAProxy's health check has marked every server UP (bounded)."""
        deadline = time.monotonic() + min(timeout, 30)
        while time.monotonic() < deadline:
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.settimeout(2)
                    s.connect(admin)
                    s.sendall(b"show stat\n")
                    text = b""
                    while chunk := s.recv(65536):
                        text += chunk
                lines = text.decode().splitlines()
                header = lines[0].lstrip("# ").split(",")
                status = header.index("status")
                up = [line for line in lines[1:] if line.startswith("processors,s")
                      and line.split(",")[status] == "UP"]
                if len(up) == count:
                    return
            except (OSError, IndexError, ValueError):
                pass
            time.sleep(0.05)  # polling HAProxy's state, bounded by the deadline
        raise RuntimeError("HAProxy did not mark every server UP")

    def balancer_cpu_seconds(self):
        """HAProxy's user + system CPU time so far."""
        with open(f"/proc/{self.balancer.pid}/stat", encoding="utf-8") as file:
            fields = file.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def waiting_seconds(process):
        """How long the process's threads, ready to run, waited for a CPU so far (schedstat)."""
        total = 0
        for task in os.listdir(f"/proc/{process.pid}/task"):
            try:
                with open(f"/proc/{process.pid}/task/{task}/schedstat", encoding="utf-8") as f:
                    total += int(f.read().split()[1])
            except FileNotFoundError:  # a thread that ended meanwhile
                pass
        return total / 1e9

    def server_peak_rss(self):
        with open(f"/proc/{self.processes[0].pid}/status", encoding="utf-8") as lines:
            for line in lines:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return 0

    def close(self):
        for process in reversed(self.processes):
            process.terminate()
        for process in reversed(self.processes):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.directory.cleanup()


def run_throughput(args, build_dir):
    servers = Servers(build_dir, args.servers, 1, True, args.timeout)
    try:
        clients = [Client.connect(servers.address, timeout=args.timeout)
                   for _ in range(args.clients)]
        start = time.monotonic() + args.warmup_seconds
        end = start + args.seconds
        finished = [[] for _ in clients]
        failures = []

        def work(index):
            try:
                while time.monotonic() < end:
                    clients[index].invoke("echo", parameters={"delay": args.delay})
                    finished[index].append(time.monotonic())
            except Exception as error:  # reported below
                failures.append(repr(error))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(clients))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(args.timeout)
        for client in clients:
            client.close(timeout=5)
        if failures:
            raise RuntimeError("calls failed: " + "; ".join(failures[:3]))
        counted = sum(1 for times in finished for t in times if start <= t < end)
        per_connection = [sum(1 for t in times if start <= t < end) for times in finished]
    finally:
        servers.close()
    return {"program": "bench_cluster.py", "test": "throughput", "servers": args.servers,
            "clients": args.clients, "delay_seconds": args.delay, "seconds": args.seconds,
            "calls": counted, "calls_per_connection": per_connection,
            "calls_per_second": counted / args.seconds,
            "ideal_calls_per_second": args.servers / args.delay}


def run_echo(args, build_dir):
    balanced = args.via != "direct"
    servers = Servers(build_dir, 1, 2, balanced, args.timeout, splice=args.via == "haproxy")
    try:
        cpu_before = servers.balancer_cpu_seconds() if balanced else 0.0
        waited_before = servers.waiting_seconds(servers.balancer) if balanced else 0.0
        server_waited_before = servers.waiting_seconds(servers.processes[0])
        completed = subprocess.run(
            [str(build_dir / "bench" / "bench_slicerbridge"), "--test", "echo", "--connect",
             servers.address, "--dims", str(args.dims), "--warmup", str(args.warmup),
             "--iterations", str(args.iterations), "--timeout", str(args.timeout)],
            capture_output=True, text=True, timeout=args.timeout + 30, check=False)
        if completed.returncode != 0:
            raise RuntimeError("bench_slicerbridge failed: " + completed.stderr.strip()[-300:])
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        result["server_peak_rss_bytes"] = servers.server_peak_rss()
        round_trips = args.warmup + args.iterations
        result["server_waiting_seconds_per_round_trip"] = (
            (servers.waiting_seconds(servers.processes[0]) - server_waited_before) / round_trips)
        if balanced:
            result["balancer_cpu_seconds_per_round_trip"] = (
                (servers.balancer_cpu_seconds() - cpu_before) / round_trips)
            result["balancer_waiting_seconds_per_round_trip"] = (
                (servers.waiting_seconds(servers.balancer) - waited_before) / round_trips)
    finally:
        servers.close()
    result.update({"program": "bench_cluster.py", "via": args.via,
                   "server": "slicerbridge-server (reference), workers 2"})
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test", choices=("throughput", "echo"), required=True)
    parser.add_argument("--build-dir", type=Path, required=True)
    parser.add_argument("--timeout", type=int, default=300)
    parser.add_argument("--servers", type=int, default=1)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--delay", type=float, default=0.02)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--warmup-seconds", type=float, default=0.3)
    parser.add_argument("--via", choices=("haproxy", "haproxy-copying", "direct"),
                        default="haproxy")
    parser.add_argument("--dims", type=int, default=512)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("haproxy") is None:
        print("haproxy is not installed (Debian package haproxy): skipped", file=sys.stderr)
        return 3
    build_dir = args.build_dir.resolve()
    run = run_throughput if args.test == "throughput" else run_echo
    print(json.dumps(run(args, build_dir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
