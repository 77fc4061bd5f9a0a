"""What 3D Slicer does with a CLI module, reproduced for tests (stdlib only).

3D Slicer cannot run here, so the tests of the CLI-module proxy and of the CLI XML generator
check their output against these functions, each written from Slicer's own sources (the file
and function are named in every docstring).  Sources read: Slicer/Slicer @ 583e9b37
(2026-08-21) and Slicer/SlicerExecutionModel @ 6e167626 (2026-03-21).  Abbreviations:

* SEM parser: SlicerExecutionModel ``ModuleDescriptionParser/ModuleDescriptionParser.cxx``
* CLI logic: Slicer ``Base/Logic/vtkSlicerCLIModuleLogic.cxx`` (formerly ``Base/QTCLI``)
* UI helper: Slicer ``Base/QTCLI/qSlicerCLIModuleUIHelper.cxx``

Nothing here is Slicer code: it is a behavioural model, including Slicer's quirks (a 32-bit
``QString::toInt`` for integer bounds, ``%g`` formatting of doubles, a return-parameter file
reader that throws on blank lines, a ``pointfile`` type check that rejects "closedcurve").
"""

from __future__ import annotations

import dataclasses
import os
import random
import re
import struct
import subprocess
import sys
from typing import Dict, List, Optional, Sequence, Tuple
from xml.parsers import expat

__all__ = [
    "SemParseError", "SlicerRunError", "ReturnParameterFileError",
    "Module", "ParameterGroup", "Parameter", "CommandLine", "WidgetConstraints",
    "parse_module", "slicer_command_line", "form_widget_constraints", "form_value_text",
    "is_return_parameter", "has_return_parameters", "temporary_file_name", "decode_argv",
    "ProgressParser", "remove_progress_info", "read_return_parameters",
    "write_return_parameters",
    "is_cli_executable", "module_name_for", "module_xml_for", "load_module_xml",
    "discover_cli_modules", "generator_problems", "qt_to_int", "qt_to_float", "qt_to_double",
    "cpp_double_text",
]


# --------------------------------------------------------------------------------------------
# Errors and the parsed description
# --------------------------------------------------------------------------------------------

class SemParseError(ValueError):
    """ModuleDescriptionParser::Parse returned non-zero, or Slicer would not load the module.

    ``partial`` is the description as far as SEM got (Parse copies it out even on error; see
    ModuleDescriptionParser.cxx: Parse).  ``hidden`` says whether Slicer hides the module: only
    a description with an empty title is refused (qSlicerModuleFactoryManager.cxx: loadModule);
    otherwise qSlicerCLIModule::setXmlModuleDescription only warns and the module is shown with
    what was parsed (offending parameters dropped).
    """

    def __init__(self, message: str, line: Optional[int] = None,
                 partial: Optional["Module"] = None):
        super().__init__(message if line is None else "%s at line %d" % (message, line))
        self.line = line
        self.partial = partial
        self.hidden = partial is None or partial.title == ""


class SlicerRunError(RuntimeError):
    """vtkSlicerCLIModuleLogic.cxx, ApplyTask: gave up before starting the process (the text is
    the ErrorText it sets)."""


class ReturnParameterFileError(ValueError):
    """ModuleDescription::ReadParameterFile would throw (std::out_of_range on a blank line)."""


@dataclasses.dataclass
class Parameter:
    """One parameter as SEM's ModuleParameter holds it (ModuleParameter.h/.cxx)."""

    tag: str = ""
    name: str = ""
    description: str = ""
    label: str = ""
    cpp_type: str = ""
    type: str = ""
    reference: str = ""
    forward_references: Dict[str, List[str]] = dataclasses.field(default_factory=dict)
    hidden: str = "false"
    arg_type: str = ""
    default: str = ""  # ModuleParameter::Value (GetDefault == GetValue)
    flag: str = ""
    flag_aliases: List[str] = dataclasses.field(default_factory=list)
    deprecated_flag_aliases: List[str] = dataclasses.field(default_factory=list)
    longflag: str = ""
    longflag_aliases: List[str] = dataclasses.field(default_factory=list)
    deprecated_longflag_aliases: List[str] = dataclasses.field(default_factory=list)
    constraints: str = ""  # "constraints" once a <constraints> element was seen
    minimum: str = ""
    maximum: str = ""
    step: str = ""
    channel: str = ""
    index: str = ""
    multiple: str = "false"
    aggregate: str = "false"
    file_extensions_as_string: str = ""
    file_extensions: List[str] = dataclasses.field(default_factory=list)
    coordinate_system: str = ""
    elements: List[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ParameterGroup:
    """A <parameters> group (ModuleParameterGroup.h); ``advanced`` is the attribute text."""

    label: str = ""
    description: str = ""
    advanced: str = "false"
    parameters: List[Parameter] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Module:
    """A module description (ModuleDescription.h) as SEM fills it."""

    category: str = ""
    title: str = ""
    description: str = ""
    version: str = ""
    documentation_url: str = ""
    license: str = ""
    contributor: str = ""
    acknowledgements: str = ""
    location: str = ""
    index: str = ""
    groups: List[ParameterGroup] = dataclasses.field(default_factory=list)

    @property
    def parameters(self) -> List[Parameter]:
        """All parameters in XML order (ApplyTask iterates groups, then parameters)."""
        return [p for g in self.groups for p in g.parameters]

    def parameter(self, name: str) -> Parameter:
        """First parameter with this name (ModuleDescription::HasParameter/GetParameterValue)."""
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)

    def has_parameter(self, name: str) -> bool:
        """ModuleDescription.cxx, ModuleDescription::HasParameter (by name)."""
        return any(p.name == name for p in self.parameters)


# --------------------------------------------------------------------------------------------
# SEM's string helpers
# --------------------------------------------------------------------------------------------

