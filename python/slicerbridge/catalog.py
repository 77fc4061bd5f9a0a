"""Processor descriptions (spec section 10) and the ``@processor`` decorator.

A processor is a plain function whose annotated parameters become the description::

    @processor(title="Threshold", category="Segmentation")
    def threshold(ctx, volume: Image,
                  lower: Float(label="Lower", min=-1e9, max=1e9) = 0.0,
                  upper: Float(label="Upper") = 1.0
                  ) -> {"labels": Output(Image, image_kind="label")}:
        ...
        return {"labels": volume.with_voxels(mask, kind="label")}

Data annotations (``Image``, ``Mesh``, ``Transform``, ``PointList``, ``Table`` or ``Input(...)``)
make inputs, optional when the default is None; Python ``bool``/``int``/``float``/``str`` or the
``Bool``/``Int``/``Float``/``String``/``Enum``/``*Vector`` specs make parameters, whose Python
default is their default. ``Annotated[float, Float(min=0)]`` is the same as ``Float(min=0)``
for code checked by type checkers. The return annotation maps output names to data types (or
pass ``outputs=``). A first parameter named ``ctx`` receives the call's ``Context``.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import re
import typing
from typing import Any, Callable, Dict, List, Optional, Sequence

from .context import Context
from .data import DATA_TYPES, IMAGE_KINDS, IMAGE_SERIES_VERSION
from .errors import ErrorCode, SlicerBridgeError
from .messages import SCALAR_OUTPUTS, at_least
from .values import is_integer, is_number

DATA_SLOT_TYPES = tuple(DATA_TYPES)
PARAMETER_TYPES = ("bool", "int", "float", "string", "enum", "int_vector", "float_vector",
                   "string_vector")
PROCESSOR_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*\Z")
SLOT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
INT64 = range(-2**63, 2**63)
_NUMERIC_TYPES = ("int", "float", "int_vector", "float_vector")
_VECTOR_TYPES = ("int_vector", "float_vector", "string_vector")


def did_you_mean(name: str, known) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known``, or nothing."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _known_list(names) -> str:
    names = list(names)
    return ", ".join(names) if names else "none"


def _type_name(value: Any) -> str:
    """How a returned value is named in an error: its protocol type, else its Python type."""
    data_type = getattr(value, "type", None)
    if isinstance(data_type, str) and data_type in DATA_SLOT_TYPES:
        return f"{type(value).__name__} ({data_type})"
    return type(value).__name__


def _invalid_message(message: str) -> SlicerBridgeError:
    return SlicerBridgeError(ErrorCode.INVALID_MESSAGE, message)


def _integral_default(slot_type: Any, default: Any) -> Any:
    """[CAT-10]: a 1.0 sender wrote an int slot's default as a float; an integral one stands for
    the integer."""
    def integral(x: Any) -> bool:
        return isinstance(x, float) and x.is_integer() and -2.0**63 <= x < 2.0**63
    if slot_type == "int" and integral(default):
        return int(default)
    if slot_type == "int_vector" and isinstance(default, list) and default \
            and all(integral(x) or is_integer(x) for x in default):
        return [int(x) for x in default]
    return default


def read_catalog(result: Any) -> tuple:
    """What a client keeps of a ``catalog`` result ([CAT-12]): ``(descriptions, dropped)``, the
    valid descriptions in catalog order and, for each description that breaks a rule of section
    10, ``{"index", "name" (None without a string name), "requirement", "reason"}``. Raises
    ``invalid_message`` only when the result is not a map with an array ``processors``."""
    processors = result.get("processors") if isinstance(result, dict) else None
    if not isinstance(processors, list):
        raise _invalid_message("catalog without a processors array")
    kept: List["ProcessorDescription"] = []
    dropped: List[dict] = []
    for index, value in enumerate(processors):
        name = value.get("name") if isinstance(value, dict) else None
        try:
            description = ProcessorDescription.received(value)
            if any(other.name == description.name for other in kept):
                raise _invalid_message(f"processor name {description.name!r} used twice "
                                       f"[CAT-11]")
        except SlicerBridgeError as error:
            requirement = re.findall(r"\[(CAT-\d+)\]", error.message)
            dropped.append({"index": index, "name": name if isinstance(name, str) else None,
                            "requirement": requirement[-1] if requirement else "CAT-11",
                            "reason": error.message})
            continue
        kept.append(description)
    return kept, dropped


@dataclasses.dataclass
class Slot:
    """An input, output or parameter of a processor (spec section 10)."""

    name: str
    type: str
    label: str = ""
    description: str = ""
    group: str = ""
    optional: bool = False
    default: Any = None
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    step: Optional[float] = None
    choices: Optional[List[str]] = None
    length: Optional[int] = None
    image_kind: Optional[str] = None

    @property
    def is_data(self) -> bool:
        return self.type in DATA_SLOT_TYPES

    def to_wire(self) -> dict:
        wire: dict = {"name": self.name, "type": self.type, "label": self.label,
                      "description": self.description}
        if self.group:
            wire["group"] = self.group
        wire["optional"] = self.optional
        if self.default is not None:
            wire["default"] = self.default
        integral = self.type in ("int", "int_vector")
        for key in ("minimum", "maximum", "step"):
            value = getattr(self, key)
            if value is not None:
                if integral and isinstance(value, float) and value.is_integer() \
                        and -2**63 <= value < 2**63:
                    value = int(value)  # [CAT-10]
                wire[key] = value
        if self.choices is not None:
            wire["choices"] = list(self.choices)
        if self.length is not None:
            wire["length"] = self.length
        if self.image_kind is not None:
            wire["image_kind"] = self.image_kind
        return wire

    @classmethod
    def from_wire(cls, value: Any) -> "Slot":
        """Read a slot: only ``name`` and ``type`` are required [CAT-6]; unknown keys are
        ignored; mistyped keys are ``invalid_message``."""
        if not isinstance(value, dict):
            raise _invalid_message("slot is not a map [CAT-11]")
        fields: Dict[str, Any] = {}
        checks = {"name": str, "type": str, "label": str, "description": str, "group": str,
                  "optional": bool, "image_kind": str}
        for key, expected in checks.items():
            if key in value:
                if not isinstance(value[key], expected):
                    raise _invalid_message(f"slot {key} has the wrong type [CAT-11]")
                fields[key] = value[key]
        if "name" not in fields or "type" not in fields:
            raise _invalid_message("slot without name or type [CAT-6]")
        for key in ("minimum", "maximum", "step"):
            if key in value:
                if not is_number(value[key]):
                    raise _invalid_message(f"slot {key} is not a number [CAT-11]")
                fields[key] = value[key]
        if "choices" in value:
            choices = value["choices"]
            if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
                raise _invalid_message("slot choices must be strings [CAT-11]")
            fields["choices"] = choices
        if "length" in value:
            if not is_integer(value["length"]) or value["length"] < 0:
                raise _invalid_message("slot length must be an integer >= 0 [CAT-11]")
            fields["length"] = value["length"]
        if "default" in value:
            fields["default"] = _integral_default(fields["type"], value["default"])
        return cls(**fields)

    def check_definition(self, role: str) -> None:
        """Check a slot defined in this process: raises ValueError naming the first rule of
        section 10 it breaks ([CAT-5], [CAT-9], [CAT-11])."""
        found = self.problems(role)
        if found:
            raise ValueError(f"{found[0][1]} [{found[0][0]}]")
        if self.default is not None:
            self.default = self.check_value(self.default)

    def problems(self, role: str) -> List[tuple]:
        """``(requirement, message)`` for each rule of section 10 that this slot, in ``role``
        (inputs, outputs or parameters), breaks: the rules of spec/model.json's Slot, run by
        both the server (its own processors) and the client (what it receives, [CAT-12])."""
        found = []
        where = f"{role} slot {self.name!r}"
        if not SLOT_NAME.match(self.name):
            found.append(("CAT-11", f"invalid slot name {self.name!r}"))
        if self.type not in DATA_SLOT_TYPES and self.type not in PARAMETER_TYPES:
            return found + [("CAT-11", f"{where}: unknown slot type {self.type!r}")]
        allowed = {"inputs": DATA_SLOT_TYPES, "parameters": PARAMETER_TYPES,
                   # a scalar output [CAT-7]: a number, text or flag the call returns
                   "outputs": tuple(DATA_SLOT_TYPES) + tuple(PARAMETER_TYPES)}[role]
        if self.type not in allowed:
            found.append(("CAT-5", f"{where} cannot have type {self.type!r}"))
        if role != "parameters" and self.default is not None:
            found.append(("CAT-5", f"{where} cannot have a default"))
        if self.image_kind is not None and self.image_kind not in IMAGE_KINDS:
            found.append(("CAT-11", f"{where}: image_kind is one of {IMAGE_KINDS}"))
        elif self.image_kind is not None and self.type != "image":
            found.append(("CAT-9", f"{where}: image_kind is for image slots only"))
        if self.choices is not None and self.type != "enum":
            found.append(("CAT-11", f"{where}: choices apply to enum slots only"))
        if self.type == "enum" and not self.choices:
            found.append(("CAT-11", f"enum parameter {self.name!r} needs choices"))
        bounds = [key for key in ("minimum", "maximum", "step") if getattr(self, key) is not None]
        if bounds and self.type not in _NUMERIC_TYPES:
            found.append(("CAT-11", f"{where}: {', '.join(bounds)} apply to numeric slots only"))
        if self.minimum is not None and self.maximum is not None \
                and not self.minimum <= self.maximum:
            found.append(("CAT-11", f"{where}: minimum above maximum"))
        if self.length is not None and self.type not in _VECTOR_TYPES:
            found.append(("CAT-11", f"{where}: length applies to vector slots only"))
        if not found and self.default is not None and role == "parameters":
            try:
                self.check_value(self.default)
            except SlicerBridgeError as error:
                found.append(("CAT-5", f"default of {self.name!r} is invalid: {error.message}"))
        return found

    def check_value(self, value: Any) -> Any:
        """Validate a parameter value against this slot's type and constraints and return it in
        its Python form; raises ``invalid_argument`` naming the slot [INV-2]."""
        kind = self.type
        if kind.endswith("_vector"):
            if not isinstance(value, (list, tuple)):
                raise self._invalid("must be an array")
            if self.length is not None and len(value) != self.length:
                raise self._invalid(f"must have {self.length} elements")
            element_type = kind[:-len("_vector")]
            return [self._check_scalar(element_type, item) for item in value]
        return self._check_scalar(kind, value)

    def _check_scalar(self, kind: str, value: Any) -> Any:
        if kind == "bool":
            if not isinstance(value, bool):
                raise self._invalid("must be a bool")
            return value
        if kind in ("string", "enum"):
            if not isinstance(value, str):
                raise self._invalid(f"must be a string, not {_type_name(value)}")
            if kind == "enum" and value not in (self.choices or ()):
                raise self._invalid(f"must be one of {_known_list(self.choices or ())}"
                                    f"{did_you_mean(value, self.choices or ())}")
            return value
        if kind == "int":
            if not is_integer(value) or value not in INT64:
                raise self._invalid(f"must be an integer in the int64 range, not "
                                    f"{value!r}" if is_number(value) else
                                    f"must be an integer, not {_type_name(value)}")
        elif kind == "float":
            if not is_number(value):
                raise self._invalid(f"must be a number, not {_type_name(value)}")
            value = float(value)
        if ((self.minimum is not None and not value >= self.minimum)
                or (self.maximum is not None and not value <= self.maximum)):
            raise self._invalid(f"= {value!r} is out of range {self.range_text()}",
                                value=value)
        return value

    def range_text(self) -> str:
        """``[min, max]``, ``>= min`` or ``<= max``."""
        if self.minimum is not None and self.maximum is not None:
            return f"[{self.minimum:g}, {self.maximum:g}]"
        if self.minimum is not None:
            return f"(must be >= {self.minimum:g})"
        return f"(must be <= {self.maximum:g})"

    def _invalid(self, problem: str, **extra: Any) -> SlicerBridgeError:
        """``invalid_argument`` naming the parameter, and the value when it is a number: a
        parameter value is a setting, not patient data [ERR-3]."""
        details: Dict[str, Any] = {"name": self.name, **extra}
        for key in ("minimum", "maximum", "length"):
            if getattr(self, key) is not None:
                details[key] = getattr(self, key)
        return SlicerBridgeError(ErrorCode.INVALID_ARGUMENT, f"parameter {self.name} {problem}",
                                 details)


@dataclasses.dataclass
class ProcessorDescription:
    """The catalog entry of a processor (spec section 10)."""

    name: str
    version: str = ""
    title: str = ""
    description: str = ""
    category: str = ""
    contributor: str = ""
    inputs: List[Slot] = dataclasses.field(default_factory=list)
    outputs: List[Slot] = dataclasses.field(default_factory=list)
    parameters: List[Slot] = dataclasses.field(default_factory=list)
    #: The same call gives the same result with no other effect: safe to send again [CAT-8].
    idempotent: bool = False

    def offered_at(self, version) -> bool:
        """False when a peer of ``version`` cannot call this processor: before 1.1, one with a
        required image_series input; it is left out of that peer's catalog [SER-6]."""
        return at_least(version, IMAGE_SERIES_VERSION) or not any(
            slot.type == "image_series" and not slot.optional for slot in self.inputs)

    def slots_at(self, role: str, version) -> List[Slot]:
        """The slots of ``role`` that a peer of ``version`` may see: before 1.1 without scalar
        outputs [CAT-7] and image_series slots [SER-6]."""
        newer = at_least(version, SCALAR_OUTPUTS)
        return [slot for slot in getattr(self, role)
                if newer or ((role != "outputs" or slot.is_data) and slot.type != "image_series")]

    def to_wire(self, version=SCALAR_OUTPUTS) -> dict:
        """Every key of [CAT-6]; ``contributor`` and ``idempotent`` only when set; for a 1.0
        peer without scalar outputs, image_series slots and ``idempotent`` [VER-4]."""
        newer = at_least(version, SCALAR_OUTPUTS)
        wire: dict = {"name": self.name, "version": self.version, "title": self.title,
                      "description": self.description, "category": self.category}
        if self.contributor:
            wire["contributor"] = self.contributor
        for role in ("inputs", "outputs", "parameters"):
            wire[role] = [slot.to_wire() for slot in self.slots_at(role, version)]
        if self.idempotent and newer:
            wire["idempotent"] = True
        return wire

    @classmethod
    def from_wire(cls, value: Any) -> "ProcessorDescription":
        """Read a description that may hold only name, inputs, outputs and parameters [CAT-6]."""
        if not isinstance(value, dict):
            raise _invalid_message("description is not a map [CAT-11]")
        fields: Dict[str, Any] = {}
        for key in ("name", "version", "title", "description", "category", "contributor"):
            if key in value:
                if not isinstance(value[key], str):
                    raise _invalid_message(f"description {key} is not a string [CAT-11]")
                fields[key] = value[key]
        if "name" not in fields:
            raise _invalid_message("description without a name [CAT-6]")
        for role in ("inputs", "outputs", "parameters"):
            if role not in value:
                raise _invalid_message(f"description without {role} [CAT-6]")
            slots = value[role]
            if not isinstance(slots, list):
                raise _invalid_message(f"description {role} is not an array [CAT-11]")
            fields[role] = [Slot.from_wire(slot) for slot in slots]
        idempotent = value.get("idempotent", False)
        if not isinstance(idempotent, bool):
            raise _invalid_message("description idempotent is not a bool [CAT-11]")
        return cls(**fields, idempotent=idempotent)

    @classmethod
    def received(cls, value: Any) -> "ProcessorDescription":
        """Read a description from a peer and check every rule of section 10 on it; raises
        ``invalid_message`` whose message ends with the requirement it breaks ([CAT-12])."""
        description = cls.from_wire(value)
        found = description.problems()
        if found:
            raise _invalid_message(f"{found[0][1]} [{found[0][0]}]")
        return description

    def problems(self) -> List[tuple]:
        """``(requirement, message)`` for each rule of section 10 this description breaks."""
        found = []
        if not PROCESSOR_NAME.match(self.name):
            found.append(("CAT-11", f"invalid processor name {self.name!r}"))
        names = set()
        for role in ("inputs", "outputs", "parameters"):
            for slot in getattr(self, role):
                found += slot.problems(role)
                if slot.name in names:
                    found.append(("CAT-3", f"slot name {slot.name!r} used twice in {self.name!r}"))
                names.add(slot.name)
        return found

    def check_definition(self) -> None:
        """Check a description defined in this process: raises ValueError naming the first
        rule of section 10 it breaks; normalises its defaults."""
        found = self.problems()
        if found:
            raise ValueError(f"{found[0][1]} [{found[0][0]}]")
        for role in ("inputs", "outputs", "parameters"):
            for slot in getattr(self, role):
                slot.check_definition(role)


