// Command XML, parameter text and streaming rules, without sockets.
#include "commands.hpp"

#include "streaming.hpp"
#include "support.hpp"

#include <cstdio>
#include <fstream>
#include <unistd.h>

using namespace test_support;

TEST_CASE("command XML: attributes, children, entities") {
    std::string error;
    auto e = parse_xml("<?xml version=\"1.0\"?>\n<Command Name=\"InvokeProcessor\" "
                       "Processor='a&amp;b'><Input Name=\"volume\" Device=\"US\"/>text"
                       "<!-- note --><Parameter Name=\"s\" Value=\"&lt;1&gt;\"/></Command>",
                       error);
    REQUIRE_MESSAGE(e, error);
    CHECK(e->name == "Command");
    CHECK(attr(*e, "Processor") == "a&b");
    REQUIRE(e->children.size() == 2);
    CHECK(attr(e->children[1], "Value") == "<1>");
}

TEST_CASE("command XML: malformed documents and deep nesting are errors with a position") {
    for (const char* bad : {"", "<Command Name=\"x\"", "<Command><Input></Command>",
                            "<Command Name=\"x\"/><Command/>", "<Command Name=x/>"}) {
        CAPTURE(bad);
        std::string error;
        CHECK_FALSE(parse_xml(bad, error));
        CHECK_FALSE(error.empty());
    }
    std::string deep;
    for (int i = 0; i < 40; ++i) {
        deep += "<a>";
    }
    for (int i = 0; i < 40; ++i) {
        deep += "</a>";
    }
    std::string error;
    CHECK_FALSE(parse_xml(deep, error));
    CHECK(error.find("nesting") != std::string::npos);
}