_TRIM = " \t\n"
_VALID_FIRST = set("_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_VALID_REST = _VALID_FIRST | set("0123456789")


def _trim(s: str, chars: str = _TRIM) -> str:
    """trimLeadingAndTrailing (ModuleDescriptionUtilities.cxx): only " \\t\\n" by default."""
    return s.strip(chars)


def _valid_variable(s: str) -> bool:
    """validVariable (ModuleDescriptionParser.cxx): [A-Za-z_][A-Za-z0-9_]*."""
    return bool(s) and s[0] in _VALID_FIRST and all(c in _VALID_REST for c in s)


def _split_string(text: str, separators: str = ",") -> List[str]:
    """splitString (ModuleParameter.cxx): split on separators, drop empty pieces, no trim."""
    return [w for w in re.split("[" + re.escape(separators) + "]", text) if w != ""]


# --------------------------------------------------------------------------------------------
# The parser
# --------------------------------------------------------------------------------------------

_SCALAR_WITH_HIDDEN_AND_MULTIPLE = {
    "integer": ("int", "std::vector<int>", "int"),
    "float": ("float", "std::vector<float>", "float"),
    "double": ("double", "std::vector<double>", "double"),
    "string": ("std::string", "std::vector<std::string>", "std::string"),
}
_VECTOR_TAGS = {
    "integer-vector": ("std::vector<int>", "int"),
    "float-vector": ("std::vector<float>", "float"),
    "double-vector": ("std::vector<double>", "double"),
    "string-vector": ("std::vector<std::string>", "std::string"),
}
_ENUM_TAGS = {
    "string-enumeration": "std::string", "integer-enumeration": "int",
    "float-enumeration": "float", "double-enumeration": "double",
}
PARAMETER_TAGS = (
    "integer", "float", "double", "string", "boolean", "file", "directory", "transform",
    "image", "geometry", "table", "measurement", "integer-vector", "float-vector",
    "string-vector", "double-vector", "point", "pointfile", "region", "string-enumeration",
    "integer-enumeration", "float-enumeration", "double-enumeration",
)
#: Tags whose value is a MRML node passed as a file (CLI logic: ApplyTask first pass).
NODE_FILE_TAGS = ("image", "geometry", "transform", "table", "measurement", "pointfile")
#: Valid `type` values of <image> (SEM parser: startElement, "image").
IMAGE_TYPES = ("any", "scalar", "label", "tensor", "diffusion-weighted", "vector", "signal",
               "multichannel", "dynamic-contrast-enhanced")
GEOMETRY_TYPES = ("fiberbundle", "model")
TRANSFORM_TYPES = ("linear", "nonlinear", "bspline")
COORDINATE_SYSTEMS = ("ijk", "lps", "ras")


class _State:
    """ParserState (ModuleDescriptionParser.cxx)."""

    def __init__(self, parser):
        self.parser = parser
        self.last_data: Dict[int, str] = {}
        self.description = Module()
        self.group: Optional[ParameterGroup] = None
        self.parameter: Optional[Parameter] = None
        self.open_tags: List[str] = []
        self.error = False
        self.error_description = ""
        self.error_line = -1
        self.depth = -1

    def fail(self, message: str) -> None:
        """Record an error as every parser branch does: the first one is kept."""
        # Only the first error is kept (every branch of the parser checks ErrorDescription).
        if not self.error_description:
            self.error_description = message
            self.error_line = self.parser.CurrentLineNumber
            self.error = True

    def top(self) -> str:
        """ps->OpenTags.top()."""
        return self.open_tags[-1] if self.open_tags else ""


def _start_element(ps: _State, name: str, attr_list: List[str]) -> None:
    """startElement (ModuleDescriptionParser.cxx), branch for branch."""
    parameter = ps.parameter
    group = ps.group
    ps.depth += 1
    if ps.depth >= 10:
        # LastData is a std::vector of 10 strings indexed by depth: deeper is undefined
        # behaviour in SEM, so a generator must never go there.
        ps.fail("ModuleDescriptionParser (model): nesting depth %d overflows SEM's 10-entry "
                "LastData buffer (undefined behaviour in Slicer)" % ps.depth)
    ps.last_data[ps.depth] = ""
    # XML_GetSpecifiedAttributeCount counts names and values; pairs are (attrs[2i], attrs[2i+1])
    pairs = list(zip(attr_list[0::2], attr_list[1::2]))
    attr_count = len(attr_list)

    def not_in_parameters() -> bool:
        if not group or ps.top() != "parameters":
            ps.fail("ModuleDescriptionParser Error: <%s> can only be used inside <parameters> "
                    "but was found inside <%s>" % (name, ps.top()))
            return True
        return False

    def bad(message: str) -> None:
        ps.fail(message)
        ps.open_tags.append(name)

    if ps.depth == 0 and name != "executable":
        ps.fail("ModuleDescriptionParser Error: <executable> must be the outer most tag. <%s> "
                "was found instead." % name)
        ps.parameter = None
        ps.group = None
        ps.open_tags.append(name)
        return
    if ps.depth != 0 and name == "executable":
        ps.fail("ModuleDescriptionParser Error: <executable> was found inside another tag "
                "<%s>." % ps.top())
        ps.parameter = None
        ps.group = None
        ps.open_tags.append(name)
        return

    if name == "parameters":
        if ps.top() != "executable":
            ps.fail("ModuleDescriptionParser Error: <parameters> can only be inside <executable> "
                    "but was found inside <%s>" % ps.top())
            ps.parameter = None
            ps.group = None
            ps.open_tags.append(name)
            return
        group = ParameterGroup()
        # advanced is honoured only when it is the one and only attribute
        if attr_count == 2 and attr_list[0] == "advanced":
            group.advanced = attr_list[1]
    elif name in _SCALAR_WITH_HIDDEN_AND_MULTIPLE:
        if not_in_parameters():
            ps.open_tags.append(name)
            return
        cpp, cpp_multiple, arg = _SCALAR_WITH_HIDDEN_AND_MULTIPLE[name]
        parameter = Parameter(tag=name, cpp_type=cpp)
        for key, value in pairs:
            if key == "hidden" and not _process_hidden(value, parameter, ps):
                ps.open_tags.append(name)
                return
            if key == "multiple" and value == "true":
                parameter.multiple = value
                parameter.cpp_type = cpp_multiple
                parameter.arg_type = arg
    elif name == "boolean" or name in _ENUM_TAGS:
        if not_in_parameters():
            ps.open_tags.append(name)
            return
        parameter = Parameter(tag=name, cpp_type="bool" if name == "boolean" else _ENUM_TAGS[name])
        for key, value in pairs:
            if key == "hidden" and not _process_hidden(value, parameter, ps):
                ps.open_tags.append(name)
                return
    elif name in _VECTOR_TAGS:
        if not_in_parameters():
            ps.open_tags.append(name)
            return
        cpp, arg = _VECTOR_TAGS[name]
        parameter = Parameter(tag=name, cpp_type=cpp, arg_type=arg)  # attributes ignored
    elif name in ("point", "region"):
        if not_in_parameters():
            ps.open_tags.append(name)
            return
        parameter = Parameter()
        for key, value in pairs:
            if key == "multiple":
                if value not in ("true", "false"):
                    return bad(_multiple_error(value))
                parameter.multiple = value
                parameter.cpp_type = "std::vector<std::vector<float> >"
                parameter.arg_type = "float"
            elif key == "coordinateSystem":
                if value not in COORDINATE_SYSTEMS:
                    return bad(_coordinate_error(value))
                parameter.coordinate_system = value
            else:
                return bad("ModuleDescriptionParser Error: %s is not a valid attribute for the "
                           "tag%s" % (key, name))
        if parameter.multiple != "true":
            parameter.cpp_type = "std::vector<float>"
            parameter.arg_type = "float"
        parameter.tag = name
    elif name == "pointfile":
        if not_in_parameters():
            ps.open_tags.append(name)
            return
        parameter = Parameter(cpp_type="std::string", type="point")
        for key, value in pairs:
            if key == "multiple":
                if value not in ("true", "false"):
                    return bad(_multiple_error(value))
                parameter.multiple = value
                if value == "true":
                    parameter.cpp_type = "std::vector<std::string>"
                    parameter.arg_type = "std::string"
            elif key == "type":
                # SEM compares "closedcurve" without "== 0": every value passes except
                # "closedcurve" itself.
                if value in ("any", "point", "line", "angle", "curve") or value != "closedcurve":
                    parameter.type = value
                else:
                    return bad('ModuleDescriptionParser Error: "%s" is not a valid value for the '
                               'attribute "type". Only "point", "line" , "angle", "curve", '
                               '"closedcurve", and "any" are accepted.' % value)
            elif key == "fileExtensions":
                _set_file_extensions(parameter, value)
            elif key == "coordinateSystem":
                if value not in COORDINATE_SYSTEMS:
                    return bad(_coordinate_error(value))
                parameter.coordinate_system = value
            else:
                return bad(_attribute_error(key, name, '"multiple" and "fileExtensions"'))
        parameter.tag = name
    elif name == "file":
        if not_in_parameters():
            return  # SEM forgets to push the tag here; the error is already recorded
        parameter = Parameter(cpp_type="std::string", type="scalar")
        for key, value in pairs:
            if key == "multiple":
                if value not in ("true", "false"):
                    return bad(_multiple_error(value))
                parameter.multiple = value
                if value == "true":
                    parameter.cpp_type = "std::vector<std::string>"
                    parameter.arg_type = "std::string"
            elif key == "fileExtensions":
                _set_file_extensions(parameter, value)
            else:
                return bad(_attribute_error(key, name, '"multiple" and "fileExtensions"'))
        parameter.tag = name
    elif name == "directory":
        if not_in_parameters():
            ps.open_tags.append(name)
            return
        parameter = Parameter(tag=name)
        if attr_count == 2 and attr_list[0] == "multiple" and attr_list[1] == "true":
            parameter.multiple = "true"
            parameter.cpp_type = "std::vector<std::string>"
            parameter.arg_type = "std::string"
        else:
            parameter.cpp_type = "std::string"
    elif name in ("transform", "image", "geometry", "table", "measurement"):
        if not_in_parameters():
            ps.open_tags.append(name)
            return
        parameter = Parameter(cpp_type="std::string",
                              type="unknown" if name == "transform" else "scalar")
        allowed = {
            "transform": ("multiple", "type", "fileExtensions", "reference"),
            "image": ("multiple", "type", "fileExtensions", "hidden", "reference"),
            "geometry": ("multiple", "aggregate", "type", "fileExtensions", "reference"),
            "table": ("multiple", "reference", "hidden", "type", "fileExtensions"),
            "measurement": ("multiple", "reference", "hidden", "type", "fileExtensions"),
        }[name]
        for key, value in pairs:
            if key not in allowed:
                return bad(_attribute_error(key, name, ", ".join('"%s"' % a for a in allowed)))
            if key == "multiple":
                if value not in ("true", "false"):
                    return bad(_multiple_error(value))
                parameter.multiple = value
                if value == "true" and name != "geometry":
                    parameter.cpp_type = "std::vector<std::string>"
                    parameter.arg_type = "std::string"
            elif key == "aggregate":
                if value not in ("true", "false"):
                    return bad('ModuleDescriptionParser Error: "%s" is not a valid argument for '
                               'the attribute "aggregate". Only "true" and "false" are accepted.'
                               % value)
                parameter.aggregate = value
            elif key == "hidden":
                if value not in ("true", "false"):
                    return bad(_hidden_error(value))
                parameter.hidden = value
            elif key == "reference":
                parameter.reference = value
            elif key == "fileExtensions":
                _set_file_extensions(parameter, value)
            elif key == "type":
                valid = {"transform": TRANSFORM_TYPES, "image": IMAGE_TYPES,
                         "geometry": GEOMETRY_TYPES, "table": ("color",)}.get(name)
                if valid is not None and value not in valid:
                    return bad('ModuleDescriptionParser Error: "%s" is not a valid value for the '
                               'attribute "type". Only %s are accepted.'
                               % (value, ", ".join('"%s"' % v for v in valid)))
                parameter.type = value  # measurement: any type is accepted
        parameter.tag = name
        if (name == "geometry" and parameter.multiple == "true"
                and parameter.aggregate != "true"):
            parameter.cpp_type = "std::vector<std::string>"
            parameter.arg_type = "std::string"
    elif parameter is not None and name == "flag":
        for key, value in pairs:
            if key == "alias":
                parameter.flag_aliases = _split_string(value)
            elif key == "deprecatedalias":
                parameter.deprecated_flag_aliases = _split_string(value)
    elif parameter is not None and name == "longflag":
        for key, value in pairs:
            if key == "alias":
                parameter.longflag_aliases = _split_string(value)
            elif key == "deprecatedalias":
                parameter.deprecated_longflag_aliases = _split_string(value)
    elif parameter is not None and name == "reference":
        if attr_count > 0:
            role = dict(pairs).get("role", "")
            target = dict(pairs).get("parameter", "")
            parameter.forward_references.setdefault(role, []).append(target)
    ps.parameter = parameter
    ps.group = group
    ps.open_tags.append(name)


def _process_hidden(value: str, parameter: Parameter, ps: _State) -> bool:
    """ModuleDescriptionParser.cxx, ModuleDescriptionParser::processHiddenAttribute."""
    if value in ("true", "false"):
        parameter.hidden = value
        return True
    ps.fail(_hidden_error(value))
    return False


def _hidden_error(value):
    """Message of ModuleDescriptionParser.cxx, processHiddenAttribute."""
    return ('ModuleDescriptionParser Error: "%s" is not a valid argument for the attribute '
            '"hidden". Only "true" and "false" are accepted.' % value)


def _multiple_error(value):
    """Message of ModuleDescriptionParser.cxx, startElement, for a bad "multiple"."""
    return ('ModuleDescriptionParser Error: "%s" is not a valid argument for the attribute '
            '"multiple". Only "true" and "false" are accepted.' % value)


def _coordinate_error(value):
    """Message of ModuleDescriptionParser.cxx, startElement, for a bad "coordinateSystem"."""
    return ('ModuleDescriptionParser Error: "%s" is not a valid coordinate system. Only "ijk", '
            '"lps" and "ras" are accepted.' % value)


def _attribute_error(key, name, accepted):
    """Message of ModuleDescriptionParser.cxx, startElement, for an unknown attribute."""
    return ('ModuleDescriptionParser Error: "%s" is not a valid attribute for "%s". Only %s are '
            'accepted.' % (key, name, accepted))


def _set_file_extensions(parameter: Parameter, text: str) -> None:
    """ModuleParameter.cxx, ModuleParameter::SetFileExtensionsAsString: split on ',' only,
    items NOT trimmed."""
    parameter.file_extensions_as_string = text
    parameter.file_extensions = _split_string(text, ",")


def _end_element(ps: _State, name: str) -> None:
    """endElement (ModuleDescriptionParser.cxx), branch for branch."""
    parameter = ps.parameter
    group = ps.group
    text = ps.last_data.get(ps.depth, "")

    def pop_and_return():
        if ps.open_tags:
            ps.open_tags.pop()
        ps.depth -= 1

    if name == "parameters" and ps.depth == 1:
        if ps.group is not None:
            ps.description.groups.append(ps.group)
        ps.group = None
        ps.parameter = None
    elif name == "parameters" and ps.depth != 1:
        ps.group = None
        ps.parameter = None
    elif group is not None and parameter is not None and name in PARAMETER_TAGS:
        group.parameters.append(parameter)
        ps.parameter = None
    elif parameter is not None and name == "flag":
        temp = _trim(text).lstrip("-")
        if len(temp) > 1:
            ps.fail('ModuleDescriptionParser Error: <flag> can only contain one character. "%s" '
                    'has more than one character.' % temp)
            return pop_and_return()
        if parameter.index:
            ps.fail("ModuleDescriptionParser Error: <flag> cannot be specified because an index "
                    "has been specified for this parameter.\"")
            return pop_and_return()
        parameter.flag = temp
    elif parameter is not None and name == "longflag":
        temp = _trim(text).lstrip("-")
        if not _valid_variable(temp):
            ps.fail("ModuleDescriptionParser Error: <longflag> can only contain letters, numbers "
                    "and underscores and must start with a _ or letter. The offending name is "
                    "\"%s\"" % temp)
            return pop_and_return()
        if parameter.index:
            ps.fail("ModuleDescriptionParser Error: <longflag> cannot be specified because an "
                    "index has been specified for this parameter.\"")
            return pop_and_return()
        parameter.longflag = temp
        if not parameter.name:
            parameter.name = temp
    elif parameter is not None and name == "name":
        temp = _trim(text)
        if not _valid_variable(temp):
            ps.fail("ModuleDescriptionParser Error: <name> can only contain letters, numbers and "
                    "underscores and must start with an _ or letter. The offending name is "
                    "\"%s\"" % temp)
            return pop_and_return()
        parameter.name = temp
    elif (group is not None or parameter is not None) and name == "label":
        if group is not None and parameter is None:
            group.label = _trim(text)
        else:
            parameter.label = _trim(text)
    elif name == "category":
        ps.description.category = _trim(text)
    elif parameter is None and name == "index":
        ps.description.index = _trim(text)
    elif name == "title":
        ps.description.title = _trim(text)
    elif name == "version":
        ps.description.version = _trim(text)
    elif name == "documentation-url":
        ps.description.documentation_url = _trim(text)
    elif name == "license":
        ps.description.license = _trim(text)
    elif name == "acknowledgements":
        ps.description.acknowledgements = _trim(text)
    elif name == "contributor":
        ps.description.contributor = _trim(text)
    elif name == "location":
        ps.description.location = _trim(text)
    elif name == "description":
        # quotes become apostrophes and newlines a literal backslash-n BEFORE trimming
        temp = _trim(text.replace('"', "'").replace("\n", "\\n"))
        if group is None and parameter is None:
            ps.description.description = temp
        elif group is not None and parameter is None:
            group.description = temp
        else:
            parameter.description = temp
    elif parameter is not None and name == "element":
        parameter.elements.append(_trim(text))
    elif parameter is not None and name == "default":
        parameter.default = _trim(text)
    elif parameter is not None and name == "channel":
        parameter.channel = _trim(text)
    elif parameter is not None and name == "index":
        if parameter.longflag or parameter.flag:
            ps.fail("ModuleDescriptionParser Error: <index> cannot be specified because a "
                    "<longflag> and/or <flag> has been specified for this parameter.\"")
            return pop_and_return()
        parameter.index = _trim(text)
    elif parameter is not None and name == "constraints":
        parameter.constraints = name
    elif parameter is not None and name == "minimum":
        parameter.minimum = _trim(text)
    elif parameter is not None and name == "maximum":
        parameter.maximum = _trim(text)
    elif parameter is not None and name == "step":
        parameter.step = _trim(text)
    elif parameter is not None and name == "reference":
        pass  # contents handled in startElement
    elif name != "executable":
        ps.fail("ModuleDescriptionParser Error: Unrecognized element <%s> was found." % name)
    pop_and_return()


def parse_module(xml_text, *, allow_empty_title: bool = False) -> Module:
    """Parse CLI XML exactly as ModuleDescriptionParser::Parse does (SEM
    ModuleDescriptionParser.cxx: Parse, startElement, endElement, charData), using expat like
    SEM does.  ``xml_text`` is ``str`` (encoded UTF-8, as QString::toStdString does in
    qSlicerCLIModule::setXmlModuleDescription) or ``bytes`` (passed as is).

    Raises SemParseError where Parse returns non-zero: text not starting with ``<?xml ``,
    expat well-formedness errors, and every semantic error SEM records.  Also raises, with
    ``hidden=True``, when the title is empty: qSlicerModuleFactoryManager::loadModule refuses
    such a module (unless ``allow_empty_title``).
    """
    data = xml_text.encode("utf-8") if isinstance(xml_text, str) else bytes(xml_text)
    if not data.startswith(b"<?xml "):
        raise SemParseError("ModuleDescriptionParser: first line must be "
                            "<?xml version=\"1.0\" encoding=\"utf-8\"?>")
    parser = expat.ParserCreate()  # XML_ParserCreate(NULL): no namespace processing
    parser.ordered_attributes = True
    parser.specified_attributes = True
    ps = _State(parser)

    def chars(s):
        if s:
            ps.last_data[ps.depth] = ps.last_data.get(ps.depth, "") + s

    parser.StartElementHandler = lambda n, a: _start_element(ps, n, a)
    parser.EndElementHandler = lambda n: _end_element(ps, n)
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        raise SemParseError(expat.ErrorString(e.code), e.lineno, ps.description) from None
    if ps.error:
        raise SemParseError(ps.error_description, ps.error_line, ps.description)
    if not ps.description.title and not allow_empty_title:
        raise SemParseError("module has an empty <title>: qSlicerModuleFactoryManager::loadModule "
                            "refuses it (\"Failed to retrieve module title\")",
                            partial=ps.description)
    return ps.description


# --------------------------------------------------------------------------------------------
# Numbers the way Qt and C++ read and write them
# --------------------------------------------------------------------------------------------

INT_MIN, INT_MAX = -2 ** 31, 2 ** 31 - 1
FLT_MAX = struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]
DBL_MAX = sys.float_info.max
_QT_INT = re.compile(r"^[ \t\n\r\f\v]*[+-]?[0-9]+[ \t\n\r\f\v]*$")
_QT_FLOAT = re.compile(r"^[ \t\n\r\f\v]*[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
                       r"|inf|nan)[ \t\n\r\f\v]*$")