# ---------------------------------------------------------------------------------------------
# Annotation helpers

class SlotSpec:
    """An annotation that describes a slot; the slot's name comes from the function parameter.

    ``min``/``max`` become the slot's ``minimum``/``maximum``. Each subclass names the options
    its slot type has in ``options_allowed``.
    """

    slot_type = ""
    options_allowed: tuple = ("min", "max", "step", "choices", "length", "image_kind")

    def __init__(self, *, label: str = "", description: str = "", group: str = "",
                 optional: bool = False, **constraints: Any):
        unknown = set(constraints) - set(self.options_allowed)
        if unknown:
            raise TypeError(f"{type(self).__name__} takes no {', '.join(sorted(unknown))}")
        choices = constraints.get("choices")
        self.options = dict(label=label, description=description, group=group,
                            optional=optional, minimum=constraints.get("min"),
                            maximum=constraints.get("max"), step=constraints.get("step"),
                            choices=list(choices) if choices is not None else None,
                            length=constraints.get("length"),
                            image_kind=constraints.get("image_kind"))

    def slot(self, name: str) -> Slot:
        return Slot(name=name, type=self.slot_type, **self.options)


class Bool(SlotSpec):
    """A ``bool`` parameter."""
    slot_type, options_allowed = "bool", ()


class Int(SlotSpec):
    """An ``int`` parameter: ``Int(min=1, max=10, step=1)``."""
    slot_type, options_allowed = "int", ("min", "max", "step")


