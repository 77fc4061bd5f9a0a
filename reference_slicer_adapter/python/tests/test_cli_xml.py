"""Processor descriptions as Slicer Execution Model CLI XML (spec Appendix B, [CAT-4]).

The generated documents are parsed with xml.etree and checked element by element against the
rules of the Execution Model's schema (CTK's ctkCmdLineModule.xsd and Slicer's
ModuleDescriptionParser): element order, required elements, name and flag patterns, constraint
and enumeration content, attribute values.
"""

import re
import sys
import xml.etree.ElementTree as ElementTree

import pytest

from conftest import PYTHON_IMPLEMENTATION
from SlicerBridgeLib.cli_xml import (CliXmlError, catalog_to_xml, cli_module_name,
                                     default_step, description_to_xml, format_default)

EXECUTABLE_ORDER = ["category", "title", "description", "version", "documentation-url",
                    "license", "contributor", "acknowledgements", "parameters"]
PARAMETER_TAGS = {"boolean", "integer", "float", "double", "string", "directory",
                  "integer-vector", "float-vector", "double-vector", "string-vector",
                  "integer-enumeration", "float-enumeration", "double-enumeration",
                  "string-enumeration", "point", "region", "file", "image", "geometry",
                  "transform", "table", "pointfile", "measurement"}
CONSTRAINED_TAGS = {"integer", "float", "double", "integer-vector", "float-vector",
                    "double-vector"}
NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*\Z")
LONGFLAG = re.compile(r"-?-?[_a-zA-Z][_a-zA-Z0-9]*\Z")
IMAGE_TYPES = {"scalar", "label", "tensor", "diffusion-weighted", "vector", "model"}


def check_parameter(element):
    """The rules of one parameter element; returns its children's tags."""
    assert element.tag in PARAMETER_TAGS, element.tag
    tags = [child.tag for child in element]
    # name, then longflag (no flag, no index), description, label, default?, channel?
    assert tags[:4] == ["name", "longflag", "description", "label"], tags
    assert NAME.match(element.findtext("name"))
    assert LONGFLAG.match(element.findtext("longflag"))
    assert element.findtext("description") and element.findtext("label")
    rest = tags[4:]
    for optional in ("default", "channel"):
        if rest and rest[0] == optional:
            rest = rest[1:]
    if element.findtext("channel") is not None:
        assert element.findtext("channel") in ("input", "output")
    if element.tag.endswith("-enumeration"):
        assert rest and set(rest) == {"element"}, rest
        elements = [e.text for e in element.findall("element")]
        if element.find("default") is not None:
            assert element.findtext("default") in elements
    elif element.tag in CONSTRAINED_TAGS and rest:
        assert rest == ["constraints"], rest
        constraints = element.find("constraints")
        children = [c.tag for c in constraints]
        assert set(children) <= {"minimum", "maximum", "step"}
        assert len(children) == len(set(children))
        assert "step" in children  # required by the schema
        for child in constraints:
            float(child.text)
    else:
        assert rest == [], rest
    if element.tag == "boolean" and element.find("default") is not None:
        assert element.findtext("default") in ("true", "false")
    if element.tag == "image" and element.get("type") is not None:
        assert element.get("type") in IMAGE_TYPES
    if element.tag == "geometry":
        assert element.get("type") in (None, "fiberbundle", "model")
    return tags


def check_document(text):
    """The rules of a whole document; returns the root."""
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    root = ElementTree.fromstring(text)
    assert root.tag == "executable"
    tags = [child.tag for child in root]
    positions = [EXECUTABLE_ORDER.index(tag) for tag in tags]
    assert positions == sorted(positions), tags
    assert tags.count("title") == 1 and tags.count("description") == 1
    assert "parameters" in tags
    assert all(tags.count(t) <= 1 for t in EXECUTABLE_ORDER[:-1])
    names = []
    for group in root.findall("parameters"):
        children = list(group)
        assert [c.tag for c in children[:2]] == ["label", "description"]
        assert children[0].text and children[1].text
        assert len(children) > 2  # at least one parameter per group
        for parameter in children[2:]:
            check_parameter(parameter)
            names.append(parameter.findtext("name"))
    assert len(names) == len(set(names))
    return root