def qt_to_int(text: str) -> int:
    """QString::toInt() in the C locale: a 32-bit decimal integer, else 0 (no '.', no
    exponent, no hex, no group separator; overflow -> 0).  Used for integer defaults and
    <constraints> in qSlicerCLIModuleUIHelper.cxx: createIntegerTagWidget."""
    if not _QT_INT.match(text):
        return 0
    value = int(text.strip())
    return value if INT_MIN <= value <= INT_MAX else 0


def qt_to_double(text: str) -> float:
    """QString::toDouble() in the C locale (invalid -> 0.0; overflow -> +-inf)."""
    if not _QT_FLOAT.match(text):
        return 0.0
    return float(text.strip())


def qt_to_float(text: str) -> float:
    """QString::toFloat(): toDouble then QLocaleData::convertDoubleToFloat (Qt >= 5.15:
    beyond +-FLT_MAX -> +-inf, underflow -> 0), rounded to float32 precision."""
    d = qt_to_double(text)
    if d != d or d in (float("inf"), float("-inf")):
        return d
    if abs(d) > FLT_MAX:
        return float("inf") if d > 0 else float("-inf")
    f = struct.unpack("<f", struct.pack("<f", d))[0]
    return 0.0 if (d != 0 and f == 0) else f


def cpp_double_text(value: float) -> str:
    """``std::ostringstream << double`` with default flags: 6 significant digits, %g style
    (vtkMRMLCommandLineModuleNode.cxx: SetParameterAsDouble; vtkMRMLMarkupsNode::WriteCLI)."""
    return "%g" % float(value)


