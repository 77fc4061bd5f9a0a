"""Processor descriptions as Slicer Execution Model CLI XML (spec Appendix B, [CAT-4]).

``description_to_xml(description)`` turns one description of the catalog (a dict, as
``Bridge.description`` returns it) into the ``<executable>`` document Slicer reads for a CLI
module, so that a processor can appear in Slicer as a CLI module, MATLABBridge-style.

The document follows the Execution Model's rules: the executable's children in the schema's
order (category, title, description, version, contributor, then the parameter groups); every
group a ``<parameters>`` with a ``<label>`` and a ``<description>``; every parameter its
``<name>``, ``<longflag>``, ``<description>``, ``<label>``, then ``<default>``, ``<channel>``,
``<constraints>`` (minimum, maximum and the required step) or enumeration ``<element>``s.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ElementTree
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

# Appendix B: slot type -> (element, attributes).
DATA_ELEMENTS: Dict[str, Tuple[str, Dict[str, str]]] = {
    "mesh": ("geometry", {"type": "model", "fileExtensions": ".vtk"}),
    "transform": ("transform", {"type": "linear", "fileExtensions": ".h5"}),
    "points": ("pointfile", {"fileExtensions": ".mrk.json", "coordinateSystem": "ras"}),
    "table": ("table", {"fileExtensions": ".tsv"}),
}
PARAMETER_ELEMENTS = {
    "bool": "boolean",
    "int": "integer",
    "float": "double",
    "string": "string",
    "enum": "string-enumeration",
    "int_vector": "integer-vector",
    "float_vector": "double-vector",
    "string_vector": "string-vector",
}
CONSTRAINED_TYPES = ("int", "float", "int_vector", "float_vector")
SEM_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*\Z")
INPUTS_GROUP = "Inputs"
OUTPUTS_GROUP = "Outputs"
PARAMETERS_GROUP = "Parameters"


class CliXmlError(ValueError):
    """A description that cannot be expressed as CLI XML."""


def _text(parent: ElementTree.Element, tag: str, text: str) -> ElementTree.Element:
    element = ElementTree.SubElement(parent, tag)
    element.text = text
    return element


def _number(value: float, integer: bool) -> str:
    if integer and float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def format_default(slot: Mapping[str, Any]) -> Optional[str]:
    """The ``<default>`` text of a parameter slot: booleans as true/false, vectors as
    comma-separated values (the Execution Model's form), numbers as written on the wire."""
    if "default" not in slot or slot["default"] is None:
        return None
    value = slot["default"]
    kind = slot["type"]
    if kind == "bool":
        return "true" if value else "false"
    if kind == "int":
        return str(int(value))
    if kind == "float":
        return _number(value, integer=False)
    if kind in ("int_vector", "float_vector"):
        return ",".join(_number(v, integer=kind == "int_vector") for v in value)
    if kind == "string_vector":
        return ",".join(str(v) for v in value)
    return str(value)


def default_step(slot: Mapping[str, Any]) -> float:
    """The step for a constrained slot without one (the Execution Model requires a step): 1 for
    integers; for floats a hundredth of the range rounded to a power of ten, else 0.1."""
    if slot.get("step") is not None:
        return float(slot["step"])
    if slot["type"] in ("int", "int_vector"):
        return 1.0
    low, high = slot.get("minimum"), slot.get("maximum")
    if low is not None and high is not None and high > low:
        return 10.0 ** math.floor(math.log10((high - low) / 100.0))
    return 0.1


def _parameter(group: ElementTree.Element, slot: Mapping[str, Any], channel: Optional[str]):
    kind = slot["type"]
    name = slot["name"]
    if not SEM_NAME.match(name):
        raise CliXmlError(f"slot name '{name}' is not a valid CLI parameter name")
    if kind == "image":
        element = ElementTree.SubElement(group, "image")
        image_kind = slot.get("image_kind") or "scalar"
        element.set("type", image_kind)
        element.set("fileExtensions", ".nrrd")
    elif kind in DATA_ELEMENTS:
        tag, attributes = DATA_ELEMENTS[kind]
        element = ElementTree.SubElement(group, tag)
        for key, value in attributes.items():
            element.set(key, value)
    elif kind in PARAMETER_ELEMENTS:
        element = ElementTree.SubElement(group, PARAMETER_ELEMENTS[kind])
    else:
        raise CliXmlError(f"slot '{name}' has the unknown type '{kind}'")
    label = slot.get("label") or name
    _text(element, "name", name)
    _text(element, "longflag", name)
    _text(element, "description", slot.get("description") or label)
    _text(element, "label", label)
    default = format_default(slot) if kind in PARAMETER_ELEMENTS else None
    if default is not None:
        _text(element, "default", default)
    if channel is not None:
        _text(element, "channel", channel)
    if kind in CONSTRAINED_TYPES and (slot.get("minimum") is not None
                                      or slot.get("maximum") is not None
                                      or slot.get("step") is not None):
        constraints = ElementTree.SubElement(element, "constraints")
        integer = kind in ("int", "int_vector")
        for key in ("minimum", "maximum"):
            if slot.get(key) is not None:
                _text(constraints, key, _number(slot[key], integer))
        _text(constraints, "step", _number(default_step(slot), integer))
    if kind == "enum":
        choices = slot.get("choices") or []
        if not choices:
            raise CliXmlError(f"enum slot '{name}' has no choices")
        for choice in choices:
            _text(element, "element", choice)


def _groups(description: Mapping[str, Any]) -> List[Tuple[str, List[Tuple[dict, Optional[str]]]]]:
    """(label, [(slot, channel)]) in order of first appearance: inputs, outputs, parameters."""
    groups: Dict[str, List[Tuple[dict, Optional[str]]]] = {}
    for key, channel, fallback in (("inputs", "input", INPUTS_GROUP),
                                   ("outputs", "output", OUTPUTS_GROUP),
                                   ("parameters", None, PARAMETERS_GROUP)):
        for slot in description.get(key) or []:
            groups.setdefault(slot.get("group") or fallback, []).append((slot, channel))
    return list(groups.items())


def description_to_element(description: Mapping[str, Any]) -> ElementTree.Element:
    """The ``<executable>`` element of ``description``."""
    executable = ElementTree.Element("executable")
    if description.get("category"):
        _text(executable, "category", description["category"])
    _text(executable, "title", description.get("title") or description["name"])
    _text(executable, "description", description.get("description") or
          description.get("title") or description["name"])
    if description.get("version"):
        _text(executable, "version", description["version"])
    if description.get("contributor"):
        _text(executable, "contributor", description["contributor"])
    groups = _groups(description)
    if not groups:
        raise CliXmlError(f"processor '{description['name']}' has no inputs, outputs or "
                          "parameters: a CLI module needs at least one parameter")
    for label, slots in groups:
        group = ElementTree.SubElement(executable, "parameters")
        _text(group, "label", label)
        _text(group, "description", label)
        for slot, channel in slots:
            _parameter(group, slot, channel)
    return executable


def description_to_xml(description: Mapping[str, Any]) -> str:
    """The CLI XML document of ``description``, indented, with its XML declaration."""
    element = description_to_element(description)
    ElementTree.indent(element)
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            + ElementTree.tostring(element, encoding="unicode") + "\n")


def cli_module_name(processor: str) -> str:
    """A CLI module name for a processor name (``[A-Za-z][A-Za-z0-9_.-]*``): characters the
    Execution Model does not allow in names become underscores."""
    return "SlicerBridge_" + re.sub(r"[^A-Za-z0-9_]", "_", processor)


def catalog_to_xml(processors: Sequence[Mapping[str, Any]]) -> Dict[str, str]:
    """The CLI XML of every processor, by CLI module name. Raises CliXmlError for a processor
    that cannot be expressed (one without any slot: the Execution Model needs a parameter)."""
    return {cli_module_name(d["name"]): description_to_xml(d) for d in processors}