def every_kind_description():
    """A description with every slot type of Appendix B, groups and constraints."""
    return {
        "name": "every.kind-1", "version": "2.1", "title": "Every kind",
        "description": "One slot of each type & <escaped> text", "category": "Testing.CLI",
        "contributor": "Adapter tests",
        "inputs": [
            {"name": "volume", "type": "image", "label": "Volume", "image_kind": "scalar",
             "description": "The input volume"},
            {"name": "labels", "type": "image", "image_kind": "label", "group": "Masks"},
            {"name": "field", "type": "image", "image_kind": "vector"},
            {"name": "surface", "type": "mesh"},
            {"name": "placement", "type": "transform"},
            {"name": "landmarks", "type": "points"},
            {"name": "measurements", "type": "table", "optional": True},
        ],
        "outputs": [
            {"name": "smoothed", "type": "image", "image_kind": "scalar", "label": "Smoothed"},
            {"name": "summary", "type": "table"},
        ],
        "parameters": [
            {"name": "enabled", "type": "bool", "default": True, "group": "Options"},
            {"name": "iterations", "type": "int", "default": 5, "minimum": 1, "maximum": 50,
             "group": "Options"},
            {"name": "sigma", "type": "float", "default": 1.5, "minimum": 0.0, "maximum": 10.0,
             "step": 0.25, "label": "Sigma (mm)", "group": "Options"},
            {"name": "gain", "type": "float", "default": 2.0},
            {"name": "comment", "type": "string", "default": "none"},
            {"name": "mode", "type": "enum", "choices": ["fast", "exact"], "default": "exact"},
            {"name": "radii", "type": "int_vector", "default": [1, 2, 3], "length": 3,
             "minimum": 0},
            {"name": "scales", "type": "float_vector", "default": [0.5, 1.0]},
            {"name": "tags", "type": "string_vector", "default": ["a", "b"]},
        ],
    }


def test_every_slot_type_maps_to_its_execution_model_element():
    """[CAT-4] Appendix B, element by element."""
    root = check_document(description_to_xml(every_kind_description()))
    assert root.findtext("category") == "Testing.CLI"
    assert root.findtext("title") == "Every kind"
    assert root.findtext("description") == "One slot of each type & <escaped> text"
    assert root.findtext("version") == "2.1"
    assert root.findtext("contributor") == "Adapter tests"
    by_name = {p.findtext("name"): p for g in root.findall("parameters") for p in list(g)[2:]}
    expected = {"volume": ("image", "input"), "labels": ("image", "input"),
                "field": ("image", "input"), "surface": ("geometry", "input"),
                "placement": ("transform", "input"), "landmarks": ("pointfile", "input"),
                "measurements": ("table", "input"), "smoothed": ("image", "output"),
                "summary": ("table", "output"), "enabled": ("boolean", None),
                "iterations": ("integer", None), "sigma": ("double", None),
                "gain": ("double", None), "comment": ("string", None),
                "mode": ("string-enumeration", None), "radii": ("integer-vector", None),
                "scales": ("double-vector", None), "tags": ("string-vector", None)}
    assert set(by_name) == set(expected)
    for name, (tag, channel) in expected.items():
        element = by_name[name]
        assert element.tag == tag, name
        assert element.findtext("channel") == channel, name
        assert element.findtext("longflag") == name
    assert by_name["volume"].get("type") == "scalar"
    assert by_name["labels"].get("type") == "label"
    assert by_name["field"].get("type") == "vector"
    assert by_name["surface"].get("type") == "model"
    assert by_name["placement"].get("type") == "linear"
    assert by_name["volume"].findtext("label") == "Volume"
    assert by_name["volume"].findtext("description") == "The input volume"
    assert by_name["labels"].findtext("label") == "labels"  # the name when there is no label
    assert by_name["enabled"].findtext("default") == "true"
    assert by_name["iterations"].findtext("default") == "5"
    assert by_name["sigma"].findtext("default") == "1.5"
    assert by_name["sigma"].findtext("label") == "Sigma (mm)"
    assert by_name["gain"].findtext("default") == "2.0"
    assert by_name["mode"].findtext("default") == "exact"
    assert [e.text for e in by_name["mode"].findall("element")] == ["fast", "exact"]
    assert by_name["radii"].findtext("default") == "1,2,3"
    assert by_name["scales"].findtext("default") == "0.5,1.0"
    assert by_name["tags"].findtext("default") == "a,b"
    constraints = by_name["sigma"].find("constraints")
    assert [c.tag for c in constraints] == ["minimum", "maximum", "step"]
    assert [c.text for c in constraints] == ["0.0", "10.0", "0.25"]
    iterations = by_name["iterations"].find("constraints")
    assert [c.text for c in iterations] == ["1", "50", "1"]
    assert by_name["radii"].find("constraints/minimum").text == "0"
    assert by_name["gain"].find("constraints") is None
    assert by_name["volume"].find("default") is None  # data slots have no default


