"""Tests of slicer_sem, the model of what 3D Slicer does with a CLI module.

The positive cases use XML files shipped with Slicer itself (data/sem/README.md); the command
lines expected for them are written out by hand from vtkSlicerCLIModuleLogic::ApplyTask, so
these tests check the model against Slicer's rules, not against itself.
"""

import os
import sys
from pathlib import Path

import pytest

import slicer_sem as sem

DATA = Path(__file__).resolve().parent / "data" / "sem"
TMP = "/tmp/Slicer-user"
PID = 1234           # pid digits become letters in node file names: 1234 -> BCDE
LETTERS = "BCDE"


def load(name):
    return sem.parse_module((DATA / name).read_text(encoding="utf-8"))


def minimal(parameters, group_attributes=""):
    return ('<?xml version="1.0" encoding="utf-8"?>\n<executable>\n'
            "<category>Test</category><title>T</title>\n"
            "<parameters%s><label>G</label>\n%s\n</parameters>\n</executable>\n"
            % (group_attributes, parameters))


# ---------------------------------------------------------------------------------- parsing

def test_gaussian_blur_parses_like_sem():
    m = load("GaussianBlurImageFilter.xml")
    assert m.title == "Gaussian Blur Image Filter"
    assert m.category == "Filtering.Denoising"
    assert m.index == "3"
    assert m.license == ""
    assert len(m.groups) == 1
    g = m.groups[0]
    # the group <label> comes after the first parameter: still the group's label
    assert g.label == "IO" and g.advanced == "false"
    sigma, inp, out = g.parameters
    assert (sigma.tag, sigma.name, sigma.flag, sigma.longflag, sigma.default) == \
        ("double", "sigma", "s", "sigma", "1.0")
    assert sigma.cpp_type == "double"
    assert (inp.tag, inp.type, inp.channel, inp.index) == ("image", "scalar", "input", "0")
    assert (out.channel, out.index, out.reference) == ("output", "1", "inputVolume")
    assert not sem.has_return_parameters(m)


def test_threshold_parses_flags_enumeration_and_boolean():
    m = load("ThresholdScalarVolume.xml")
    assert [g.label for g in m.groups] == ["IO", "Filter Settings"]
    t = m.parameter("ThresholdType")
    assert t.tag == "string-enumeration"
    assert t.longflag == "thresholdtype"  # leading "--" stripped
    assert t.elements == ["Below", "Above", "Outside"] and t.default == "Outside"
    v = m.parameter("ThresholdValue")
    assert (v.flag, v.longflag, v.default) == ("t", "threshold", "128")
    assert m.parameter("Negate").tag == "boolean"


def test_fiducial_registration_return_parameters_and_references():
    m = load("FiducialRegistration.xml")
    fixed = m.parameter("fixedLandmarks")
    assert (fixed.tag, fixed.multiple, fixed.coordinate_system) == ("point", "true", "")
    transform = m.parameter("saveTransform")
    assert transform.file_extensions == [".txt"] and transform.type == "unknown"
    assert transform.forward_references == {
        "spatialRegistrationMoving": ["movingLandmarks"],
        "spatialRegistrationFixed": ["fixedLandmarks"]}
    assert sem.is_return_parameter(m.parameter("rms"))
    assert sem.is_return_parameter(m.parameter("outputMessage"))
    assert not sem.is_return_parameter(transform)
    assert sem.has_return_parameters(m)


def test_description_quotes_and_newlines_are_rewritten():
    m = sem.parse_module(minimal(
        '<integer><name>n</name><longflag>n</longflag><description>\n say "hi"\n</description>'
        "<default>1</default></integer>"))
    # quotes -> apostrophes and newlines -> a literal backslash-n, then trimming (which no
    # longer sees the newlines)
    assert m.parameter("n").description == "\\n say 'hi'\\n"


def test_text_is_trimmed_of_space_tab_newline_only():
    m = sem.parse_module(minimal(
        "<string-enumeration><name>e</name><longflag>e</longflag>"
        "<element>\n\t a \n</element><element> b</element><default> b\t</default>"
        "</string-enumeration>"))
    e = m.parameter("e")
    assert e.elements == ["a", "b"] and e.default == "b"


