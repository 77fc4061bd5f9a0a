"""The extension's packaging files agree with each other and with Slicer's rules."""

import ast
import json
import re
import struct

from conftest import ADAPTER

# Keys of Slicer's catalog entry schema v1.0.1 ("additionalProperties": false).
CATALOG_KEYS = {"$schema", "build_dependencies", "build_subdirectory", "category", "enabled",
                "scm_revision", "scm_type", "scm_url", "tier"}
SLICER_ONLY_MODULES = {"slicer", "qt", "ctk"}


def cmake_value(text, name):
    match = re.search(r'set\(%s\s+"([^"]*)"\)' % name, text)
    assert match, name
    return match.group(1)


def test_the_catalog_entry_has_the_schema_keys_and_the_extension_category():
    entry = json.loads((ADAPTER / "SlicerBridge.json").read_text())
    assert set(entry) <= CATALOG_KEYS
    assert {"$schema", "category", "scm_url"} <= set(entry)
    assert entry["$schema"].endswith("slicer-extension-catalog-entry-schema-v1.0.1.json#")
    cmake = (ADAPTER / "CMakeLists.txt").read_text()
    assert entry["category"] == cmake_value(cmake, "EXTENSION_CATEGORY")
    for required in ("find_package(Slicer", "include(${Slicer_USE_FILE})",
                     "include(${Slicer_EXTENSION_GENERATE_CONFIG})",
                     "include(${Slicer_EXTENSION_CPACK})"):
        assert required in cmake


def test_the_module_cmake_lists_every_python_file_and_the_icon():
    cmake = (ADAPTER / "SlicerBridge" / "CMakeLists.txt").read_text()
    listed = set(re.findall(r"^\s+(\S+\.(?:py|png))$", cmake.replace("${MODULE_NAME}",
                                                                      "SlicerBridge"), re.M))
    present = {str(p.relative_to(ADAPTER / "SlicerBridge"))
               for p in (ADAPTER / "SlicerBridge").rglob("*") if p.suffix in (".py", ".png")}
    assert listed == present


def test_the_icon_is_a_128_pixel_png():
    data = (ADAPTER / "SlicerBridge" / "Resources" / "Icons" / "SlicerBridge.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (128, 128)


def test_only_the_module_file_imports_slicer_qt_or_ctk():
    for path in (ADAPTER / "SlicerBridge").rglob("*.py"):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
        if path.name == "SlicerBridge.py":
            assert SLICER_ONLY_MODULES <= imported
        else:
            assert not imported & SLICER_ONLY_MODULES, path