def _c_atoi(text: str) -> int:
    """C atoi (used for <index> in vtkSlicerCLIModuleLogic::ApplyTask)."""
    m = re.match(r"[ \t\n\r\f\v]*([+-]?[0-9]+)", text)
    return int(m.group(1)) if m else 0


_C_ATOF = re.compile(r"[ \t\n\r\f\v]*([+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
                     r"|inf(?:inity)?|nan))", re.IGNORECASE)


def _c_atof(text: str) -> float:
    """C atof: the longest numeric prefix after leading white space, else 0.0."""
    m = _C_ATOF.match(text)
    if not m:
        return 0.0
    s = m.group(1)
    # "1e" / "1e+" are not part of the number for strtod
    try:
        return float(s)
    except ValueError:
        return float(re.match(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)", s).group(0))


# --------------------------------------------------------------------------------------------
# The form
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass
class WidgetConstraints:
    """What the form built by qSlicerCLIModuleUIHelper.cxx (createTagWidget) lets the user do
    with one parameter."""

    widget: str                      # Qt/CTK class the UI helper creates
    minimum: Optional[float] = None  # range actually set on the widget (numbers only)
    maximum: Optional[float] = None
    step: Optional[float] = None
    decimals: Optional[int] = None
    value: object = None             # the widget's initial value from <default>
    value_text: str = ""             # what Apply writes into the parameter for that value
    read_only: bool = False
    node_types: List[str] = dataclasses.field(default_factory=list)
    show_child_node_types: bool = True
    none_enabled: Optional[bool] = None
    add_enabled: Optional[bool] = None
    choices: List[str] = dataclasses.field(default_factory=list)
    problems: List[str] = dataclasses.field(default_factory=list)

    @property
    def usable(self) -> bool:
        """True when a numeric range is non-degenerate and finite, with a positive step."""
        if self.minimum is None:
            return True
        finite = all(abs(v) != float("inf") for v in (self.minimum, self.maximum))
        return finite and self.maximum > self.minimum and (self.step or 0) > 0


_IMAGE_NODE_TYPES = {
    "scalar": "vtkMRMLScalarVolumeNode", "label": "vtkMRMLLabelMapVolumeNode",
    "vector": "vtkMRMLVectorVolumeNode", "tensor": "vtkMRMLDiffusionTensorVolumeNode",
    "diffusion-weighted": "vtkMRMLDiffusionWeightedVolumeNode",
    "signal": "vtkMRMLMultiVolumeNode", "multichannel": "vtkMRMLMultiVolumeNode",
    "dynamic-contrast-enhanced": "vtkMRMLMultiVolumeNode",
}
_POINT_NODE_TYPES = {
    "point": "vtkMRMLMarkupsFiducialNode", "line": "vtkMRMLMarkupsLineNode",
    "angle": "vtkMRMLMarkupsAngleNode", "curve": "vtkMRMLMarkupsCurveNode",
    "closedcurve": "vtkMRMLMarkupsClosedCurveNode",
}
_TRANSFORM_NODE_TYPES = {"linear": "vtkMRMLLinearTransformNode",
                         "nonlinear": "vtkMRMLGridTransformNode",
                         "bspline": "vtkMRMLBSplineTransformNode"}


def _decimals_of(text: str) -> Optional[int]:
    """Digits after the '.' (qSlicerCLIModuleUIHelper.cxx, createFloatTagWidget: indexOf('.'))."""
    i = text.find(".")
    return None if i < 0 else len(text) - i - 1


def _bound(value, lo, hi):
    """QAbstractSpinBox/QAbstractSlider clamping of a value to [min, max] (Qt)."""
    if hi < lo:  # Qt: when max < min, min is the only legal value
        hi = lo
    return min(max(value, lo), hi)


def _check_decimals(wc: WidgetConstraints) -> WidgetConstraints:
    """qSlicerCLIModuleUIHelper.cxx, createFloatTagWidget/createDoubleTagWidget: the spin box
    shows ``decimals`` digits (digits after '.' in the default and bounds, else 2)."""
    value = wc.value
    if isinstance(value, float) and value == value and abs(value) != float("inf") and \
            round(value, wc.decimals) != value:
        wc.problems.append("default %s is shown as %.*f (%d decimals: write the default and "
                           "bounds as plain decimals with enough digits)"
                           % (cpp_double_text(value), wc.decimals, value, wc.decimals))
    return wc


def form_widget_constraints(parameter: Parameter) -> WidgetConstraints:
    """The widget qSlicerCLIModuleUIHelper.cxx (createTagWidget and the createXxxTagWidget
    functions, initializeMaps, isNoneEnabled, isOutputChannel) builds for a parameter, with
    the range, step, decimals and initial value it really gets.  Hidden parameters get no widget
    (qSlicerCLIModuleWidget.cxx: addParameter): ``widget`` is then "".
    """
    p = parameter
    if p.hidden == "true":
        return WidgetConstraints(widget="", value=p.default, value_text=p.default)
    output = p.channel == "output"
    tag = p.tag
    if tag in ("integer", "boolean", "float", "double") or tag in _ENUM_TAGS:
        if output:
            return WidgetConstraints(widget="QLineEdit", value=p.default,
                                     value_text=p.default, read_only=True)
    if tag == "integer":
        problems = []
        value = qt_to_int(p.default)
        if p.default and value == 0 and not _QT_INT.match(p.default):
            problems.append("default %r is not a 32-bit integer for QString::toInt: reads as 0"
                            % p.default)
        lo, hi, step = -(2 ** 31 // 100), (2 ** 31 - 1) // 100, 1
        if not p.constraints:
            return WidgetConstraints("QSpinBox", lo, hi, step, 0, _bound(value, lo, hi),
                                     str(_bound(value, lo, hi)), problems=problems)
        for attr in ("minimum", "maximum", "step"):
            text = getattr(p, attr)
            if text and not (_QT_INT.match(text) and INT_MIN <= int(text) <= INT_MAX):
                problems.append("%s %r is not a 32-bit integer for QString::toInt: reads as 0"
                                % (attr, text))
        if p.minimum:
            lo = qt_to_int(p.minimum)
        if p.maximum:
            hi = qt_to_int(p.maximum)
        if p.step:
            step = qt_to_int(p.step)
        v = float(_bound(value, lo, hi))
        wc = WidgetConstraints("ctkSliderWidget", lo, hi, step, 0, v, cpp_double_text(v),
                               problems=problems)
        if not wc.usable:
            wc.problems.append("unusable range [%s, %s] step %s" % (lo, hi, step))
        return wc
    if tag == "boolean":
        checked = p.default == "true"
        return WidgetConstraints("QCheckBox", value=checked,
                                 value_text="true" if checked else "false")
    if tag in ("float", "double"):
        problems = []
        to_number = qt_to_float if tag == "float" else qt_to_double
        big = (FLT_MAX if tag == "float" else DBL_MAX) / 100
        lo, hi, step = -big, big, 0.1
        value = to_number(p.default)
        decimals = _decimals_of(p.default)
        decimals = 2 if decimals is None else decimals
        if not p.constraints:
            v = _bound(value, lo, hi)
            return _check_decimals(WidgetConstraints("ctkDoubleSpinBox", lo, hi, step, decimals,
                                                     v, cpp_double_text(v), problems=problems))
        for attr in ("minimum", "maximum", "step"):
            text = getattr(p, attr)
            if not text:
                continue
            number = qt_to_float(text)  # bounds use toFloat even for <double>
            if not _QT_FLOAT.match(text):
                problems.append("%s %r is not a number for QString::toFloat: reads as 0"
                                % (attr, text))
            elif abs(number) == float("inf"):
                problems.append("%s %r is beyond float range: reads as %s" % (attr, text, number))
            d = _decimals_of(text)
            if d is not None:
                decimals = max(decimals, d)
            if attr == "minimum":
                lo = number
            elif attr == "maximum":
                hi = number
            else:
                step = number
        v = _bound(value, lo, hi)
        wc = WidgetConstraints("ctkSliderWidget", lo, hi, step, decimals, v,
                               cpp_double_text(v), problems=problems)
        if not wc.usable:
            wc.problems.append("unusable range [%s, %s] step %s" % (lo, hi, step))
        return _check_decimals(wc)
    if tag in _ENUM_TAGS:
        checked = p.default if p.default in p.elements else ""
        problems = [] if checked else [
            "default %r is not one of the elements: no choice is checked and Slicer passes an "
            "empty value" % p.default]
        return WidgetConstraints("ButtonGroupWidgetWrapper", value=checked, value_text=checked,
                                 choices=list(p.elements), problems=problems)
    if tag in ("string",) or tag in _VECTOR_TAGS:
        return WidgetConstraints("QLineEdit", value=p.default, value_text=p.default,
                                 read_only=output)
    if tag == "directory":
        return WidgetConstraints("ctkDirectoryButton", value=p.default, value_text=p.default)
    if tag == "file":
        return WidgetConstraints("ctkPathLineEdit", value=p.default, value_text=p.default,
                                 choices=["*" + e for e in p.file_extensions])
    # node selectors (qMRMLNodeComboBox)
    none_enabled = not p.index
    wc = WidgetConstraints("qMRMLNodeComboBox", value=p.default, value_text=p.default,
                           none_enabled=none_enabled)
    if tag in ("image", "geometry", "table", "measurement", "transform") and \
            p.channel not in ("input", "output"):
        return WidgetConstraints("", problems=["unknown channel %r: no widget" % p.channel])
    wc.add_enabled = p.channel != "input" if tag in (
        "image", "geometry", "table", "measurement", "transform") else True
    if tag == "image":
        if p.type == "any":
            wc.node_types = ["vtkMRMLScalarVolumeNode", "vtkMRMLLabelMapVolumeNode",
                             "vtkMRMLSegmentationNode", "vtkMRMLVectorVolumeNode",
                             "vtkMRMLDiffusionTensorVolumeNode",
                             "vtkMRMLDiffusionWeightedVolumeNode"]
        elif p.type == "scalar":
            wc.node_types = ["vtkMRMLScalarVolumeNode", "vtkMRMLLabelMapVolumeNode"]
        else:
            node = _IMAGE_NODE_TYPES.get(p.type, "vtkMRMLScalarVolumeNode")
            if node == "vtkMRMLMultiVolumeNode":
                wc.node_types = [node, "vtkMRMLSequenceNode"]
            elif node == "vtkMRMLLabelMapVolumeNode":
                wc.node_types = [node, "vtkMRMLSegmentationNode"]
            else:
                wc.node_types = [node]
        wc.show_child_node_types = not (p.type and p.type != "any")
    elif tag == "geometry":
        node = {"fiberbundle": "vtkMRMLFiberBundleNode"}.get(p.type, "vtkMRMLModelNode")
        if p.multiple == "true" and p.aggregate == "true":
            node = "vtkMRMLModelHierarchyNode"
        wc.node_types = [node]
    elif tag == "table":
        wc.node_types = ["vtkMRMLColorNode" if p.type == "color" else "vtkMRMLTableNode"]
    elif tag == "measurement":
        wc.node_types = ["vtkMRMLTableNode"]
    elif tag == "transform":
        node = _TRANSFORM_NODE_TYPES.get(p.type, "vtkMRMLTransformNode")
        if node == "vtkMRMLTransformNode" and wc.add_enabled:
            wc.node_types = ["vtkMRMLTransformNode", "vtkMRMLLinearTransformNode",
                             "vtkMRMLGridTransformNode", "vtkMRMLBSplineTransformNode"]
        else:
            wc.node_types = [node]
    elif tag == "pointfile":
        if p.type == "any":
            wc.node_types = ["vtkMRMLMarkupsFiducialNode", "vtkMRMLMarkupsLineNode",
                             "vtkMRMLMarkupsCurveNode", "vtkMRMLMarkupsClosedCurveNode",
                             "vtkMRMLMarkupsAngleNode"]
        else:
            wc.node_types = [_POINT_NODE_TYPES.get(p.type, "vtkMRMLMarkupsFiducialNode")]
        wc.show_child_node_types = not (p.type and p.type != "any")
    elif tag == "point":
        wc.node_types = ["vtkMRMLMarkupsFiducialNode"]
    elif tag == "region":
        wc.node_types = ["vtkMRMLMarkupsROINode", "vtkMRMLROIListNode"]
    return wc


def form_value_text(parameter: Parameter, value, *, source: str = "gui") -> str:
    """The text a parameter holds after the user sets ``value``.

    source="gui": the widget's value pushed by qSlicerCLIModuleUIHelper::
    updateMRMLCommandLineModuleNode / setCommandLineModuleParameter (QSpinBox int ->
    SetParameterAsInt; sliders and double spin boxes -> SetParameterAsDouble = %g with 6
    significant digits; check box -> "true"/"false"; radio buttons -> element text, an unknown
    value leaves the default checked).  Numbers are bounded to the widget's range.
    source="python": slicer.cli.setNodeParameters (Base/Python/slicer/cli.py): str verbatim,
    bool -> "true"/"false", int -> SetParameterAsInt, float -> SetParameterAsDouble, list or
    tuple -> ``str(value)[1:-1]`` ("1, 2, 3").
    """
    p = parameter
    if source == "python":
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            if not INT_MIN <= value <= INT_MAX:
                raise OverflowError("SetParameterAsInt takes a C int")
            return str(value)
        if isinstance(value, float):
            return cpp_double_text(value)
        if isinstance(value, (list, tuple)):
            return str(value)[1:-1]
        raise TypeError("slicer.cli.setNodeParameters: unsupported type %s"
                        % type(value).__name__)
    if source != "gui":
        raise ValueError("source must be 'gui' or 'python'")
    wc = form_widget_constraints(p)
    if wc.widget in ("QSpinBox", "ctkSliderWidget", "ctkDoubleSpinBox"):
        if isinstance(value, str):
            number = (qt_to_int(value) if wc.widget == "QSpinBox" else qt_to_double(value))
        else:
            number = value
        number = _bound(number, wc.minimum, wc.maximum)
        if wc.widget == "QSpinBox":
            return str(int(number))
        return cpp_double_text(number)
    if wc.widget == "QCheckBox":
        if isinstance(value, str):
            value = value == "true"
        return "true" if value else "false"
    if wc.widget == "ButtonGroupWidgetWrapper":
        value = str(value)
        return value if value in p.elements else wc.value_text
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------

def is_return_parameter(parameter: Parameter) -> bool:
    """ModuleParameter::IsReturnParameter (ModuleParameter.h): channel "output" with no flag,
    no long flag and no index — whatever the tag."""
    return (parameter.channel == "output" and not parameter.flag and not parameter.longflag
            and not parameter.index)


def has_return_parameters(module: Module) -> bool:
    """ModuleDescription::HasReturnParameters (ModuleDescription.cxx)."""
    return any(is_return_parameter(p) for p in module.parameters)


def _letters(text: str) -> str:
    """DigitsToCharacters (vtkSlicerCLIModuleLogic.cxx): 0-9 -> A-J."""
    return "".join(chr(ord(c) + 17) if "0" <= c <= "9" else c for c in text)


def temporary_file_name(parameter: Parameter, node_id: str, temp_dir: str,
                        pid: Optional[int] = None) -> str:
    """vtkSlicerCLIModuleLogic::ConstructTemporaryFileName for a command-line (executable)
    module: ``<temp>/<pid, digits as A-J>_<node ID, digits as A-J><ext>``; ext is the first
    fileExtensions item verbatim, else .nrrd (image), .vtp (geometry), .h5 (transform),
    .tsv (table; .ctbl for type color), .csv (measurement), .fcsv (pointfile of type "" or
    "point"; .json otherwise)."""
    pid = os.getpid() if pid is None else pid
    base = temp_dir + "/" + _letters(str(pid)) + "_" + _letters(node_id)
    default = {
        "image": ".nrrd", "geometry": ".vtp", "transform": ".h5",
        "table": ".ctbl" if parameter.type == "color" else ".tsv", "measurement": ".csv",
        "pointfile": ".fcsv" if parameter.type in ("", "point") else ".json",
    }.get(parameter.tag)
    if default is None:
        return base
    return base + (parameter.file_extensions[0] if parameter.file_extensions else default)


@dataclasses.dataclass
class CommandLine:
    """What vtkSlicerCLIModuleLogic.cxx, ApplyTask runs, and the files around it."""

    argv: List[str]
    #: parameter name -> file Slicer writes before starting the process (input nodes)
    inputs: Dict[str, str]
    #: parameter name -> file Slicer reads back after a successful run (output nodes)
    outputs: Dict[str, str]
    #: path passed with --returnparameterfile, or None
    return_parameter_file: Optional[str]
    #: parameter name -> "LPS"/"RAS": coordinate system of a pointfile Slicer writes/reads
    coordinate_systems: Dict[str, str]
    #: parameter name -> the text the parameter held (after form/defaults)
    values: Dict[str, str]


def _parameter_values(module: Module, values: Dict[str, object], source: str) -> Dict[str, str]:
    """The text every parameter holds when ApplyTask reads it: qSlicerCLIModuleWidget.cxx,
    apply -> qSlicerCLIModuleUIHelper::updateMRMLCommandLineModuleNode (GUI), or
    Base/Python/slicer/cli.py, setNodeParameters on a node holding the XML defaults."""
    result = {}
    for p in module.parameters:
        if p.tag in NODE_FILE_TAGS + ("point", "region"):
            # a node selector's value is a node ID; a <default> text names no node in the scene
            # (ApplyTask: GetNodeByID(id) fails and the parameter is skipped)
            text = ""
        elif source == "gui" and p.hidden != "true":
            text = form_widget_constraints(p).value_text  # apply() pushes every widget
        else:
            text = p.default
        if p.name in values:
            v = values[p.name]
            if p.tag in NODE_FILE_TAGS + ("point", "region"):
                text = v  # node IDs, or control points for <point>
            else:
                text = form_value_text(p, v, source=source)
        result.setdefault(p.name, text)
    unknown = set(values) - {p.name for p in module.parameters}
    if unknown:
        raise KeyError("no parameter named %s" % ", ".join(sorted(unknown)))
    return result


def slicer_command_line(module: Module, executable: str, values: Optional[Dict[str, object]],
                        temp_dir: str, *, source: str = "gui", pid: Optional[int] = None,
                        return_code: Optional[str] = None,
                        location: Optional[str] = None) -> CommandLine:
    """The argv vtkSlicerCLIModuleLogic::ApplyTask builds for an executable CLI module
    (CommandLineModule), and the temporary files it writes and reads.

    ``values``: parameter name -> what the user chose.  Scalars: a Python value or text,
    converted as ``form_value_text(source=...)`` does; parameters not given keep the form's
    initial value (source="gui": qSlicerCLIModuleWidget::apply pushes every widget) or the XML
    default text (source="python").  Node parameters (image, geometry, transform, table,
    measurement, pointfile): a MRML node ID such as "vtkMRMLScalarVolumeNode1"; None, "" or
    "None" = no node.  <point>: a list of selected control points (x, y, z) in RAS.
    The result's ``inputs``/``outputs`` map parameter names to the temporary files Slicer
    writes before the run and reads after it (ConstructTemporaryFileName).  ``location``: the
    interpreter for a .py CLI (ModuleDescription Location; prepended when != executable).
    Raises SlicerRunError where ApplyTask stops before running (missing index value/node,
    point or region as an index argument).
    """
    values = dict(values or {})
    if source not in ("gui", "python"):
        raise ValueError("source must be 'gui' or 'python'")
    pid = os.getpid() if pid is None else pid
    text = _parameter_values(module, values, source)

    # First pass: which nodes are written / read back (ApplyTask, first loop)
    node_to_write: Dict[str, str] = {}
    node_to_reload: Dict[str, str] = {}
    coordinate_systems: Dict[str, str] = {}
    param_node: Dict[str, str] = {}
    for p in module.parameters:
        if p.tag not in NODE_FILE_TAGS:
            continue
        node_id = text[p.name]
        if p.hidden == "true":
            # FindHiddenNodeID: only table type="color" with a reference resolves (to the
            # referenced node's color node, which the caller passes as the value)
            if not (p.tag == "table" and p.type == "color" and p.reference
                    and p.name in values):
                node_id = "None"
        if not node_id or node_id == "None" or not isinstance(node_id, str):
            continue
        param_node[p.name] = node_id
        fname = temporary_file_name(p, node_id, temp_dir, pid)
        if fname.lower().endswith(".mrml"):
            raise NotImplementedError("transforms passed through a mini-scene (.mrml)")
        if p.channel == "input":
            node_to_write[node_id] = fname
        elif p.channel == "output":
            node_to_reload[node_id] = fname
        if p.tag == "pointfile":
            coordinate_systems[p.name] = "RAS" if p.coordinate_system == "ras" else "LPS"

    argv: List[str] = []
    if location and location != executable:
        argv.append(location)
    argv.append(executable)
    return_file = None
    if has_return_parameters(module):
        if return_code is None:
            alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
            return_code = "".join(random.choice(alphabet) for _ in range(10))
        return_file = temp_dir + "/" + str(pid) + "_" + return_code + ".params"
        argv += ["--returnparameterfile", return_file]

    def node_file(p: Parameter) -> str:
        node_id = param_node.get(p.name)
        if node_id is None:
            return ""
        if p.channel == "input":
            return node_to_write.get(node_id, "")
        if p.channel == "output":
            return node_to_reload.get(node_id, "")
        return ""

    # Flagged parameters, in XML order
    for p in module.parameters:
        if p.longflag:
            flag = "--" + p.longflag
        elif p.flag:
            flag = "-" + p.flag
        else:
            continue
        value = text[p.name]
        if p.tag == "boolean":
            if value == "true":
                argv.append(flag)
        elif p.tag in ("file", "directory", "string") or p.tag in _VECTOR_TAGS:
            if value != "":
                argv += [flag, value]
        elif p.tag in NODE_FILE_TAGS:
            fname = node_file(p)
            if fname:
                argv += [flag, fname]
        elif p.tag == "point":
            points = value if isinstance(value, (list, tuple)) else []
            lps = p.coordinate_system != "ras"  # empty -> LPS (GetCoordinateSystemFromString)
            for x, y, z in points:
                if lps:
                    x, y = -x, -y
                argv += [flag, "%s,%s,%s" % (cpp_double_text(x), cpp_double_text(y),
                                             cpp_double_text(z))]
                if p.multiple == "false":
                    break
        elif p.tag == "region":
            if value and value != "None":
                raise NotImplementedError("region values are not modelled")
        else:
            argv += [flag, value]  # written even when empty

    # Index parameters, sorted by atoi(index); a repeated index replaces the earlier one
    index_map: Dict[int, Parameter] = {}
    for p in module.parameters:
        if p.index:
            index_map[_c_atoi(p.index)] = p
    for i in sorted(index_map):
        p = index_map[i]
        value = text[p.name]
        if p.tag in ("file", "directory", "string") or p.tag in _VECTOR_TAGS:
            if value == "":
                raise SlicerRunError('No value assigned to "%s"' % p.label)
            argv.append(value)
        elif p.tag in ("point", "region"):
            raise SlicerRunError("Fiducials and ROIs are not currently supported as index "
                                 "arguments to modules.")
        elif p.tag in NODE_FILE_TAGS:
            fname = node_file(p)
            if not fname:
                raise SlicerRunError('No %s data assigned to "%s"' % (p.channel, p.label))
            argv.append(fname)
        else:
            argv.append(value)

    inputs = {n: node_to_write[i] for n, i in param_node.items()
              if module.parameter(n).channel == "input" and i in node_to_write}
    outputs = {n: node_to_reload[i] for n, i in param_node.items()
               if module.parameter(n).channel == "output" and i in node_to_reload}
    return CommandLine(argv, inputs, outputs, return_file, coordinate_systems,
                       {k: v for k, v in text.items() if isinstance(v, str)})


def decode_argv(module: Module, argv: Sequence[str]) -> Tuple[Dict[str, object], Optional[str]]:
    """Decode an argv built by vtkSlicerCLIModuleLogic.cxx, ApplyTask back into parameter
    values: what a proxy must do.  Returns ({name: value}, return parameter file or None).

    Rules that follow from ApplyTask's construction: argv[0] is the executable (argv[1] too
    when a Location interpreter precedes it: pass the argv without it); a non-boolean flag is
    ALWAYS followed by its value, even one starting with '-' ("-5", "-1,-2,3") or empty; a
    boolean flag stands alone and means "true" (absent = "false"); a <point> flag repeats once
    per control point (values collected in a list); the remaining items are the index
    parameters in ascending index order (they too may start with '-').  Flags are matched
    exactly (``--longflag`` or ``-flag``), as GenerateCLP's TCLAP parser does
    (SEM GenerateCLP/GenerateCLP.cxx), without aliases.
    """
    by_flag: Dict[str, Parameter] = {}
    for p in module.parameters:
        if p.longflag:
            by_flag["--" + p.longflag] = p
        elif p.flag:
            by_flag["-" + p.flag] = p
    values: Dict[str, object] = {}
    return_file = None
    positional: List[str] = []
    i = 1
    while i < len(argv):
        token = argv[i]
        if token == "--returnparameterfile" and i + 1 < len(argv):
            return_file = argv[i + 1]
            i += 2
            continue
        p = by_flag.get(token)
        if p is None:
            positional.append(token)
            i += 1
            continue
        if p.tag == "boolean":
            values[p.name] = "true"
            i += 1
            continue
        if i + 1 >= len(argv):
            raise ValueError("flag %s without a value" % token)
        if p.tag == "point":
            values.setdefault(p.name, []).append(argv[i + 1])
        else:
            values[p.name] = argv[i + 1]
        i += 2
    for p in module.parameters:
        if p.tag == "boolean" and (p.longflag or p.flag) and p.name not in values:
            values[p.name] = "false"
    indexed = {}
    for p in module.parameters:
        if p.index:
            indexed[_c_atoi(p.index)] = p
    ordered = [indexed[k] for k in sorted(indexed)]
    if len(positional) != len(ordered):
        raise ValueError("%d positional arguments for %d index parameters"
                         % (len(positional), len(ordered)))
    for p, value in zip(ordered, positional):
        values[p.name] = value
    return values, return_file


# --------------------------------------------------------------------------------------------
# Progress on standard output
# --------------------------------------------------------------------------------------------

_PROGRESS_TAGS = ("filter-progress", "filter-stage-progress", "filter-name", "filter-comment",
                  "filter-time", "filter-start", "filter-end")


def remove_progress_info(text: str) -> str:
    """vtkSlicerCLIModuleLogic.cxx, RemoveProgressInfoFromProcessOutput: delete every
    ``<tag>[^<]*</tag>[ \\t\\n\\r]*`` for progress, stage-progress, name, comment, time, start,
    end, in that order (so nested start/end blocks go once their children are gone)."""
    for tag in _PROGRESS_TAGS:
        text = re.sub("<%s>[^<]*</%s>[ \t\n\r]*" % (tag, tag), "", text)
    return text


class ProgressParser:
    """Reads a CLI's standard output the way ApplyTask does (vtkSlicerCLIModuleLogic.cxx: the
    itksysProcess_WaitForData loop).

    After each chunk the WHOLE output so far is searched with rfind for the last closing tag
    and the last opening tag: Progress / StageProgress = atof(text between), ProgressMessage =
    the last <filter-name> text, replaced by the last <filter-comment> text when there is one
    (strncpy to 1023 chars).  If the last opening tag comes after the last closing tag, the
    text runs to the end of the buffer (a tag split across chunks is read half-written).
    <filter-start>, <filter-end> and <filter-time> are never interpreted.

    ``feed(chunk)`` returns the (kind, value) events of that chunk — kind is "progress",
    "stage-progress" or "message" — only when the interpreted value changes.
    """

    def __init__(self):
        self.buffer = ""
        self.progress = 0.0
        self.stage_progress = 0.0
        self.message = ""

    @staticmethod
    def _between(buf: str, tag: str) -> Optional[str]:
        """The rfind pair and std::string(buffer, start, end - start) of ApplyTask."""
        close = buf.rfind("</%s>" % tag)
        if close < 0:
            return None
        opening = "<%s>" % tag
        start = buf.rfind(opening)
        if start < 0:
            return None
        begin = start + len(opening)
        return buf[begin:close] if close >= begin else buf[begin:]

    def feed(self, chunk) -> List[Tuple[str, object]]:
        """One itksysProcess_Pipe_STDOUT chunk of ApplyTask's wait loop."""
        if isinstance(chunk, (bytes, bytearray)):
            chunk = bytes(chunk).decode("utf-8", errors="surrogateescape")
        self.buffer += chunk
        events = []
        found = {}
        for kind, tag in (("progress", "filter-progress"),
                          ("stage-progress", "filter-stage-progress")):
            text = self._between(self.buffer, tag)
            if text is not None:
                found[kind] = _c_atof(text)
        message = None
        for tag in ("filter-name", "filter-comment"):
            text = self._between(self.buffer, tag)
            if text is not None:
                message = text[:1023]
        if "progress" in found and found["progress"] != self.progress:
            self.progress = found["progress"]
            events.append(("progress", self.progress))
        if "stage-progress" in found and found["stage-progress"] != self.stage_progress:
            self.stage_progress = found["stage-progress"]
            events.append(("stage-progress", self.stage_progress))
        if message is not None and message != self.message:
            self.message = message
            events.append(("message", message))
        return events

    def output_text(self) -> str:
        """The OutputText Slicer shows: the output with progress tags removed."""
        return remove_progress_info(self.buffer)

    @property
    def percent(self) -> Optional[int]:
        """qSlicerCLIProgressBar: Progress*100, or None (busy indicator) while Progress is 0."""
        return None if self.progress == 0 else int(self.progress * 100.0)


# --------------------------------------------------------------------------------------------
# Return parameters
# --------------------------------------------------------------------------------------------

def read_return_parameters(path: str, module: Optional[Module] = None) -> Dict[str, str]:
    """ModuleDescription::ReadParameterFile (SEM ModuleDescription.cxx), as called after a
    successful run (vtkSlicerApplicationLogicRequests.h, ProcessReadNodeData).

    Each std::getline line: key = text before the first '=', value = text after it with
    leading " \\t" skipped; both trimmed of " \\t\\n" ('\\r' is kept).  A line without '='
    gives the whole line as key and value.  With ``module``, keys that are not parameter names
    are dropped (HasParameter).  An empty or blank line makes ``line.substr(npos)`` throw
    std::out_of_range in Slicer: ReturnParameterFileError.
    """
    with open(path, "rb") as f:
        data = f.read().decode("utf-8", errors="surrogateescape")
    lines = data.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # getline does not return an empty line after a final newline
    result: Dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        start = len(line) - len(line.lstrip(" \t"))
        if start == len(line):
            raise ReturnParameterFileError(
                "line %d is empty or blank: Slicer's ReadParameterFile throws "
                "std::out_of_range" % number)
        stop = line.find("=", start)
        if stop < 0:
            # stop == npos: key runs to the end, and find_first_not_of(" \t", npos + 1 == 0)
            # restarts at the same place, so the value is the whole line too
            key = value = line[start:]
        else:
            key = line[start:stop]
            value = line[stop + 1:].lstrip(" \t")
        key, value = _trim(key), _trim(value)
        if module is None or module.has_parameter(key):
            result[key] = value
    return result


def write_return_parameters(path: str, values: Dict[str, object]) -> None:
    """Write a return-parameter file Slicer reads safely: ``name = value`` lines ending in
    '\\n', no blank lines (the format of SEM ModuleDescription.cxx,
    ModuleDescription::WriteParameterFile; read by ReadParameterFile)."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for name, value in values.items():
            text = str(value)
            if "\n" in text or "\r" in text:
                raise ValueError("a return value must fit on one line")
            f.write("%s = %s\n" % (name, text))


# --------------------------------------------------------------------------------------------
# Discovery
# --------------------------------------------------------------------------------------------

def _platform_kind(platform: Optional[str]) -> str:
    """The `#ifdef _WIN32` of qSlicerUtils.cxx, isCLIExecutable."""
    platform = sys.platform if platform is None else platform
    return "windows" if platform.startswith("win") else "posix"


def is_cli_executable(path: str, platform: Optional[str] = None) -> bool:
    """qSlicerCLIExecutableModuleFactory::isValidFile + qSlicerUtils::isCLIExecutable /
    isCLIScriptedExecutable: a regular file (symlinks followed) that is executable or ends with
    .py; then a .py whose first line starts with "#!", or on Windows a name ending in .exe or
    .bat, or on Linux/macOS a file NAME without any '.'."""
    if not os.path.isfile(path):
        return False
    name = os.path.basename(path)
    is_py = name.lower().endswith(".py")
    if not os.access(path, os.X_OK) and not is_py:
        return False
    if is_py:
        try:
            with open(path, "rb") as f:
                first = f.readline()
            if first.startswith(b"\xef\xbb\xbf"):
                first = first[3:]  # QTextStream drops the BOM
            if first.startswith(b"#!"):
                return True
        except OSError:
            pass
    if _platform_kind(platform) == "windows":
        return name.lower().endswith((".exe", ".bat"))
    return "." not in name


def _base_name(path: str) -> str:
    """QFileInfo::baseName (Qt), as used by qSlicerCLIExecutableModuleFactory.cxx and
    qSlicerUtils.cxx: the file name up to its FIRST '.'."""
    return os.path.basename(path).split(".", 1)[0]


def module_name_for(path: str) -> str:
    """qSlicerUtils.cxx, qSlicerUtils::extractModuleNameFromLibraryName (the module key of a
    CLI executable): baseName minus a leading "lib", a leading "qSlicer", the LAST "Module"
    anywhere, and a trailing "Lib"."""
    name = _base_name(path)
    if name.startswith("lib"):
        name = name[3:]
    if name.startswith("qSlicer"):
        name = name[7:]
    i = name.rfind("Module")
    if i != -1:
        name = name[:i] + name[i + 6:]
    if name.endswith("Lib"):
        name = name[:-3]
    return name


def module_xml_for(path: str) -> Optional[str]:
    """qSlicerCLIExecutableModuleFactory.cxx,
    qSlicerCLIExecutableModuleFactoryItem::xmlModuleDescriptionFilePath: the file
    ``<dir>/<baseName>.xml`` beside the executable (link path, not target), if it exists;
    Slicer then reads it instead of running ``--xml``."""
    xml = os.path.join(os.path.dirname(path), _base_name(path) + ".xml")
    return xml if os.path.exists(xml) else None


def load_module_xml(path: str, timeout: float = 5.0) -> Tuple[str, List[str]]:
    """What qSlicerCLIExecutableModuleFactory.cxx,
    qSlicerCLIExecutableModuleFactoryItem::instanciator/runCLIWithXmlArgument get as
    the description: NAME.xml beside the executable, else the stdout of ``<exe> --xml`` run
    in the executable's directory with ITK_AUTOLOAD_PATH="" and a 5 s limit; text before the
    first "<?xml" is dropped with a warning, stderr is only reported.  Returns (xml, warnings);
    raises RuntimeError where Slicer creates no module."""
    warnings: List[str] = []
    xml_path = module_xml_for(path)
    if xml_path:
        with open(xml_path, "rb") as f:
            data = f.read()
        text = data.decode("utf-8-sig")
        if not text:
            raise RuntimeError("empty XML description %s" % xml_path)
        return text, warnings
    argv = [path, "--xml"]  # started as is, .py scripts too (they need the x bit then)
    env = dict(os.environ, ITK_AUTOLOAD_PATH="")
    try:
        proc = subprocess.run(argv, cwd=os.path.dirname(os.path.abspath(path)) or ".",
                              env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError("The process timed out after %d msecs." % int(timeout * 1000))
    except OSError as e:
        raise RuntimeError("The process failed to start: %s" % e)
    if proc.returncode < 0:
        raise RuntimeError("The process crashed some time after starting successfully.")
    if proc.stderr:
        warnings.append("stderr: " + proc.stderr.decode("utf-8", "replace"))
    text = proc.stdout.decode("utf-8", "replace")
    if not text:
        raise RuntimeError("Failed to retrieve XML Description")
    if not text.startswith("<?xml"):
        i = text.find("<?xml")
        warnings.append("XML description doesn't start right away. Output before '<?xml' is "
                        "[%s]" % (text[:i] if i >= 0 else text))
        text = text[i:] if i >= 0 else ""
    return text, warnings


def discover_cli_modules(directory: str, platform: Optional[str] = None,
                         ignore_testing: bool = True) -> Dict[str, str]:
    """qSlicerAbstractModuleFactoryManager.cxx, registerModules(path)/registerModule: the files (not
    subdirectories: no recursion) of one module path that become CLI modules, name -> path.
    The first file with a given module name wins; names ending in "Test"/"Tests" are skipped
    unless developer mode or testing is on (qSlicerUtils::isTestingModuleName)."""
    found: Dict[str, str] = {}
    for entry in sorted(os.listdir(directory), key=str.lower):
        path = os.path.join(directory, entry)
        if not is_cli_executable(path, platform):
            continue
        name = module_name_for(path)
        if ignore_testing and (name.endswith("Test") or name.endswith("Tests")):
            continue
        found.setdefault(name, path)
    return found


# --------------------------------------------------------------------------------------------
# A checklist for generated XML
# --------------------------------------------------------------------------------------------

#: Flags a GenerateCLP-built CLI reserves (SEM GenerateCLP/GenerateCLP.cxx: GenerateDeclare;
#: TCLAP adds -h/--help and --version); the proxy answers --xml and --returnparameterfile.
RESERVED_FLAGS = ("xml", "echo", "returnparameterfile", "processinformationaddress",
                  "serialize", "deserialize", "help", "version", "h")


def generator_problems(module: Module) -> List[str]:
    """Things in a description that SEM accepts but that make the Slicer form or run go wrong:
    duplicate names (ModuleDescription.cxx, GetParameterValue by name), reserved flags
    (GenerateCLP.cxx, GenerateDeclare), return-parameter rules (ModuleParameter.h,
    IsReturnParameter; vtkSlicerCLIModuleLogic.cxx, ApplyTask), untrimmed fileExtensions
    (ModuleParameter.cxx), newlines in descriptions (ModuleDescriptionParser.cxx, endElement),
    and the widget problems of form_widget_constraints (qSlicerCLIModuleUIHelper.cxx)."""
    problems: List[str] = []
    names = [p.name for p in module.parameters]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append("parameter name %r is used twice (values are stored by name)" % name)
    for g in module.groups:
        if g.advanced not in ("true", "false"):
            problems.append("group %r: advanced=%r is neither 'true' nor 'false'"
                            % (g.label, g.advanced))
    if "\\n" in module.description:
        problems.append("module description contains newlines (shown as a literal \\n)")
    for g in module.groups:
        if "\\n" in g.description:
            problems.append("group %r: description contains newlines (shown as a literal \\n)"
                            % g.label)
    for p in module.parameters:
        where = "parameter %r" % p.name
        if not p.name:
            problems.append("a <%s> has no name" % p.tag)
        for f in sorted({p.longflag, p.flag, p.name} & set(RESERVED_FLAGS)):
            problems.append("%s: %r clashes with a reserved CLI flag" % (where, f))
        if p.channel == "output" and p.tag in NODE_FILE_TAGS + ("point", "region") and \
                is_return_parameter(p):
            problems.append("%s: a node output without flag or index is never passed but "
                            "still triggers --returnparameterfile" % where)
        if p.channel == "output" and p.tag not in NODE_FILE_TAGS and not is_return_parameter(p) \
                and p.tag not in ("file", "directory"):
            problems.append("%s: a scalar output with a flag or index is passed as an input "
                            "argument and never read back" % where)
        if p.tag in NODE_FILE_TAGS and p.channel not in ("input", "output"):
            problems.append("%s: channel %r: no node selector and never passed"
                            % (where, p.channel))
        if any(e != e.strip() for e in p.file_extensions):
            problems.append("%s: fileExtensions items are not trimmed: %r"
                            % (where, p.file_extensions_as_string))
        if "\\n" in p.description:
            problems.append("%s: description contains newlines (shown as a literal \\n)" % where)
        wc = form_widget_constraints(p)
        problems += ["%s: %s" % (where, text) for text in wc.problems]
        if p.tag in _ENUM_TAGS and not p.elements:
            problems.append("%s: enumeration without elements" % where)
    return problems