def test_name_taken_from_longflag_and_advanced_group():
    m = sem.parse_module(minimal(
        "<double><longflag>--sigma_x</longflag><default>1</default></double>",
        ' advanced="true"'))
    assert m.parameters[0].name == "sigma_x"
    assert m.groups[0].advanced == "true"


def test_advanced_is_ignored_unless_it_is_the_only_attribute():
    m = sem.parse_module(minimal("", ' advanced="true" foo="bar"'))
    assert m.groups[0].advanced == "false"


def test_file_extensions_split_on_commas_without_trimming():
    m = sem.parse_module(minimal(
        '<image fileExtensions=".nrrd, .nii.gz"><name>v</name><longflag>v</longflag>'
        "<channel>input</channel></image>"))
    assert m.parameter("v").file_extensions == [".nrrd", " .nii.gz"]
    assert any("not trimmed" in p for p in sem.generator_problems(m))


def test_pointfile_type_check_bug_rejects_only_closedcurve():
    ok = sem.parse_module(minimal(
        '<pointfile type="whatever"><name>p</name><longflag>p</longflag>'
        "<channel>input</channel></pointfile>"))
    assert ok.parameter("p").type == "whatever"
    with pytest.raises(sem.SemParseError):
        sem.parse_module(minimal(
            '<pointfile type="closedcurve"><name>p</name><longflag>p</longflag>'
            "<channel>input</channel></pointfile>"))


# ------------------------------------------------------------------------- negative cases

@pytest.mark.parametrize("image_type", ["model", "volume", "segmentation", "Scalar"])
def test_invalid_image_type_is_rejected(image_type):
    xml = minimal('<image type="%s"><name>v</name><longflag>v</longflag>'
                  "<channel>input</channel></image>" % image_type)
    with pytest.raises(sem.SemParseError) as e:
        sem.parse_module(xml)
    assert "is not a valid value for the attribute" in str(e.value)
    # Slicer still loads the module (it has a title) without that parameter
    assert not e.value.hidden
    assert e.value.partial.parameters == []


def test_malformed_xml_is_rejected():
    xml = minimal("<integer><name>n</name></integr>")
    with pytest.raises(sem.SemParseError) as e:
        sem.parse_module(xml)
    assert "mismatched tag" in str(e.value)


def test_missing_xml_declaration_hides_the_module():
    text = (DATA / "GaussianBlurImageFilter.xml").read_text()
    for bad in (text.split("\n", 1)[1], " " + text, "\ufeff" + text):
        with pytest.raises(sem.SemParseError) as e:
            sem.parse_module(bad)
        assert e.value.hidden


def test_empty_title_hides_the_module():
    xml = minimal("").replace("<title>T</title>", "")
    with pytest.raises(sem.SemParseError) as e:
        sem.parse_module(xml)
    assert e.value.hidden
    assert sem.parse_module(xml, allow_empty_title=True).title == ""


@pytest.mark.parametrize("fragment, message", [
    ("<integer><name>1abc</name></integer>", "<name> can only contain"),
    ("<integer><name>a</name><longflag>a-b</longflag></integer>", "<longflag> can only"),
    ("<integer><name>a</name><flag>ab</flag></integer>", "only contain one character"),
    ("<integer><name>a</name><flag>a</flag><index>0</index></integer>", "<index> cannot"),
    ("<integer><name>a</name><index>0</index><flag>a</flag></integer>", "<flag> cannot"),
    ('<integer hidden="yes"><name>a</name></integer>', 'attribute "hidden"'),
    ('<file hidden="true"><name>a</name></file>', 'not a valid attribute for "file"'),
    ('<transform type="affine"><name>a</name></transform>', "not a valid value"),
    ('<geometry type="mesh"><name>a</name></geometry>', "not a valid value"),
    ('<table type="csv"><name>a</name></table>', "not a valid value"),
    ('<point coordinateSystem="xyz"><name>a</name></point>', "coordinate system"),
    ('<image multiple="yes"><name>a</name></image>', 'attribute "multiple"'),
    ("<integer><name>a</name><unknown/></integer>", "Unrecognized element <unknown>"),
])
def test_semantic_errors(fragment, message):
    with pytest.raises(sem.SemParseError) as e:
        sem.parse_module(minimal(fragment))
    assert message in str(e.value)