TEST_CASE("replies escape what they quote") {
    CHECK(xml_escape("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&apos;");
    xml_writer w;
    w.start("CommandReply").attribute("Message", "x=\"1\"").end();
    std::string error;
    auto back = parse_xml(w.str(), error);
    REQUIRE(back);
    CHECK(attr(*back, "Message") == "x=\"1\"");
}

TEST_CASE("CMD_<id> devices are commands, answered under ACK_<id>") {
    CHECK(is_command_device("CMD_123"));
    CHECK(is_command_device("cmd_abc"));
    CHECK_FALSE(is_command_device("CMD"));
    CHECK_FALSE(is_command_device("US"));
    CHECK(reply_device_for("CMD_123") == "ACK_123");
}

TEST_CASE("parameters from text follow their slot's type") {
    slot f;
    f.name = "sigma";
    f.type = slot_type::floating;
    std::string what;
    CHECK(*parameter_from_text(&f, "1.5", what)->get_if<double>() == 1.5);
    CHECK_FALSE(parameter_from_text(&f, "1.5mm", what));
    CHECK(what.find("sigma") != std::string::npos);
    slot i;
    i.name = "n";
    i.type = slot_type::integer;
    CHECK(*parameter_from_text(&i, " 42 ", what)->get_if<std::int64_t>() == 42);
    CHECK_FALSE(parameter_from_text(&i, "4.2", what));
    slot b;
    b.name = "on";
    b.type = slot_type::boolean;
    CHECK(*parameter_from_text(&b, "TRUE", what)->get_if<bool>());
    CHECK_FALSE(*parameter_from_text(&b, "0", what)->get_if<bool>());
    slot v;
    v.name = "v";
    v.type = slot_type::float_vector;
    CHECK(*parameter_from_text(&v, "1,2.5,-3", what)->get_if<std::vector<double>>() ==
          std::vector<double>{1, 2.5, -3});
    // Without a slot (an unknown name) the text stays a string; the server reports the name.
    CHECK(*parameter_from_text(nullptr, "x", what)->get_if<std::string>() == "x");
}

TEST_CASE("rules: keys, parameters, errors") {
    stream_rule r = parse_rule("device=US processor=gaussian_smoothing to=US_smooth sigma=1.5 "
                               "input.mask=Mask");
    CHECK(r.device == "US");
    CHECK(r.processor == "gaussian_smoothing");
    CHECK(r.to == "US_smooth");
    REQUIRE(r.parameters.size() == 1);
    CHECK(r.parameters[0] == std::make_pair(std::string("sigma"), std::string("1.5")));
    REQUIRE(r.extra_inputs.size() == 1);
    CHECK(r.extra_inputs[0].first == "mask");
    CHECK_THROWS_WITH_AS(parse_rule("processor=x"), doctest::Contains("device=NAME"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(parse_rule("device=US"), doctest::Contains("processor=NAME"),
                         std::invalid_argument);
    CHECK_THROWS_AS(parse_rule("device=US processor=x type=VIDEO"), std::invalid_argument);
    CHECK_THROWS_AS(parse_rule("device=US processor=x to=a_name_longer_than_twenty"),
                    std::invalid_argument);
    CHECK_THROWS_AS(parse_rule("device=US processor=x sigma"), std::invalid_argument);
}

TEST_CASE("rules: defaults and checks come from the processor's description") {
    processor_description d;
    d.name = "smooth";
    slot in;
    in.name = "volume";
    in.type = slot_type::image;
    d.inputs.push_back(in);
    slot out = in;
    out.name = "smoothed";
    d.outputs.push_back(out);
    slot table_out;
    table_out.name = "stats";
    table_out.type = slot_type::table;
    d.outputs.push_back(table_out);
    slot sigma;
    sigma.name = "sigma";
    sigma.type = slot_type::floating;
    sigma.minimum = 0.0;
    sigma.maximum = 10.0;
    d.parameters.push_back(sigma);

    resolved_rule r = resolve_rule(parse_rule("device=US processor=smooth sigma=2"), d);
    CHECK(r.rule.input == "volume");
    CHECK(r.rule.output == "smoothed"); // the only output OpenIGTLink can carry
    CHECK(r.rule.igtl_type == "IMAGE");
    CHECK(r.rule.to == "US_smoothed");
    REQUIRE(r.parameters.size() == 1);
    CHECK(*r.parameters[0].second.get_if<double>() == 2.0);

    CHECK_THROWS_WITH_AS(resolve_rule(parse_rule("device=US processor=smooth sigma=20"), d),
                         doctest::Contains("sigma"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(resolve_rule(parse_rule("device=US processor=smooth radius=2"), d),
                         doctest::Contains("no parameter"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(resolve_rule(parse_rule("device=US processor=smooth type=TRANSFORM"), d),
                         doctest::Contains("input=SLOT"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(resolve_rule(parse_rule("device=US processor=smooth output=stats"), d),
                         doctest::Contains("table"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(resolve_rule(parse_rule("device=UltrasoundProbe1 processor=smooth"), d),
                         doctest::Contains("to=NAME"), std::invalid_argument);
}

TEST_CASE("rules files: one rule a line, comments, the failing line named") {
    const std::string path = "/tmp/slicerbridge-igtl-rules-" + std::to_string(::getpid());
    {
        std::ofstream out(path);
        out << "# ultrasound\n\ndevice=US processor=a\n  device=CT processor=b to=CT_out\n";
    }
    auto rules = read_rules_file(path);
    REQUIRE(rules.size() == 2);
    CHECK(rules[1].to == "CT_out");
    {
        std::ofstream out(path);
        out << "device=US processor=a\nprocessor=b\n";
    }
    CHECK_THROWS_WITH_AS(read_rules_file(path), doctest::Contains(":2:"), std::invalid_argument);
    std::remove(path.c_str());
}

TEST_CASE("the device store keeps the newest value per name, bounded") {
    device_store store(2);
    store.put("a", data_value(transform{}), {1, 0});
    store.put("b", data_value(transform{}), {2, 0});
    store.put("a", data_value(transform{}), {3, 0});
    store.put("c", data_value(transform{}), {4, 0}); // evicts b, updated longest ago
    CHECK(store.size() == 2);
    CHECK(store.get("a")->stamp.seconds == 3);
    CHECK_FALSE(store.get("b"));
    CHECK(store.get("c")->igtl_type == "TRANSFORM");
}
