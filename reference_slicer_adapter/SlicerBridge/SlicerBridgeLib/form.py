"""What the module's form shows for a processor description, without any Qt.

``parameter_fields`` says which widget each parameter slot gets, with its range, step, decimals,
choices and default; ``input_selectors`` and ``output_selectors`` say which MRML node classes a
data slot accepts or creates. ``collect_parameters`` turns what the widgets hold into parameter
values, checked against the slots' constraints (spec section 10 and 11.6) so that the user hears
about a bad value before anything is sent. SlicerBridge.py builds the Qt widgets from these.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

INT_RANGE = (-2**31, 2**31 - 1)  # what a QSpinBox holds
FLOAT_RANGE = (-1e12, 1e12)

# Node classes a data slot accepts, and whether their subclasses count too.
_INPUT_CLASSES: Dict[Tuple[str, Optional[str]], Tuple[List[str], bool]] = {
    ("image", "scalar"): (["vtkMRMLScalarVolumeNode"], False),
    ("image", "label"): (["vtkMRMLLabelMapVolumeNode", "vtkMRMLSegmentationNode"], False),
    ("image", "vector"): (["vtkMRMLVectorVolumeNode", "vtkMRMLScalarVolumeNode"], False),
    ("image", None): (["vtkMRMLScalarVolumeNode", "vtkMRMLLabelMapVolumeNode",
                       "vtkMRMLVectorVolumeNode", "vtkMRMLSegmentationNode"], False),
    ("mesh", None): (["vtkMRMLModelNode"], True),
    ("transform", None): (["vtkMRMLLinearTransformNode"], True),
    ("points", None): (["vtkMRMLMarkupsFiducialNode", "vtkMRMLMarkupsCurveNode"], True),
    ("table", None): (["vtkMRMLTableNode"], True),
    ("image_series", None): (["vtkMRMLSequenceNode", "vtkMRMLMultiVolumeNode"], False),
}

# The node class an output of that type creates, and the classes it may be written into.
_OUTPUT_CLASSES: Dict[Tuple[str, Optional[str]], Tuple[str, List[str]]] = {
    ("image", "scalar"): ("vtkMRMLScalarVolumeNode", ["vtkMRMLScalarVolumeNode"]),
    ("image", "label"): ("vtkMRMLLabelMapVolumeNode",
                         ["vtkMRMLLabelMapVolumeNode", "vtkMRMLSegmentationNode"]),
    ("image", "vector"): ("vtkMRMLVectorVolumeNode", ["vtkMRMLVectorVolumeNode"]),
    ("mesh", None): ("vtkMRMLModelNode", ["vtkMRMLModelNode"]),
    ("transform", None): ("vtkMRMLLinearTransformNode", ["vtkMRMLLinearTransformNode"]),
    ("points", None): ("vtkMRMLMarkupsFiducialNode", ["vtkMRMLMarkupsFiducialNode"]),
    ("table", None): ("vtkMRMLTableNode", ["vtkMRMLTableNode"]),
    ("image_series", None): ("vtkMRMLSequenceNode",
                             ["vtkMRMLSequenceNode", "vtkMRMLMultiVolumeNode"]),
}


@dataclasses.dataclass
class FieldSpec:
    """One parameter widget: ``widget`` is "checkbox", "spinbox", "doublespinbox", "lineedit",
    "combobox", or "vector" (numbers separated by commas, ``length`` of them when fixed)."""

    name: str
    type: str
    label: str
    tooltip: str
    group: str
    widget: str
    default: Any = None
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    step: Optional[float] = None
    decimals: int = 0
    choices: Sequence[str] = ()
    length: Optional[int] = None


@dataclasses.dataclass
class SelectorSpec:
    """One node selector: the classes it lists (with their subclasses when
    ``show_child_types``), whether it may stay empty, and for outputs the class of a new node."""

    name: str
    type: str
    label: str
    tooltip: str
    node_classes: List[str]
    show_child_types: bool
    optional: bool
    new_node_class: Optional[str] = None
    image_kind: Optional[str] = None


def _decimals(step: float) -> int:
    """Enough decimals to show ``step`` (at least 2, at most 10)."""
    if step <= 0:
        return 2
    return int(min(10, max(2, -math.floor(math.log10(step)) + 1)))


def parameter_fields(description: Mapping[str, Any]) -> List[FieldSpec]:
    fields = []
    for slot in description.get("parameters") or []:
        kind = slot["type"]
        label = slot.get("label") or slot["name"]
        field = FieldSpec(name=slot["name"], type=kind, label=label,
                          tooltip=slot.get("description") or label,
                          group=slot.get("group") or "Parameters", widget="lineedit",
                          default=slot.get("default"), choices=tuple(slot.get("choices") or ()),
                          length=slot.get("length"))
        if kind == "bool":
            field.widget = "checkbox"
            field.default = bool(slot.get("default", False))
        elif kind == "int":
            field.widget = "spinbox"
            field.minimum = slot.get("minimum", INT_RANGE[0])
            field.maximum = slot.get("maximum", INT_RANGE[1])
            field.step = slot.get("step") or 1
        elif kind == "float":
            field.widget = "doublespinbox"
            field.minimum = slot.get("minimum", FLOAT_RANGE[0])
            field.maximum = slot.get("maximum", FLOAT_RANGE[1])
            field.step = slot.get("step") or _default_float_step(slot)
            field.decimals = _decimals(field.step)
        elif kind == "enum":
            field.widget = "combobox"
        elif kind in ("int_vector", "float_vector", "string_vector"):
            field.widget = "vector"
            field.minimum = slot.get("minimum")
            field.maximum = slot.get("maximum")
        fields.append(field)
    return fields


def _default_float_step(slot: Mapping[str, Any]) -> float:
    low, high = slot.get("minimum"), slot.get("maximum")
    if low is not None and high is not None and high > low:
        return 10.0 ** math.floor(math.log10((high - low) / 100.0))
    return 0.1


def input_selectors(description: Mapping[str, Any]) -> List[SelectorSpec]:
    selectors = []
    for slot in description.get("inputs") or []:
        kind = slot.get("image_kind") if slot["type"] == "image" else None
        classes, children = _INPUT_CLASSES[(slot["type"], kind)]
        label = slot.get("label") or slot["name"]
        selectors.append(SelectorSpec(slot["name"], slot["type"], label,
                                      slot.get("description") or label, list(classes), children,
                                      bool(slot.get("optional")), image_kind=kind))
    return selectors


def output_selectors(description: Mapping[str, Any]) -> List[SelectorSpec]:
    """Output selectors may stay empty: a new node is then created for the output."""
    selectors = []
    for slot in description.get("outputs") or []:
        kind = (slot.get("image_kind") or "scalar") if slot["type"] == "image" else None
        new_class, classes = _OUTPUT_CLASSES[(slot["type"], kind)]
        label = slot.get("label") or slot["name"]
        selectors.append(SelectorSpec(slot["name"], slot["type"], label,
                                      slot.get("description") or label, list(classes), False,
                                      True, new_class, kind))
    return selectors


def format_vector(values: Sequence[Any]) -> str:
    return ", ".join(str(v) for v in values)


def parse_vector(text: str, kind: str) -> List[Any]:
    """The elements of a comma-separated vector widget; raises ValueError."""
    items = [item.strip() for item in text.split(",")] if text.strip() else []
    if kind == "int_vector":
        return [int(item) for item in items]
    if kind == "float_vector":
        return [float(item) for item in items]
    return items


def check_value(slot: Mapping[str, Any], value: Any) -> Optional[str]:
    """Why ``value`` does not fit parameter ``slot`` (its type and constraints), or None."""
    kind = slot["type"]
    name = slot["name"]
    if kind == "bool":
        return None if isinstance(value, bool) else f"{name}: expected true or false"
    if kind == "enum":
        choices = slot.get("choices") or []
        return None if value in choices else f"{name}: expected one of {', '.join(choices)}"
    if kind == "string":
        return None if isinstance(value, str) else f"{name}: expected text"
    numbers = value if kind in ("int_vector", "float_vector") else [value]
    if kind in ("int_vector", "float_vector", "string_vector"):
        if not isinstance(value, list):
            return f"{name}: expected a list"
        length = slot.get("length")
        if length is not None and len(value) != length:
            return f"{name}: expected {length} values, not {len(value)}"
        if kind == "string_vector":
            return None
    for number in numbers:
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            return f"{name}: expected a number"
        if kind in ("int", "int_vector") and not isinstance(number, int):
            return f"{name}: expected an integer"
        if not math.isfinite(number):
            return f"{name}: expected a finite number"
        if slot.get("minimum") is not None and number < slot["minimum"]:
            return f"{name}: {number} is below the minimum {slot['minimum']}"
        if slot.get("maximum") is not None and number > slot["maximum"]:
            return f"{name}: {number} is above the maximum {slot['maximum']}"
    return None


def collect_parameters(description: Mapping[str, Any],
                       values: Mapping[str, Any]) -> Tuple[Dict[str, Any], List[str]]:
    """Parameter values from what the widgets hold (vectors as their text), each converted to its
    slot's type; returns (parameters, problems). Names the description does not know are
    problems too."""
    slots = {slot["name"]: slot for slot in description.get("parameters") or []}
    parameters: Dict[str, Any] = {}
    problems: List[str] = []
    for name, raw in values.items():
        slot = slots.get(name)
        if slot is None:
            problems.append(f"{name}: not a parameter of {description.get('name')}")
            continue
        kind = slot["type"]
        try:
            if kind in ("int_vector", "float_vector", "string_vector") and isinstance(raw, str):
                value = parse_vector(raw, kind)
            elif kind == "int":
                if isinstance(raw, float) and not raw.is_integer():
                    raise ValueError(raw)
                value = int(raw)
            elif kind == "float":
                value = float(raw)
            else:
                value = raw
        except (TypeError, ValueError):
            problems.append(f"{name}: cannot read '{raw}' as {kind}")
            continue
        problem = check_value(slot, value)
        if problem:
            problems.append(problem)
        else:
            parameters[name] = value
    return parameters, problems