def test_module_level_name_and_parameter_outside_group_are_errors():
    with pytest.raises(sem.SemParseError, match="Unrecognized element <name>"):
        sem.parse_module('<?xml version="1.0"?><executable><title>T</title><name>x</name>'
                         "</executable>")
    with pytest.raises(sem.SemParseError, match="can only be used inside <parameters>"):
        sem.parse_module('<?xml version="1.0"?><executable><title>T</title>'
                         "<integer><name>x</name></integer></executable>")
    with pytest.raises(sem.SemParseError, match="must be the outer most tag"):
        sem.parse_module('<?xml version="1.0"?><module><title>T</title></module>')


def test_unknown_attributes_are_ignored_on_scalars():
    m = sem.parse_module(minimal('<integer foo="bar" multiple="maybe"><name>a</name>'
                                 "<longflag>a</longflag><default>1</default></integer>"))
    assert m.parameter("a").multiple == "false"


# ---------------------------------------------------------------------------- command line

def test_gaussian_blur_command_line():
    m = load("GaussianBlurImageFilter.xml")
    cl = sem.slicer_command_line(
        m, "/ext/lib/Slicer-5.9/cli-modules/GaussianBlurImageFilter",
        {"sigma": 2.5, "inputVolume": "vtkMRMLScalarVolumeNode1",
         "outputVolume": "vtkMRMLScalarVolumeNode2"}, TMP, pid=PID)
    inp = "%s/%s_vtkMRMLScalarVolumeNodeB.nrrd" % (TMP, LETTERS)
    out = "%s/%s_vtkMRMLScalarVolumeNodeC.nrrd" % (TMP, LETTERS)
    assert cl.argv == ["/ext/lib/Slicer-5.9/cli-modules/GaussianBlurImageFilter",
                       "--sigma", "2.5", inp, out]
    assert cl.inputs == {"inputVolume": inp} and cl.outputs == {"outputVolume": out}
    assert cl.return_parameter_file is None


def test_gaussian_blur_requires_its_index_nodes():
    m = load("GaussianBlurImageFilter.xml")
    with pytest.raises(sem.SlicerRunError, match='No output data assigned to "Output Volume"'):
        sem.slicer_command_line(m, "/x/GaussianBlurImageFilter",
                                {"inputVolume": "vtkMRMLScalarVolumeNode1"}, TMP, pid=PID)


def test_threshold_command_line_with_form_defaults():
    m = load("ThresholdScalarVolume.xml")
    cl = sem.slicer_command_line(
        m, "/x/ThresholdScalarVolume",
        {"InputVolume": "vtkMRMLScalarVolumeNode1", "OutputVolume": "vtkMRMLScalarVolumeNode4"},
        TMP, pid=PID)
    assert cl.argv == [
        "/x/ThresholdScalarVolume",
        "--thresholdtype", "Outside", "--threshold", "128", "--lower", "1",
        "--upper", "200", "--outsidevalue", "0",  # --negate absent: false
        TMP + "/BCDE_vtkMRMLScalarVolumeNodeB.nrrd", TMP + "/BCDE_vtkMRMLScalarVolumeNodeE.nrrd"]


