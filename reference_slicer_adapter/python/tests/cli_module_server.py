"""A SlicerBridge server for the CLI-module tests: the Python implementation's processors plus

- ``awkward``: every slot kind a CLI module finds hard (64-bit integers, a huge float default,
  a tiny one, a bool that defaults to true, fixed-length vectors with a range, a choice with
  spaces, a slot named like a flag of the module's own, an advanced group, an optional and a
  required input); it writes the parameters it received to its ``record`` path as JSON.
- ``wait_for_cancel``: reports progress, then waits until the call is cancelled and writes
  ``cancelled`` to its ``marker`` path, so a test can watch the server's side of a cancel.

Run as ``python cli_module_server.py [--token-file FILE]`` (the Python implementation on
PYTHONPATH); prints ``listening on HOST:PORT`` first.
"""

import json
import signal
import sys
import time
from typing import Optional

from slicerbridge import (Bool, Context, Enum, Float, FloatVector, Image, Input, Int, IntVector,
                          Server, String, StringVector, processor)
from slicerbridge.processors import ALL

BIG = 1 << 40


@processor(title="Awkward slots", category="Testing", outputs={})
def awkward(record: String(label="Record file"),
            volume: Input(Image, label="Volume", image_kind="scalar"),
            mask: Optional[Image] = None,
            sharpen: Bool(label="Sharpen") = True,
            big: Int(label="Big", min=-BIG, max=BIG) = BIG,
            bounded: Int(label="Bounded", min=-BIG, max=BIG) = 5,
            small: Int(label="Small", min=0, max=10) = 3,
            huge: Float(label="Huge") = 1e30,
            tiny: Float(label="Tiny", min=0.0, max=0.001) = 1e-5,
            origin: FloatVector(label="Origin", length=3, min=-10.0, max=10.0) = (0.0, 0.0, 0.0),
            size: IntVector(label="Size", length=2, min=1, max=9) = (1, 2),
            names: StringVector(label="Names") = ("a", "b"),
            mode: Enum(["fast", " spaced out "], label="Mode") = "fast",
            xml: String(label="A slot named xml", group="Advanced options") = "") -> dict:
    """Writes what it received to ``record``."""
    with open(record, "w", encoding="utf-8") as output:
        json.dump({"sharpen": sharpen, "big": big, "bounded": bounded, "small": small,
                   "huge": huge, "tiny": tiny, "origin": list(origin), "size": list(size),
                   "names": list(names), "mode": mode, "xml": xml,
                   "mask": mask is not None, "shape": list(volume.voxels.shape)}, output)
    return {}


@processor(title="Wait for cancel", category="Testing", outputs={})
def wait_for_cancel(ctx: Context, marker: String(label="Marker file")) -> dict:
    """Reports progress, then waits (at most 60 s) for the call to be cancelled, and writes
    ``cancelled`` to ``marker`` when it is."""
    ctx.progress(0.25, "waiting")
    with open(marker, "w", encoding="utf-8") as output:
        output.write("started")
    deadline = time.monotonic() + 60
    while not ctx.cancelled and time.monotonic() < deadline:
        time.sleep(0.01)
    with open(marker, "w", encoding="utf-8") as output:
        output.write("cancelled" if ctx.cancelled else "not cancelled")
    ctx.check_cancelled()
    return {}


def main() -> int:
    token = None
    if sys.argv[1:2] == ["--token-file"]:
        with open(sys.argv[2], encoding="utf-8") as stream:
            token = stream.readline().strip()
    server = Server(list(ALL) + [awkward, wait_for_cancel], token=token)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    host, port = server.listen_tcp("127.0.0.1", 0)
    print(f"listening on {host}:{port}", flush=True)
    try:
        server.serve_forever()
    except SystemExit:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