class Float(SlotSpec):
    """A ``float`` parameter: ``Float(min=0.0, max=1.0)``."""
    slot_type, options_allowed = "float", ("min", "max", "step")


class String(SlotSpec):
    """A ``string`` parameter."""
    slot_type, options_allowed = "string", ()


class IntVector(SlotSpec):
    """An ``int_vector`` parameter: ``IntVector(length=3, min=0)``."""
    slot_type, options_allowed = "int_vector", ("min", "max", "step", "length")


class FloatVector(SlotSpec):
    """A ``float_vector`` parameter."""
    slot_type, options_allowed = "float_vector", ("min", "max", "step", "length")


class StringVector(SlotSpec):
    """A ``string_vector`` parameter."""
    slot_type, options_allowed = "string_vector", ("length",)


class Enum(SlotSpec):
    """An ``enum`` parameter: one of ``choices``."""
    slot_type, options_allowed = "enum", ("choices",)

    def __init__(self, choices: Sequence[str], **options: Any):
        super().__init__(choices=choices, **options)


class Input(SlotSpec):
    """A data slot with a label, description or image kind:
    ``Input(Image, label="Volume", image_kind="scalar")``; ``Output`` is the same for outputs."""
    options_allowed = ("image_kind",)

    def __init__(self, data_type: type, **options: Any):
        if data_type not in DATA_TYPES.values():
            raise TypeError(f"{data_type!r} is not a data type")
        super().__init__(**options)
        self.slot_type = data_type.type