def test_threshold_boolean_enumeration_and_float_formatting():
    m = load("ThresholdScalarVolume.xml")
    cl = sem.slicer_command_line(
        m, "/x/ThresholdScalarVolume",
        {"InputVolume": "vtkMRMLScalarVolumeNode1", "OutputVolume": "vtkMRMLScalarVolumeNode2",
         "Negate": True, "ThresholdType": "Below", "ThresholdValue": 1234567.0,
         "Lower": 0.0001234567},
        TMP, pid=PID)
    argv = cl.argv
    assert argv[argv.index("--thresholdtype") + 1] == "Below"
    # the form stores doubles with ostream's 6 significant digits
    assert argv[argv.index("--threshold") + 1] == "1.23457e+06"
    assert argv[argv.index("--lower") + 1] == "0.000123457"
    assert "--negate" in argv and argv[argv.index("--negate") + 1] == TMP + \
        "/BCDE_vtkMRMLScalarVolumeNodeB.nrrd"
    # an unknown enumeration value leaves the default checked
    cl2 = sem.slicer_command_line(m, "/x/T", {"ThresholdType": "Sideways",
                                              "InputVolume": "vtkMRMLScalarVolumeNode1",
                                              "OutputVolume": "vtkMRMLScalarVolumeNode2"},
                                  TMP, pid=PID)
    assert cl2.argv[cl2.argv.index("--thresholdtype") + 1] == "Outside"


def test_fiducial_registration_command_line():
    m = load("FiducialRegistration.xml")
    cl = sem.slicer_command_line(
        m, "/x/FiducialRegistration",
        {"fixedLandmarks": [(1.0, 2.0, 3.0), (4.5, -5.0, 6.0)],
         "movingLandmarks": [(0.0, 0.0, 0.0)],
         "saveTransform": "vtkMRMLLinearTransformNode7", "transformType": "Affine"},
        TMP, pid=PID, return_code="AbC0123xyz")
    params = TMP + "/1234_AbC0123xyz.params"  # the pid stays in digits here
    xfm = TMP + "/BCDE_vtkMRMLLinearTransformNodeH.txt"  # fileExtensions=".txt"
    assert cl.argv == [
        "/x/FiducialRegistration", "--returnparameterfile", params,
        # points in LPS (coordinateSystem unset), one flag per control point
        "--fixedLandmarks", "-1,-2,3", "--fixedLandmarks", "-4.5,5,6",
        "--movingLandmarks", "-0,-0,0",
        "--saveTransform", xfm, "--transformType", "Affine"]
    assert cl.outputs == {"saveTransform": xfm} and cl.inputs == {}
    assert cl.return_parameter_file == params


def test_default_extensions_and_pointfile_coordinates():
    xml = minimal(
        '<geometry><name>m</name><longflag>m</longflag><channel>input</channel></geometry>'
        '<transform><name>t</name><longflag>t</longflag><channel>output</channel></transform>'
        '<table><name>tab</name><longflag>tab</longflag><channel>output</channel></table>'
        '<pointfile><name>pf</name><longflag>pf</longflag><channel>input</channel></pointfile>'
        '<pointfile type="curve" coordinateSystem="ras"><name>c</name><longflag>c</longflag>'
        "<channel>input</channel></pointfile>"
        '<measurement><name>me</name><longflag>me</longflag><channel>input</channel>'
        "</measurement>")
    m = sem.parse_module(xml)
    cl = sem.slicer_command_line(
        m, "/x/T", {"m": "vtkMRMLModelNode1", "t": "vtkMRMLLinearTransformNode2",
                    "tab": "vtkMRMLTableNode3", "pf": "vtkMRMLMarkupsFiducialNode4",
                    "c": "vtkMRMLMarkupsCurveNode5", "me": None}, TMP, pid=PID)
    assert cl.inputs["m"].endswith("_vtkMRMLModelNodeB.vtp")
    assert cl.outputs["t"].endswith("_vtkMRMLLinearTransformNodeC.h5")
    assert cl.outputs["tab"].endswith("_vtkMRMLTableNodeD.tsv")
    assert cl.inputs["pf"].endswith("_vtkMRMLMarkupsFiducialNodeE.fcsv")
    assert cl.inputs["c"].endswith("_vtkMRMLMarkupsCurveNodeF.json")
    assert cl.coordinate_systems == {"pf": "LPS", "c": "RAS"}
    assert "--me" not in cl.argv  # no node selected: the flag is left out


