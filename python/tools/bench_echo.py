"""Quick measurement of the Python voxel path (not a test): an int16 image of E^3 voxels sent
to the ``echo`` processor of a separate ``python -m slicerbridge serve`` process and received
back, over TCP or a Unix socket. Prints one JSON line:
``{"bytes", "round_trip_seconds": [...], "server_peak_rss_bytes", "verified"}``.

    /usr/bin/python3 python/tools/bench_echo.py --dims 512 --iterations 5
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.dirname(HERE)
sys.path.insert(0, PYTHON_DIR)

from slicerbridge import Client, Image, memfd  # noqa: E402


def peak_rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak_rss(pid: int) -> None:
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--test", default="echo", choices=("echo",))
    parser.add_argument("--transport", default="tcp", choices=("tcp", "unix"))
    parser.add_argument("--dims", type=int, default=512)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=120.0)
    # 1: offer transfer.memfd (Unix socket only) and keep the voxels in a sealed memory file, so
    # that the volume travels as a descriptor both ways (protocol section 3.5).
    parser.add_argument("--memfd", type=int, default=0, choices=(0, 1))
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        listen = ("127.0.0.1:0" if arguments.transport == "tcp"
                  else "unix:" + os.path.join(directory, "bench.sock"))
        server = subprocess.Popen(
            [sys.executable, "-m", "slicerbridge", "serve", "--listen", listen],
            env=dict(os.environ, PYTHONPATH=PYTHON_DIR), stdout=subprocess.PIPE, text=True)
        try:
            address = server.stdout.readline().split()[-1]
            edge = arguments.dims
            voxels = (np.arange(edge ** 3, dtype=np.int64) % 65521 - 32000).astype(
                np.int16).reshape(edge, edge, edge)
            if arguments.memfd:
                voxels = np.frombuffer(memfd.memfd_copy(voxels), dtype=np.int16).reshape(
                    edge, edge, edge)
            image = Image(voxels, np.diag([0.5, 0.5, 1.0, 1.0]))
            with Client.connect(address, timeout=arguments.timeout,
                                transfer_memfd=bool(arguments.memfd)) as client:
                for _ in range(arguments.warmup):
                    client.invoke("echo", {"image": image}, timeout=arguments.timeout)
                reset_peak_rss(server.pid)
                times = []
                verified = True
                for _ in range(arguments.iterations):
                    started = time.perf_counter()
                    outputs = client.invoke("echo", {"image": image},
                                            timeout=arguments.timeout).outputs
                    times.append(time.perf_counter() - started)
                    verified = verified and np.array_equal(outputs["image_out"].voxels, voxels)
                    del outputs
                rss = peak_rss(server.pid)
        finally:
            server.terminate()
            server.wait(arguments.timeout)
    print(json.dumps({"bytes": voxels.nbytes, "round_trip_seconds": times,
                      "memfd": bool(arguments.memfd),
                      "server_peak_rss_bytes": rss, "verified": bool(verified)}))
    return 0 if verified else 1


if __name__ == "__main__":
    sys.exit(main())
