"""The package's PEP 517 build backend: builds the wheel (and sdist) with the standard library
alone, so that ``pip install ./python`` needs no download (nothing to fetch for an isolated
build: ``requires = []``) and writes nothing into the source tree (no ``build/``, no
``*.egg-info``): every file goes straight into the archive pip asked for.

Metadata come from ``pyproject.toml``'s ``[project]`` table (read with ``tomllib``, or, before
Python 3.11, with a reader of the subset of TOML that file uses).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import tarfile
import time
import zipfile
from typing import Any, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the python/ directory
PACKAGE = "slicerbridge"
_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same sources give the same wheel


# -- pyproject.toml ------------------------------------------------------------------------------

def _parse_toml_subset(text: str) -> Dict[str, Any]:
    """Tables, ``key = "string"``, arrays of strings and inline tables of strings."""
    document: Dict[str, Any] = {}
    table = document
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            table = document
            for part in line.strip("[]").split("."):
                table = table.setdefault(part.strip().strip('"'), {})
            continue
        key, _, value = line.partition("=")
        table[key.strip().strip('"')] = _parse_toml_value(value.strip())
    return document


def _parse_toml_value(value: str) -> Any:
    if value.startswith("{"):
        pairs = re.findall(r'(\w[\w-]*)\s*=\s*("(?:[^"\\]|\\.)*")', value)
        return {key: json.loads(item) for key, item in pairs}
    return json.loads(re.sub(r",\s*]", "]", value))


def _project() -> Dict[str, Any]:
    with open(os.path.join(HERE, "pyproject.toml"), "rb") as file:
        data = file.read()
    try:
        import tomllib
        return tomllib.loads(data.decode("utf-8"))["project"]
    except ImportError:
        return _parse_toml_subset(data.decode("utf-8"))["project"]


def _metadata(project: Dict[str, Any]) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {project['name']}",
             f"Version: {project['version']}", f"Summary: {project.get('description', '')}"]
    license_text = project.get("license", {}).get("text")
    if license_text:
        lines.append(f"License: {license_text}")
    if "requires-python" in project:
        lines.append(f"Requires-Python: {project['requires-python']}")
    lines += [f"Requires-Dist: {requirement}" for requirement in project.get("dependencies", [])]
    for extra, requirements in project.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {requirement}; extra == "{extra}"'
                  for requirement in requirements]
    readme = project.get("readme")
    body = ""
    if readme:
        lines.append("Description-Content-Type: text/markdown")
        with open(os.path.join(HERE, readme), encoding="utf-8") as file:
            body = file.read()
    return "\n".join(lines) + "\n\n" + body


def _entry_points(project: Dict[str, Any]) -> str:
    scripts = project.get("scripts", {})
    if not scripts:
        return ""
    return "[console_scripts]\n" + "".join(f"{name} = {target}\n"
                                           for name, target in scripts.items())


def _dist_info_name(project: Dict[str, Any]) -> str:
    return f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"


def _package_files() -> List[Tuple[str, str]]:
    """(archive name, path) of every source file of the package."""
    files = []
    root = os.path.join(HERE, PACKAGE)
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if d != "__pycache__")
        for name in sorted(names):
            if name.endswith((".py", ".typed")):
                path = os.path.join(directory, name)
                files.append((os.path.relpath(path, HERE).replace(os.sep, "/"), path))
    return files


# -- wheels ----------------------------------------------------------------------------------

def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _write_wheel(wheel_directory: str, contents: List[Tuple[str, bytes]]) -> str:
    project = _project()
    dist_info = _dist_info_name(project)
    wheel_name = f"{project['name'].replace('-', '_')}-{project['version']}-py3-none-any.whl"
    meta = [(f"{dist_info}/METADATA", _metadata(project).encode("utf-8")),
            (f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: slicerbridge_build\n"
                                   b"Root-Is-Purelib: true\nTag: py3-none-any\n")]
    entry_points = _entry_points(project)
    if entry_points:
        meta.append((f"{dist_info}/entry_points.txt", entry_points.encode("utf-8")))
    everything = contents + meta
    record = "".join(_record_line(name, data) + "\n" for name, data in everything)
    record += f"{dist_info}/RECORD,,\n"
    everything.append((f"{dist_info}/RECORD", record.encode("utf-8")))
    path = os.path.join(wheel_directory, wheel_name)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in everything:
            info = zipfile.ZipInfo(name, _EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return wheel_name


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()


def get_requires_for_build_wheel(config_settings: Optional[dict] = None) -> List[str]:
    return []


def get_requires_for_build_sdist(config_settings: Optional[dict] = None) -> List[str]:
    return []


def get_requires_for_build_editable(config_settings: Optional[dict] = None) -> List[str]:
    return []


def prepare_metadata_for_build_wheel(metadata_directory: str,
                                     config_settings: Optional[dict] = None) -> str:
    project = _project()
    dist_info = _dist_info_name(project)
    target = os.path.join(metadata_directory, dist_info)
    os.makedirs(target, exist_ok=True)
    with open(os.path.join(target, "METADATA"), "w", encoding="utf-8") as file:
        file.write(_metadata(project))
    entry_points = _entry_points(project)
    if entry_points:
        with open(os.path.join(target, "entry_points.txt"), "w", encoding="utf-8") as file:
            file.write(entry_points)
    return dist_info


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory: str, config_settings: Optional[dict] = None,
                metadata_directory: Optional[str] = None) -> str:
    return _write_wheel(wheel_directory, [(name, _read(path)) for name, path in _package_files()])


def build_editable(wheel_directory: str, config_settings: Optional[dict] = None,
                   metadata_directory: Optional[str] = None) -> str:
    """An editable install: a ``.pth`` file that puts this directory on ``sys.path``."""
    return _write_wheel(wheel_directory, [(f"__editable__.{PACKAGE}.pth",
                                           (HERE + "\n").encode("utf-8"))])


def build_sdist(sdist_directory: str, config_settings: Optional[dict] = None) -> str:
    project = _project()
    base = f"{project['name']}-{project['version']}"
    files = [("pyproject.toml", os.path.join(HERE, "pyproject.toml")),
             ("README.md", os.path.join(HERE, "README.md")),
             ("build_backend/slicerbridge_build.py", os.path.abspath(__file__))]
    files += _package_files()
    name = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz", format=tarfile.PAX_FORMAT) \
            as archive:
        entries = [(arcname, _read(path)) for arcname, path in files]
        entries.append(("PKG-INFO", _metadata(project).encode("utf-8")))
        for arcname, data in entries:
            info = tarfile.TarInfo(f"{base}/{arcname}")
            info.size = len(data)
            info.mtime = int(time.mktime((1980, 1, 1, 0, 0, 0, 0, 0, -1)))
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return name
