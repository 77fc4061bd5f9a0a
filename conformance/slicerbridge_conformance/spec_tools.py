"""The spec's own Python tools, shared instead of copied: the MessagePack oracle
(spec/tools/msgpack_oracle.py) and writer (spec/tools/msgpack_writer.py), the model-driven rules of messages, data and descriptions
(spec/tools/semantics.py) and spec/model.json. spec/vectors/check.py uses the same files, so the
suite and the spec judge bytes and descriptions alike."""

from __future__ import annotations

import importlib.util
import json
import os
import sys

SPEC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                    "spec")


def _load(name: str):
    qualified = f"{__package__}._spec_{name}"
    if qualified in sys.modules:
        return sys.modules[qualified]
    location = os.path.join(SPEC, "tools", f"{name}.py")
    spec = importlib.util.spec_from_file_location(qualified, location)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {location}: the suite runs from a SlicerBridge checkout")
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module
    spec.loader.exec_module(module)
    return module


msgpack_oracle = _load("msgpack_oracle")
msgpack_writer = _load("msgpack_writer")
semantics = _load("semantics")
with open(os.path.join(SPEC, "model.json"), encoding="utf-8") as _handle:
    MODEL = json.load(_handle)