def test_groups_become_parameters_elements_with_their_label():
    root = ElementTree.fromstring(description_to_xml(every_kind_description()))
    groups = [(g.findtext("label"), [p.findtext("name") for p in list(g)[2:]])
              for g in root.findall("parameters")]
    assert groups == [
        ("Inputs", ["volume", "field", "surface", "placement", "landmarks", "measurements"]),
        ("Masks", ["labels"]),
        ("Outputs", ["smoothed", "summary"]),
        ("Options", ["enabled", "iterations", "sigma"]),
        ("Parameters", ["gain", "comment", "mode", "radii", "scales", "tags"]),
    ]


def test_a_description_with_only_the_required_keys_is_expressible():
    """[CAT-6]"""
    text = description_to_xml({"name": "bare", "inputs": [], "outputs": [],
                               "parameters": [{"name": "x", "type": "float"}]})
    root = check_document(text)
    assert root.findtext("title") == "bare"
    assert root.find("category") is None


def test_what_cannot_be_expressed_is_refused():
    with pytest.raises(CliXmlError, match="at least one parameter"):
        description_to_xml({"name": "nothing", "inputs": [], "outputs": [], "parameters": []})
    with pytest.raises(CliXmlError, match="unknown type"):
        description_to_xml({"name": "odd", "inputs": [{"name": "x", "type": "tensor"}],
                            "outputs": [], "parameters": []})
    with pytest.raises(CliXmlError, match="no choices"):
        description_to_xml({"name": "odd", "inputs": [], "outputs": [],
                            "parameters": [{"name": "m", "type": "enum"}]})


def test_defaults_and_steps():
    assert format_default({"type": "bool", "default": False}) == "false"
    assert format_default({"type": "float", "default": 3}) == "3.0"
    assert format_default({"type": "int", "name": "n"}) is None
    assert default_step({"type": "float", "minimum": 0.0, "maximum": 1.0}) == pytest.approx(0.01)
    assert default_step({"type": "float", "minimum": 0.0, "maximum": 3600.0}) == 10.0
    assert default_step({"type": "float"}) == 0.1
    assert default_step({"type": "int", "maximum": 10}) == 1.0


def test_module_names_are_valid_identifiers():
    assert cli_module_name("gaussian_smoothing") == "SlicerBridge_gaussian_smoothing"
    assert cli_module_name("vendor.filter-2") == "SlicerBridge_vendor_filter_2"


def test_every_processor_of_the_python_implementation_is_expressible():
    """[CAT-4]"""
    sys.path.insert(0, str(PYTHON_IMPLEMENTATION))
    try:
        from slicerbridge.processors import ALL
    finally:
        sys.path.remove(str(PYTHON_IMPLEMENTATION))
    documents = catalog_to_xml([processor.description.to_wire() for processor in ALL])
    assert len(documents) == len(ALL)
    for text in documents.values():
        check_document(text)


def test_every_processor_of_a_live_server_is_expressible(bridge):
    """[CAT-4]"""
    documents = catalog_to_xml(bridge.processors())
    assert "SlicerBridge_echo" in documents
    for text in documents.values():
        check_document(text)