def test_empty_values_booleans_and_vectors():
    xml = minimal(
        "<integer><name>i</name><longflag>i</longflag></integer>"
        "<string><name>s</name><longflag>s</longflag></string>"
        "<double-vector><name>v</name><longflag>v</longflag><default>1,2,3</default>"
        "</double-vector>"
        "<string-enumeration><name>e</name><flag>e</flag><element>a</element></string-enumeration>"
        "<boolean><name>b</name><longflag>b</longflag><default>true</default></boolean>"
        "<boolean><name>pos</name><index>0</index><default>false</default></boolean>")
    m = sem.parse_module(xml)
    python = sem.slicer_command_line(m, "/x/T", {}, TMP, pid=PID, source="python")
    # integer with an empty default is still passed, with an empty argument; an empty string
    # is not; an enumeration without a valid default passes ""; a positional boolean is text
    assert python.argv == ["/x/T", "--i", "", "--v", "1,2,3", "-e", "", "--b", "false"]
    gui = sem.slicer_command_line(m, "/x/T", {"v": [4, 5.5, 6]}, TMP, pid=PID)
    assert gui.argv == ["/x/T", "--i", "0", "--v", "4,5.5,6", "-e", "", "--b", "false"]
    lists = sem.slicer_command_line(m, "/x/T", {"v": [4, 5.5, 6]}, TMP, pid=PID,
                                    source="python")
    assert lists.argv[lists.argv.index("--v") + 1] == "4, 5.5, 6"


def test_node_output_without_flag_triggers_return_file_but_is_not_passed():
    m = sem.parse_module(minimal(
        "<image><name>out</name><channel>output</channel></image>"))
    cl = sem.slicer_command_line(m, "/x/T", {"out": "vtkMRMLScalarVolumeNode1"}, TMP, pid=PID,
                                 return_code="0000000000")
    assert cl.argv == ["/x/T", "--returnparameterfile", TMP + "/1234_0000000000.params"]
    assert any("never passed" in p for p in sem.generator_problems(m))


# ----------------------------------------------------------------------------------- form

def test_integer_constraints_are_read_as_32_bit_ints():
    m = sem.parse_module(minimal(
        "<integer><name>a</name><longflag>a</longflag><default>5</default>"
        "<constraints><minimum>-10</minimum><maximum>4294967296</maximum><step>1</step>"
        "</constraints></integer>"
        "<integer><name>b</name><longflag>b</longflag><default>5</default>"
        "<constraints><minimum>0.0</minimum><maximum>100.0</maximum><step>1.0</step>"
        "</constraints></integer>"
        "<integer><name>c</name><longflag>c</longflag><default>7</default>"
        "<constraints><minimum>0</minimum><maximum>2000000</maximum><step>1</step>"
        "</constraints></integer>"
        "<integer><name>d</name><longflag>d</longflag><default>99999999999</default>"
        "</integer>"))
    a = sem.form_widget_constraints(m.parameter("a"))
    assert (a.widget, a.minimum, a.maximum) == ("ctkSliderWidget", -10, 0)  # 2^32 -> 0
    assert a.value == 0 and a.problems
    b = sem.form_widget_constraints(m.parameter("b"))
    assert (b.minimum, b.maximum, b.step) == (0, 0, 0) and not b.usable
    c = sem.form_widget_constraints(m.parameter("c"))
    assert c.usable and c.value_text == "7"
    # a slider holds a double: 2000000 is sent as "2e+06"
    assert sem.form_value_text(m.parameter("c"), 2000000) == "2e+06"
    d = sem.form_widget_constraints(m.parameter("d"))
    assert (d.widget, d.minimum, d.maximum, d.value) == ("QSpinBox", -21474836, 21474836, 0)
    assert sem.form_value_text(m.parameter("d"), 50000000) == "21474836"


def test_float_bounds_go_through_to_float():
    m = sem.parse_module(minimal(
        "<double><name>x</name><longflag>x</longflag><default>0.5</default>"
        "<constraints><minimum>-1e39</minimum><maximum>0.125</maximum><step>0.001</step>"
        "</constraints></double>"))
    w = sem.form_widget_constraints(m.parameter("x"))
    assert w.minimum == float("-inf") and w.maximum == 0.125 and not w.usable
    assert w.decimals == 3


