#include <slicerbridge/cli_module.hpp>

#include "support/printers.hpp"

#include <doctest/doctest.h>

#include <string>

namespace sb = slicerbridge;
using sb::slot;
using sb::slot_type;

namespace {

slot cli_slot(std::string name, slot_type type) {
    slot s;
    s.name = std::move(name);
    s.type = type;
    return s;
}

sb::processor_description lungs() {
    sb::processor_description d;
    d.name = "seg.lungs";
    d.version = "1";
    d.title = "Lungs";
    d.description = "Segments the lungs.";
    d.category = "Segmentation";
    d.inputs = {cli_slot("volume", slot_type::image), cli_slot("mask", slot_type::image)};
    d.inputs[0].image_kind = sb::image_kind::scalar;
    d.inputs[1].optional = true;
    d.outputs = {cli_slot("labels", slot_type::image), cli_slot("count", slot_type::integer)};
    d.outputs[0].image_kind = sb::image_kind::label;
    return d;
}

/// The element of `xml` that holds `<name>NAME</name>`, from its opening tag to its closing one.
std::string element_named(const std::string& xml, const std::string& name) {
    const auto at = xml.find("<name>" + name + "</name>");
    REQUIRE(at != std::string::npos);
    const auto open = xml.rfind("\n    <", at);
    const auto tag_end = xml.find_first_of(" >", open + 6);
    const std::string tag = xml.substr(open + 6, tag_end - open - 6);
    const auto close = xml.find("</" + tag + ">", at);
    return xml.substr(open + 5, close + tag.size() + 3 - open - 5);
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("a required input is positional, an optional one has a flag and says so [Appendix B]") {
    const std::string xml = sb::cli_module_xml(lungs());
    const std::string volume = element_named(xml, "volume");
    CHECK(contains(volume, "<index>0</index>"));
    CHECK_FALSE(contains(volume, "<longflag>"));
    CHECK(contains(volume, "type=\"scalar\""));
    const std::string mask = element_named(xml, "mask");
    CHECK(contains(mask, "<longflag>mask</longflag>"));
    CHECK(contains(mask, "type=\"any\"")); // no kind: every volume node, vector ones too
    CHECK(contains(mask, "<label>mask (optional)</label>"));
    CHECK(contains(element_named(xml, "labels"), "type=\"label\""));
}

TEST_CASE("a scalar output is a return parameter: an output without flag or index [CAT-7]") {
    const auto arguments = sb::cli_module_arguments(lungs());
    REQUIRE(arguments.size() == 4);
    CHECK(arguments[3].name == "count");
    CHECK(arguments[3].returned());
    CHECK_FALSE(arguments[2].returned());
    const std::string count = element_named(sb::cli_module_xml(lungs()), "count");
    CHECK(contains(count, "<channel>output</channel>"));
    CHECK_FALSE(contains(count, "<longflag>"));
    CHECK_FALSE(contains(count, "<index>"));
}

TEST_CASE("numbers Slicer's widgets cannot hold become text fields, written readably") {
    auto d = lungs();
    d.parameters = {cli_slot("big", slot_type::integer), cli_slot("small", slot_type::integer),
                    cli_slot("huge", slot_type::floating), cli_slot("tiny", slot_type::floating)};
    d.parameters[0].default_value = std::int64_t{1} << 40; // QString::toInt would read 0
    d.parameters[1].default_value = 5;
    d.parameters[1].minimum = 0;
    d.parameters[1].maximum = 10;
    d.parameters[2].default_value = 1e30;
    d.parameters[3].default_value = 1e-5;
    const std::string xml = sb::cli_module_xml(d);
    const std::string big = element_named(xml, "big");
    CHECK(big.rfind("<string>", 0) == 0);
    CHECK(contains(big, "<default>1099511627776</default>"));
    const std::string small = element_named(xml, "small");
    CHECK(small.rfind("<integer>", 0) == 0);
    CHECK(contains(small, "<minimum>0</minimum>"));
    CHECK(contains(small, "<maximum>10</maximum>"));
    const std::string huge = element_named(xml, "huge");
    CHECK(huge.rfind("<string>", 0) == 0);
    CHECK(contains(huge, "<default>1e+30</default>"));
    // the form takes its decimals from the digits after the point: 1e-05 would show 0.00
    CHECK(contains(element_named(xml, "tiny"), "<default>0.00001</default>"));
    CHECK(sb::cli_module_value_text(1e-5) == "0.00001");
    CHECK(sb::cli_module_value_text(std::vector<double>{1.5, -2}) == "1.5,-2");
}

TEST_CASE("reserved flags are renamed, text is escaped, advanced groups collapse") {
    auto d = lungs();
    d.title = "Lungs <fast> & \xc3\xa9";
    d.description = "line one\nline two";
    d.parameters = {cli_slot("xml", slot_type::string),
                    cli_slot("iterations", slot_type::integer)};
    d.parameters[1].group = "Advanced";
    const std::string xml = sb::cli_module_xml(d);
    CHECK(contains(xml, "<title>Lungs &lt;fast&gt; &amp; &#233;</title>"));
    CHECK(contains(xml, "<description>line one line two</description>"));
    CHECK(contains(element_named(xml, "slot_xml"), "<longflag>slot_xml</longflag>"));
    CHECK(contains(xml, "<parameters advanced=\"true\">\n    <label>Advanced</label>"));
}

TEST_CASE("module names Slicer accepts as executables and does not hide") {
    CHECK(sb::cli_module_name("seg.lungs-v2") == "SlicerBridge_seg_lungs_v2");
    CHECK(sb::cli_module_name("RegressionTest") == "SlicerBridge_RegressionTest_");
}

TEST_CASE("descriptions the Execution Model cannot express are refused with a reason") {
    auto d = lungs();
    d.parameters = {cli_slot("mode", slot_type::enumeration)};
    d.parameters[0].choices = {"fast", " fast "}; // equal once Slicer trims them
    std::error_code ec;
    std::string what;
    CHECK(sb::cli_module_xml(d, ec, what).empty());
    CHECK(ec == sb::error::invalid_argument);
    CHECK_FALSE(what.empty());
}

TEST_CASE("an image series is a MultiVolume image: dynamic-contrast-enhanced, NRRD [Appendix B] "
          "[SER-6]") {
    sb::processor_description d = lungs();
    d.inputs.push_back(cli_slot("series", slot_type::image_series));
    d.outputs.push_back(cli_slot("series_out", slot_type::image_series));
    const std::string xml = sb::cli_module_xml(d);
    for (const char* name : {"series", "series_out"}) {
        const std::string element = element_named(xml, name);
        CHECK(contains(element, "<image type=\"dynamic-contrast-enhanced\" "
                                "fileExtensions=\".nrrd\">"));
    }
    CHECK(contains(element_named(xml, "series"), "<index>1</index>"));
    CHECK(contains(element_named(xml, "series_out"), "<channel>output</channel>"));
    CHECK(sb::cli_module_file_extension(slot_type::image_series) == ".nrrd");
}