Output = Input

_PYTHON_PARAMETER_TYPES = {bool: "bool", int: "int", float: "float", str: "string"}


def _unwrap_optional(annotation: Any):
    """(inner annotation, whether None was allowed) for ``Optional[X]`` and ``X | None``."""
    arguments = typing.get_args(annotation)
    if arguments and type(None) in arguments and len(arguments) == 2:
        return next(a for a in arguments if a is not type(None)), True
    return annotation, False


def _slot_from_annotation(name: str, annotation: Any, default: Any) -> Slot:
    annotation, allows_none = _unwrap_optional(annotation)
    if typing.get_origin(annotation) is typing.Annotated:
        # Annotated[float, Float(min=0)] reads the same as Float(min=0) and suits type checkers.
        specs = [m for m in annotation.__metadata__ if isinstance(m, SlotSpec)]
        annotation = specs[0] if specs else typing.get_args(annotation)[0]
    if isinstance(annotation, SlotSpec):
        slot = annotation.slot(name)
    elif isinstance(annotation, type) and annotation in DATA_TYPES.values():
        slot = Slot(name=name, type=annotation.type)
    elif annotation in _PYTHON_PARAMETER_TYPES:
        slot = Slot(name=name, type=_PYTHON_PARAMETER_TYPES[annotation])
    else:
        raise TypeError(f"parameter {name!r} needs a SlicerBridge annotation")
    if default is not inspect.Parameter.empty:
        if default is None:
            slot.optional = True
        elif slot.is_data:
            raise TypeError(f"data input {name!r} can only default to None")
        else:
            slot.default = list(default) if isinstance(default, tuple) else default
    if allows_none and default is inspect.Parameter.empty:
        raise TypeError(f"optional slot {name!r} needs the default None")
    if not slot.label:
        slot.label = name.replace("_", " ").capitalize()
    return slot