def test_form_node_types_per_image_type():
    def widget(attrs):
        m = sem.parse_module(minimal("<image %s><name>v</name><longflag>v</longflag>"
                                     "<channel>input</channel></image>" % attrs))
        return sem.form_widget_constraints(m.parameter("v"))

    assert widget("").node_types == ["vtkMRMLScalarVolumeNode", "vtkMRMLLabelMapVolumeNode"]
    assert widget('type="label"').node_types == ["vtkMRMLLabelMapVolumeNode",
                                                 "vtkMRMLSegmentationNode"]
    assert widget('type="vector"').node_types == ["vtkMRMLVectorVolumeNode"]
    assert not widget('type="vector"').add_enabled
    assert "vtkMRMLSegmentationNode" in widget('type="any"').node_types


def test_output_scalars_are_read_only_text():
    m = load("FiducialRegistration.xml")
    w = sem.form_widget_constraints(m.parameter("rms"))
    assert (w.widget, w.read_only) == ("QLineEdit", True)


# ------------------------------------------------------------------------------- progress

def test_progress_events_in_chunks():
    p = sem.ProgressParser()
    assert p.feed(b"<filter-start><filter-name>Blur</filter-name>"
                  b"<filter-comment>smoothing</filter-comment></filter-start>\n") == \
        [("message", "smoothing")]
    assert p.feed(b"<filter-progress>0.25</filter-progress>\n") == [("progress", 0.25)]
    # a later <filter-name> does not win over an earlier comment
    assert p.feed(b"<filter-name>Other</filter-name>\n") == []
    assert p.feed(b"<filter-stage-progress>0.5</filter-stage-progress>") == \
        [("stage-progress", 0.5)]
    # a tag cut across chunks: the half-written value is read
    assert p.feed(b"<filter-progress>0.") == [("progress", 0.0)]
    assert p.percent is None  # 0 shows the busy indicator
    assert p.feed(b"75</filter-progress>\nhello\n") == [("progress", 0.75)]
    assert p.percent == 75
    assert p.feed(b"<filter-end><filter-name>Blur</filter-name>"
                  b"<filter-time>1.0</filter-time></filter-end>\n") == []
    assert p.output_text() == "hello\n"


# ------------------------------------------------------------------------ return parameters

def test_read_return_parameters(tmp_path):
    m = load("FiducialRegistration.xml")
    f = tmp_path / "r.params"
    f.write_bytes(b"rms = 0.5\n  outputMessage=  two words here \nunknown = 3\nrms\n")
    # a line without '=' uses the whole line as key and value
    assert sem.read_return_parameters(str(f)) == {
        "rms": "rms", "outputMessage": "two words here", "unknown": "3"}
    assert sem.read_return_parameters(str(f), m) == {"rms": "rms",
                                                     "outputMessage": "two words here"}
    f.write_bytes(b"rms = 1\r\n")
    assert sem.read_return_parameters(str(f))["rms"] == "1\r"  # '\r' is not trimmed
    f.write_bytes(b"rms = 1\n\noutputMessage = x\n")
    with pytest.raises(sem.ReturnParameterFileError):
        sem.read_return_parameters(str(f))
    sem.write_return_parameters(str(f), {"rms": 0.25, "outputMessage": "done"})
    assert f.read_bytes() == b"rms = 0.25\noutputMessage = done\n"
    assert sem.read_return_parameters(str(f), m) == {"rms": "0.25", "outputMessage": "done"}


def test_sem_test_data_parameter_file():
    # SlicerExecutionModel's own test file parameter-file-with-missing-value-slicer-issue2712:
    # "OutputLabel =" with nothing after it reads as an empty value
    import tempfile
    with tempfile.NamedTemporaryFile("wb", suffix=".params", delete=False) as f:
        f.write(b"OutputLabel =\nSUVMean = 2\n")
    try:
        assert sem.read_return_parameters(f.name) == {"OutputLabel": "", "SUVMean": "2"}
    finally:
        os.unlink(f.name)


