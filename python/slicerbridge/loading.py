"""Finding a user's processors: ``my_processors.py``, ``package.module`` or ``module:NAME``."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any, List

from .catalog import Processor


class LoadError(Exception):
    """A processor module that cannot be found (``usage`` True) or fails when imported."""

    def __init__(self, message: str, *, usage: bool = False):
        super().__init__(message)
        self.usage = usage


def _import_file(path: str) -> Any:
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise LoadError(f"no such file: {path}", usage=True)
    directory = os.path.dirname(path)
    stem = os.path.splitext(os.path.basename(path))[0]
    # As when running a script: modules beside it can be imported.
    if directory not in sys.path:
        sys.path.insert(0, directory)
    name = stem
    if not stem.isidentifier() or stem in sys.modules:  # never replace an imported module
        name = f"_slicerbridge_user_{abs(hash(path))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LoadError(f"cannot import {path}: not a Python file", usage=True)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _collect(value: Any, where: str) -> List[Processor]:
    if isinstance(value, Processor):
        return [value]
    if isinstance(value, (list, tuple)):
        found = [item for item in value if isinstance(item, Processor)]
        if len(found) != len(value):
            raise LoadError(f"{where} holds something that is not a @processor function",
                            usage=True)
        return found
    raise LoadError(f"{where} is not a @processor function or a list of them", usage=True)


def load_processors(spec: str) -> List[Processor]:
    """The processors of ``spec``: a Python file (``my_processors.py``), a module name
    (``package.module``), either followed by ``:NAME`` to take one attribute (a processor or a
    list of them). Without ``:NAME``, every ``@processor`` function at the module's top level, in
    the order they were defined. An exception raised while importing propagates as is."""
    target, _, attribute = spec.partition(":")
    if len(target) == 1 and attribute[:1] in ("\\", "/"):  # a Windows drive letter, C:\...
        target, attribute = spec, ""
    looks_like_file = target.endswith(".py") or os.sep in target or "/" in target
    if looks_like_file:
        module = _import_file(target)
    else:
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as error:
            if error.name and target.startswith(error.name):
                raise LoadError(f"no module named {target!r} (give a file like "
                                f"my_processors.py, or a module on sys.path)",
                                usage=True) from None
            raise
    if attribute:
        if not hasattr(module, attribute):
            raise LoadError(f"{target} has no {attribute!r}", usage=True)
        return _collect(getattr(module, attribute), f"{target}:{attribute}")
    found: List[Processor] = []
    for value in vars(module).values():
        if isinstance(value, Processor) and all(value is not p for p in found):
            found.append(value)
    if not found:
        raise LoadError(f"{target} defines no @processor functions", usage=True)
    return found