def _resolve(annotation: Any, namespace: dict) -> Any:
    return eval(annotation, namespace) if isinstance(annotation, str) else annotation  # noqa: S307


class Processor:
    """A described, callable computation. Calling it runs the function directly."""

    def __init__(self, function: Callable, description: ProcessorDescription,
                 takes_context: bool):
        description.check_definition()
        self.function = function
        self.description = description
        self.takes_context = takes_context
        self.__doc__ = function.__doc__
        self.__name__ = getattr(function, "__name__", description.name)

    @property
    def name(self) -> str:
        return self.description.name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    def bind(self, inputs: Dict[str, Any], parameters: Dict[str, Any]) -> Dict[str, Any]:
        """Check converted inputs and raw parameter values against the description and return
        the keyword arguments of the function [INV-2], [INV-3]."""
        return check_arguments(self.description, inputs, parameters)

    def run(self, ctx: Context, arguments: Dict[str, Any]) -> Dict[str, Any]:
        """Call the function and check its outputs [INV-4]; a wrong output is a processor bug
        reported as ``processor_failed``."""
        result = (self.function(ctx, **arguments) if self.takes_context
                  else self.function(**arguments))
        outputs = self.description.outputs
        if not isinstance(result, dict):
            if result is not None and len(outputs) == 1:
                result = {outputs[0].name: result}
            elif result is None:
                result = {}
            else:
                raise _bad_output(f"{self.name} must return a dict of outputs by name, not "
                                  f"{_type_name(result)}")
        declared = {slot.name: slot for slot in outputs}
        checked = {}
        for name, value in result.items():
            slot = declared.get(name)
            if slot is None:
                raise _bad_output(f"{self.name} returned an undeclared output {name!r}"
                                  f"{did_you_mean(str(name), declared)} (its outputs: "
                                  f"{_known_list(declared)})")
            if value is None:
                continue
            if not slot.is_data:  # a scalar output [CAT-7]
                try:
                    checked[name] = slot.check_value(value)
                except SlicerBridgeError as error:
                    raise _bad_output(f"output {name}: {error.message}") from None
                continue
            if getattr(value, "type", None) != slot.type:
                raise _bad_output(f"{self.name} returned {_type_name(value)} as output "
                                  f"{name}, which is declared as {slot.type}")
            checked[name] = value
        for slot in outputs:
            if not slot.optional and slot.name not in checked:
                raise _bad_output(f"{self.name} did not return its output {slot.name}")
        return checked