# ------------------------------------------------------------------------------ discovery

def _make(path, text="#!/bin/sh\n", mode=0o755):
    path.write_text(text)
    path.chmod(mode)
    return path


def test_cli_executable_rules(tmp_path):
    plain = _make(tmp_path / "SlicerBridgeThreshold")
    dotted = _make(tmp_path / "sb.threshold")
    not_exec = _make(tmp_path / "NoExec", mode=0o644)
    script = _make(tmp_path / "Tool.py", "#!/usr/bin/env python3\n", mode=0o644)
    plain_py = _make(tmp_path / "Lib.py", "import os\n")
    exe = _make(tmp_path / "Tool.exe")
    assert sem.is_cli_executable(str(plain), "linux")
    assert not sem.is_cli_executable(str(dotted), "linux")
    assert not sem.is_cli_executable(str(not_exec), "linux")
    assert sem.is_cli_executable(str(script), "linux")
    assert not sem.is_cli_executable(str(plain_py), "linux")
    assert not sem.is_cli_executable(str(exe), "linux")
    assert sem.is_cli_executable(str(exe), "win32")
    assert not sem.is_cli_executable(str(plain), "win32")
    assert not sem.is_cli_executable(str(tmp_path), "linux")


def test_module_names_and_xml_beside(tmp_path):
    exe = _make(tmp_path / "SlicerBridgeThreshold")
    assert sem.module_xml_for(str(exe)) is None
    (tmp_path / "SlicerBridgeThreshold.xml").write_text("<?xml version=\"1.0\"?>")
    assert sem.module_xml_for(str(exe)) == str(tmp_path / "SlicerBridgeThreshold.xml")
    assert sem.module_xml_for(str(tmp_path / "Tool.exe")) is None
    assert sem.module_name_for("/a/MyModuleProxy") == "MyProxy"
    assert sem.module_name_for("/a/libFooLib.so") == "Foo"
    assert sem.module_name_for("C:/a/Tool.v2.exe") == "Tool"
    link = tmp_path / "Linked"
    link.symlink_to(exe)
    assert sem.is_cli_executable(str(link), "linux")
    assert sem.discover_cli_modules(str(tmp_path), "linux") == {
        "Linked": str(link), "SlicerBridgeThreshold": str(exe)}
    _make(tmp_path / "SomethingTest")
    assert "SomethingTest" not in sem.discover_cli_modules(str(tmp_path), "linux")
    assert "SomethingTest" in sem.discover_cli_modules(str(tmp_path), "linux",
                                                       ignore_testing=False)


def test_load_module_xml_runs_the_executable(tmp_path):
    xml = (DATA / "GaussianBlurImageFilter.xml").read_text()
    exe = _make(tmp_path / "Blur", "#!%s\nimport sys\nsys.stdout.write('noise ' + %r)\n"
                % (sys.executable, xml))
    text, warnings = sem.load_module_xml(str(exe))
    assert text == xml and warnings and "noise" in warnings[0]
    assert sem.parse_module(text).title == "Gaussian Blur Image Filter"


# ------------------------------------------------------------------- checklist for the generator

GOOD = """<?xml version="1.0" encoding="utf-8"?>
<executable>
  <category>SlicerBridge</category>
  <title>Threshold</title>
  <description>Binary threshold.</description>
  <parameters>
    <label>Inputs</label>
    <image type="scalar" fileExtensions=".nrrd"><name>volume</name><longflag>volume</longflag>
      <label>Volume</label><channel>input</channel></image>
    <double><name>lower</name><longflag>lower</longflag><label>Lower</label>
      <default>100.0</default>
      <constraints><minimum>-1000.0</minimum><maximum>3000.0</maximum><step>0.5</step>
      </constraints></double>
    <integer><name>iterations</name><longflag>iterations</longflag><default>3</default>
      <constraints><minimum>1</minimum><maximum>100</maximum><step>1</step></constraints>
    </integer>
    <string-enumeration><name>mode</name><longflag>mode</longflag>
      <element>inside</element><element>outside</element><default>inside</default>
    </string-enumeration>
  </parameters>
  <parameters advanced="true">
    <label>Outputs</label>
    <image type="label" fileExtensions=".nrrd"><name>mask</name><longflag>mask</longflag>
      <label>Mask</label><channel>output</channel></image>
    <integer><name>count</name><label>Count</label><channel>output</channel>
      <default>0</default></integer>
  </parameters>
</executable>
"""


