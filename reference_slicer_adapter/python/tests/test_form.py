"""What the module's form shows for a description (SlicerBridgeLib.form); no Qt needed."""

import pytest

from SlicerBridgeLib.form import (INT_RANGE, check_value, collect_parameters, input_selectors,
                                  output_selectors, parameter_fields, parse_vector)

DESCRIPTION = {
    "name": "filter",
    "inputs": [
        {"name": "volume", "type": "image", "image_kind": "scalar", "label": "Volume"},
        {"name": "mask", "type": "image", "image_kind": "label", "optional": True},
        {"name": "anything", "type": "image"},
        {"name": "surface", "type": "mesh", "description": "Surface to clip"},
        {"name": "landmarks", "type": "points"},
    ],
    "outputs": [
        {"name": "result", "type": "image", "image_kind": "vector"},
        {"name": "labels", "type": "image"},
        {"name": "stats", "type": "table"},
    ],
    "parameters": [
        {"name": "on", "type": "bool"},
        {"name": "count", "type": "int", "minimum": 1, "maximum": 9, "default": 3},
        {"name": "free", "type": "int"},
        {"name": "sigma", "type": "float", "minimum": 0.0, "maximum": 2.0, "default": 0.5,
         "group": "Smoothing", "description": "Gaussian width"},
        {"name": "fine", "type": "float", "step": 0.001},
        {"name": "mode", "type": "enum", "choices": ["a", "b"], "default": "b"},
        {"name": "radii", "type": "int_vector", "length": 3, "minimum": 0},
        {"name": "scales", "type": "float_vector"},
        {"name": "tags", "type": "string_vector"},
        {"name": "note", "type": "string"},
    ],
}


def test_each_parameter_type_gets_its_widget_with_its_constraints():
    fields = {f.name: f for f in parameter_fields(DESCRIPTION)}
    assert fields["on"].widget == "checkbox" and fields["on"].default is False
    assert (fields["count"].widget, fields["count"].minimum, fields["count"].maximum,
            fields["count"].step, fields["count"].default) == ("spinbox", 1, 9, 1, 3)
    assert (fields["free"].minimum, fields["free"].maximum) == INT_RANGE
    sigma = fields["sigma"]
    assert (sigma.widget, sigma.minimum, sigma.maximum) == ("doublespinbox", 0.0, 2.0)
    assert sigma.step == pytest.approx(0.01) and sigma.decimals == 3
    assert sigma.group == "Smoothing" and sigma.tooltip == "Gaussian width"
    assert fields["fine"].decimals == 4
    assert fields["mode"].widget == "combobox" and fields["mode"].choices == ("a", "b")
    assert fields["radii"].widget == "vector" and fields["radii"].length == 3
    assert fields["note"].widget == "lineedit"
    assert fields["count"].group == "Parameters" and fields["count"].label == "count"


def test_input_selectors_list_the_node_classes_of_each_data_type():
    selectors = {s.name: s for s in input_selectors(DESCRIPTION)}
    assert selectors["volume"].node_classes == ["vtkMRMLScalarVolumeNode"]
    assert selectors["volume"].show_child_types is False  # label maps are scalar volumes too
    assert selectors["mask"].node_classes == ["vtkMRMLLabelMapVolumeNode",
                                              "vtkMRMLSegmentationNode"]
    assert selectors["mask"].optional and not selectors["volume"].optional
    assert "vtkMRMLSegmentationNode" in selectors["anything"].node_classes
    assert selectors["surface"].node_classes == ["vtkMRMLModelNode"]
    assert selectors["surface"].tooltip == "Surface to clip"
    assert "vtkMRMLMarkupsFiducialNode" in selectors["landmarks"].node_classes


def test_output_selectors_create_nodes_of_the_output_kind():
    selectors = {s.name: s for s in output_selectors(DESCRIPTION)}
    assert selectors["result"].new_node_class == "vtkMRMLVectorVolumeNode"
    assert selectors["labels"].new_node_class == "vtkMRMLScalarVolumeNode"
    assert selectors["stats"].new_node_class == "vtkMRMLTableNode"
    assert all(s.optional for s in selectors.values())


def test_widget_values_become_typed_parameters():
    parameters, problems = collect_parameters(DESCRIPTION, {
        "on": True, "count": 4, "sigma": 1, "mode": "a", "radii": "1, 2,3", "scales": "0.5",
        "tags": "x, y", "note": "text", "fine": "0.25"})
    assert problems == []
    assert parameters == {"on": True, "count": 4, "sigma": 1.0, "mode": "a", "radii": [1, 2, 3],
                          "scales": [0.5], "tags": ["x", "y"], "note": "text", "fine": 0.25}
    assert isinstance(parameters["sigma"], float)


@pytest.mark.parametrize("values, problem", [
    ({"count": 10}, "above the maximum"),
    ({"count": 0}, "below the minimum"),
    ({"count": 2.5}, "cannot read"),
    ({"sigma": "wide"}, "cannot read"),
    ({"mode": "c"}, "expected one of a, b"),
    ({"radii": "1, 2"}, "expected 3 values"),
    ({"radii": "1, -2, 3"}, "below the minimum"),
    ({"radii": "1, x, 3"}, "cannot read"),
    ({"on": "yes"}, "true or false"),
    ({"unknown": 1}, "not a parameter"),
    ({"sigma": float("inf")}, "finite number"),
])
def test_values_outside_a_slot_are_problems_naming_the_parameter(values, problem):
    """[INV-2]"""
    parameters, problems = collect_parameters(DESCRIPTION, values)
    assert parameters == {}
    assert len(problems) == 1 and problem in problems[0]
    assert problems[0].startswith(next(iter(values)))


def test_check_value_and_parse_vector():
    assert check_value({"name": "x", "type": "float"}, float("nan")) == \
        "x: expected a finite number"
    assert check_value({"name": "x", "type": "int"}, True) == "x: expected a number"
    assert parse_vector("", "float_vector") == []
    with pytest.raises(ValueError):
        parse_vector("1.5", "int_vector")