def _bad_output(message: str) -> SlicerBridgeError:
    return SlicerBridgeError(ErrorCode.PROCESSOR_FAILED, message)


def processor(name: Optional[str] = None, *, title: str = "", category: str = "",
              version: str = "1.0", description: Optional[str] = None, contributor: str = "",
              outputs: Optional[Dict[str, Any]] = None,
              idempotent: bool = False) -> Callable[[Callable], Processor]:
    """Turn a function into a ``Processor`` (see the module documentation)."""

    def decorate(function: Callable) -> Processor:
        signature = inspect.signature(function)
        namespace = getattr(function, "__globals__", {})
        parameters = list(signature.parameters.values())
        takes_context = bool(parameters) and (
            parameters[0].name == "ctx"
            or _resolve(parameters[0].annotation, namespace) is Context)
        if takes_context:
            parameters = parameters[1:]
        input_slots, parameter_slots = [], []
        for parameter in parameters:
            annotation = _resolve(parameter.annotation, namespace)
            slot = _slot_from_annotation(parameter.name, annotation, parameter.default)
            (input_slots if slot.is_data else parameter_slots).append(slot)
        declared = outputs
        if declared is None:
            declared = _resolve(signature.return_annotation, namespace)
            if declared is inspect.Signature.empty or declared is None:
                declared = {}
        if not isinstance(declared, dict):
            raise TypeError("outputs must be declared as a map from name to type")
        output_slots = [
            _slot_from_annotation(out_name, annotation,
                                  None if _unwrap_optional(annotation)[1]
                                  else inspect.Parameter.empty)
            for out_name, annotation in declared.items()]
        doc = inspect.getdoc(function) or ""
        entry = ProcessorDescription(
            name=name or function.__name__, version=version,
            title=title or (name or function.__name__).replace("_", " ").capitalize(),
            description=description if description is not None else doc,
            category=category, contributor=contributor, inputs=input_slots,
            outputs=output_slots, parameters=parameter_slots, idempotent=idempotent)
        return Processor(function, entry, takes_context)

    return decorate