def test_a_clean_description_has_no_problems():
    m = sem.parse_module(GOOD)
    assert sem.generator_problems(m) == []
    assert m.groups[1].advanced == "true"
    for p in m.parameters:
        assert sem.form_widget_constraints(p).usable
    cl = sem.slicer_command_line(m, "/x/SlicerBridgeThreshold",
                                 {"volume": "vtkMRMLScalarVolumeNode1",
                                  "mask": "vtkMRMLLabelMapVolumeNode1"},
                                 TMP, pid=PID, return_code="q" * 10)
    assert cl.argv == ["/x/SlicerBridgeThreshold", "--returnparameterfile",
                       TMP + "/1234_qqqqqqqqqq.params",
                       "--volume", TMP + "/BCDE_vtkMRMLScalarVolumeNodeB.nrrd",
                       "--lower", "100", "--iterations", "3", "--mode", "inside",
                       "--mask", TMP + "/BCDE_vtkMRMLLabelMapVolumeNodeB.nrrd"]


def test_generator_problems_found():
    bad = GOOD.replace("<name>lower</name><longflag>lower</longflag>",
                       "<name>xml</name><longflag>xml</longflag>") \
              .replace("<maximum>100</maximum>", "<maximum>100.0</maximum>") \
              .replace("<default>inside</default>", "<default>middle</default>") \
              .replace("<name>count</name>", "<name>mode</name>")
    problems = "\n".join(sem.generator_problems(sem.parse_module(bad)))
    assert "clashes with a reserved CLI flag" in problems
    assert "'100.0' is not a 32-bit integer" in problems
    assert "not one of the elements" in problems
    assert "'mode' is used twice" in problems


def test_float_default_hidden_by_too_few_decimals():
    m = sem.parse_module(GOOD.replace("<default>100.0</default>", "<default>1e-05</default>")
                         .replace("<description>Binary threshold.</description>",
                                  "<description>Binary\nthreshold.</description>"))
    problems = "\n".join(sem.generator_problems(m))
    assert "default 1e-05 is shown as 0.0" in problems
    assert "module description contains newlines" in problems
    assert m.description == "Binary\\nthreshold."


def test_decode_argv_inverts_slicer_command_line():
    m = load("FiducialRegistration.xml")
    cl = sem.slicer_command_line(
        m, "/x/FiducialRegistration",
        {"fixedLandmarks": [(1.0, 2.0, 3.0), (4.0, 5.0, 6.0)], "movingLandmarks": [(7, 8, 9)],
         "saveTransform": "vtkMRMLLinearTransformNode1"}, TMP, pid=PID, return_code="r" * 10)
    values, return_file = sem.decode_argv(m, cl.argv)
    assert return_file == cl.return_parameter_file
    # values that start with '-' are still values
    assert values["fixedLandmarks"] == ["-1,-2,3", "-4,-5,6"]
    assert values["saveTransform"] == cl.outputs["saveTransform"]
    assert values["transformType"] == "Rigid"

    t = load("ThresholdScalarVolume.xml")
    cl = sem.slicer_command_line(t, "/x/T", {"InputVolume": "vtkMRMLScalarVolumeNode1",
                                             "OutputVolume": "vtkMRMLScalarVolumeNode2",
                                             "Lower": -5.0, "Negate": True}, TMP, pid=PID)
    values, return_file = sem.decode_argv(t, cl.argv)
    assert return_file is None
    assert values["Lower"] == "-5" and values["Negate"] == "true"
    assert values["InputVolume"] == cl.inputs["InputVolume"]
    assert values["OutputVolume"] == cl.outputs["OutputVolume"]