def check_arguments(description: ProcessorDescription, inputs: Dict[str, Any],
                    parameters: Dict[str, Any], *, complete: bool = True) -> Dict[str, Any]:
    """Check inputs (data values) and parameter values against a description and return them
    with the defaults filled in; raises ``invalid_argument`` naming the slot [INV-2], [INV-3].
    The server checks every call with it, and a client that has the description checks a call
    before sending it, with ``complete=False``: what is given is checked, what is missing is
    left to the server (a minimal description [CAT-6] may omit ``optional``)."""
    arguments: Dict[str, Any] = {}
    for group, slots in (("input", description.inputs),
                         ("parameter", description.parameters)):
        given = inputs if group == "input" else parameters
        known = [slot.name for slot in slots]
        for name in given:
            if name not in known:
                raise SlicerBridgeError(
                    ErrorCode.INVALID_ARGUMENT,
                    f"{description.name} has no {group} named {name!r}"
                    f"{did_you_mean(name, known)} (its {group}s: {_known_list(known)})",
                    {"name": name})
        for slot in slots:
            if slot.name in given:
                value = given[slot.name]
                if group == "input":
                    if getattr(value, "type", None) != slot.type:
                        raise SlicerBridgeError(
                            ErrorCode.INVALID_ARGUMENT,
                            f"input {slot.name} must be {slot.type}, not "
                            f"{_type_name(value)}", {"name": slot.name})
                    if slot.image_kind is not None and value.kind != slot.image_kind:  # [CAT-9]
                        raise SlicerBridgeError(
                            ErrorCode.INVALID_ARGUMENT,
                            f"input {slot.name} must be a {slot.image_kind} image, not a "
                            f"{value.kind} image", {"name": slot.name})
                    arguments[slot.name] = value
                else:
                    arguments[slot.name] = slot.check_value(value)
            elif slot.default is not None:
                # A copy, so that a processor changing a vector default changes no other call.
                default = slot.default
                arguments[slot.name] = list(default) if isinstance(default, list) else default
            elif slot.optional or not complete:
                arguments[slot.name] = None
            else:
                raise SlicerBridgeError(ErrorCode.INVALID_ARGUMENT,
                                        f"{description.name} needs the {group} {slot.name}",
                                        {"name": slot.name})
    return arguments
