#include "commands.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace slicerbridge {
namespace igtl_gateway {

// ---------------------------------------------------------------- device_store

void device_store::put(const std::string& device, data_value value, time_stamp stamp) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = devices_.find(device);
    if (found == devices_.end() && devices_.size() >= capacity_ && !devices_.empty()) {
        auto oldest = devices_.begin();
        for (auto i = devices_.begin(); i != devices_.end(); ++i) {
            if (i->second.updated < oldest->second.updated) {
                oldest = i;
            }
        }
        devices_.erase(oldest);
    }
    slot& s = devices_[device];
    s.data.igtl_type = igtl_type_of(value);
    s.data.value = std::move(value);
    s.data.stamp = stamp;
    s.updated = ++clock_;
}

std::optional<device_store::entry> device_store::get(const std::string& device) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = devices_.find(device);
    if (found == devices_.end()) {
        return std::nullopt;
    }
    return found->second.data;
}

std::size_t device_store::size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return devices_.size();
}

// ---------------------------------------------------------------- parameters from text

namespace {

std::vector<std::string> split_commas(const std::string& text) {
    std::vector<std::string> parts;
    if (text.empty()) {
        return parts;
    }
    std::string part;
    std::istringstream in(text);
    while (std::getline(in, part, ',')) {
        parts.push_back(part);
    }
    if (text.back() == ',') {
        parts.emplace_back();
    }
    return parts;
}

std::string trim(const std::string& s) {
    const auto begin = s.find_first_not_of(" \t");
    if (begin == std::string::npos) {
        return {};
    }
    const auto end = s.find_last_not_of(" \t");
    return s.substr(begin, end - begin + 1);
}

bool parse_int(const std::string& text, std::int64_t& out) {
    const std::string t = trim(text);
    if (t.empty()) {
        return false;
    }
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(t.c_str(), &end, 10);
    if (errno != 0 || end != t.c_str() + t.size()) {
        return false;
    }
    out = v;
    return true;
}

bool parse_double(const std::string& text, double& out) {
    const std::string t = trim(text);
    if (t.empty()) {
        return false;
    }
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    if (errno != 0 || end != t.c_str() + t.size() || !std::isfinite(v)) {
        return false;
    }
    out = v;
    return true;
}

} // namespace

std::optional<parameter_value> parameter_from_text(const slot* s, const std::string& text,
                                                   std::string& what) {
    if (s == nullptr) {
        return parameter_value(text);
    }
    auto bad = [&](const char* expected) -> std::optional<parameter_value> {
        what = "parameter \"" + s->name + "\" expects " + expected;
        return std::nullopt;
    };
    switch (s->type) {
    case slot_type::boolean: {
        const std::string t = trim(text);
        if (iequals(t, "true") || t == "1") {
            return parameter_value(true);
        }
        if (iequals(t, "false") || t == "0") {
            return parameter_value(false);
        }
        return bad("true or false");
    }
    case slot_type::integer: {
        std::int64_t v = 0;
        return parse_int(text, v) ? std::optional<parameter_value>(v) : bad("an integer");
    }
    case slot_type::floating: {
        double v = 0;
        return parse_double(text, v) ? std::optional<parameter_value>(v) : bad("a number");
    }
    case slot_type::string:
    case slot_type::enumeration:
        return parameter_value(text);
    case slot_type::int_vector: {
        std::vector<std::int64_t> values;
        for (const auto& part : split_commas(text)) {
            std::int64_t v = 0;
            if (!parse_int(part, v)) {
                return bad("comma-separated integers");
            }
            values.push_back(v);
        }
        return parameter_value(std::move(values));
    }
    case slot_type::float_vector: {
        std::vector<double> values;
        for (const auto& part : split_commas(text)) {
            double v = 0;
            if (!parse_double(part, v)) {
                return bad("comma-separated numbers");
            }
            values.push_back(v);
        }
        return parameter_value(std::move(values));
    }
    case slot_type::string_vector:
        return parameter_value(split_commas(text));
    default:
        return bad("a parameter value (it is a data slot)");
    }
}

// ---------------------------------------------------------------- descriptions

namespace {

/// The shortest text that reads back as `v`.
std::string number_text(double v) {
    char text[32];
    const auto end = std::to_chars(text, text + sizeof text, v).ptr;
    return std::string(text, end);
}

std::string parameter_text(const parameter_value& p) {
    struct visitor {
        std::string operator()(bool b) const { return b ? "true" : "false"; }
        std::string operator()(std::int64_t v) const { return std::to_string(v); }
        std::string operator()(double v) const { return number_text(v); }
        std::string operator()(const std::string& s) const { return s; }
        std::string operator()(const std::vector<std::int64_t>& v) const {
            std::string out;
            for (std::size_t i = 0; i < v.size(); ++i) {
                out += (i ? "," : "") + std::to_string(v[i]);
            }
            return out;
        }
        std::string operator()(const std::vector<double>& v) const {
            std::string out;
            for (std::size_t i = 0; i < v.size(); ++i) {
                out += (i ? "," : "") + number_text(v[i]);
            }
            return out;
        }
        std::string operator()(const std::vector<std::string>& v) const {
            std::string out;
            for (std::size_t i = 0; i < v.size(); ++i) {
                out += (i ? "," : "") + v[i];
            }
            return out;
        }
    };
    return std::visit(visitor{}, p.get());
}

void write_slot(xml_writer& out, const char* element, const slot& s) {
    out.start(element).attribute("Name", s.name).attribute("Type", slot_type_name(s.type));
    if (is_data_slot_type(s.type)) {
        out.attribute("MessageType", s.type == slot_type::image       ? "IMAGE"
                                     : s.type == slot_type::mesh      ? "POLYDATA"
                                     : s.type == slot_type::transform ? "TRANSFORM"
                                     : s.type == slot_type::points    ? "POINT"
                                                                      : "");
    }
    if (!s.label.empty()) {
        out.attribute("Label", s.label);
    }
    if (!s.description.empty()) {
        out.attribute("Description", s.description);
    }
    if (!s.group.empty()) {
        out.attribute("Group", s.group);
    }
    if (s.optional) {
        out.attribute("Optional", "true");
    }
    if (s.image_kind) {
        out.attribute("ImageKind", image_kind_name(*s.image_kind));
    }
    if (s.default_value) {
        out.attribute("Default", parameter_text(*s.default_value));
    }
    if (s.minimum) {
        out.attribute("Minimum", number_text(*s.minimum));
    }
    if (s.maximum) {
        out.attribute("Maximum", number_text(*s.maximum));
    }
    if (s.step) {
        out.attribute("Step", number_text(*s.step));
    }
    if (!s.choices.empty()) {
        std::string joined;
        for (std::size_t i = 0; i < s.choices.size(); ++i) {
            joined += (i ? "," : "") + s.choices[i];
        }
        out.attribute("Choices", joined);
    }
    if (s.length) {
        out.attribute("Length", std::to_string(*s.length));
    }
    out.end();
}

} // namespace

void write_description(xml_writer& out, const processor_description& d) {
    out.start("Processor")
        .attribute("Name", d.name)
        .attribute("Version", d.version)
        .attribute("Title", d.title)
        .attribute("Category", d.category)
        .attribute("Description", d.description)
        .open();
    for (const slot& s : d.inputs) {
        write_slot(out, "Input", s);
    }
    for (const slot& s : d.parameters) {
        write_slot(out, "Parameter", s);
    }
    for (const slot& s : d.outputs) {
        write_slot(out, "Output", s);
    }
    out.close("Processor");
}

// ---------------------------------------------------------------- command devices

bool is_command_device(const std::string& device) {
    return device.size() >= 4 && iequals(device.substr(0, 4), "CMD_");
}

std::string reply_device_for(const std::string& command_device) {
    return "ACK_" + command_device.substr(4);
}

// ---------------------------------------------------------------- commands

namespace {

/// The reply of a failed command.
std::string failure(const std::string& message, const std::string& error_name,
                    std::optional<int> code = std::nullopt) {
    xml_writer out;
    out.start("CommandReply").attribute("Status", "FAIL").attribute("Message", message);
    if (code) {
        out.attribute("ErrorCode", std::to_string(*code));
    }
    out.attribute("ErrorName", error_name);
    return out.end().str();
}

/// The reply for a failed SlicerBridge call.
std::string call_failure(const std::string& what, const call_error& e) {
    const int code = e.info() ? e.info()->code : e.code().value();
    const std::string message = e.info() ? e.info()->message : e.code().message();
    std::string name(error_name(static_cast<error>(code)));
    if (name.empty()) {
        name = code >= 1000 ? "processor_error" : "error";
    }
    return failure(what + ": " + message, name, code);
}

const std::string* required(const xml_element& e, const char* key, std::string& reply) {
    const std::string* v = e.attribute(key);
    if (v == nullptr || v->empty()) {
        reply = failure("<" + e.name + "> needs the attribute " + key, "missing_attribute");
    }
    return v;
}

std::string list_processors(const command_context& context) {
    const auto processors = context.client->catalog();
    xml_writer out;
    out.start("CommandReply")
        .attribute("Status", "SUCCESS")
        .attribute("Message", std::to_string(processors.size()) + " processors")
        .open();
    for (const auto& d : processors) {
        out.start("Processor")
            .attribute("Name", d.name)
            .attribute("Version", d.version)
            .attribute("Title", d.title)
            .attribute("Category", d.category)
            .end();
    }
    return out.close("CommandReply").str();
}

std::string describe_processor(const xml_element& command, const command_context& context) {
    std::string reply;
    const std::string* name = required(command, "Processor", reply);
    if (name == nullptr || name->empty()) {
        return reply;
    }
    const auto d = context.client->describe(*name);
    xml_writer out;
    out.start("CommandReply")
        .attribute("Status", "SUCCESS")
        .attribute("Message", d.title.empty() ? d.name : d.title)
        .open();
    write_description(out, d);
    return out.close("CommandReply").str();
}

std::string invoke_processor(const xml_element& command, const command_context& context) {
    std::string reply;
    const std::string* name = required(command, "Processor", reply);
    if (name == nullptr || name->empty()) {
        return reply;
    }
    const processor_description d = context.client->describe(*name);
    invoke_params call;
    call.processor = *name;
    std::map<std::string, std::string> output_devices;
    time_stamp stamp;
    for (const xml_element& child : command.children) {
        if (child.name == "Input") {
            const std::string* slot_name = required(child, "Name", reply);
            if (slot_name == nullptr || slot_name->empty()) {
                return reply;
            }
            const std::string* device = required(child, "Device", reply);
            if (device == nullptr || device->empty()) {
                return reply;
            }
            auto stored = context.devices->get(*device);
            if (!stored) {
                return failure("no data has been received under device \"" + *device + "\"",
                               "unknown_device");
            }
            stamp = stored->stamp;
            call.inputs.emplace_back(*slot_name, std::move(stored->value));
        } else if (child.name == "Parameter") {
            const std::string* slot_name = required(child, "Name", reply);
            if (slot_name == nullptr || slot_name->empty()) {
                return reply;
            }
            const std::string* value = child.attribute("Value");
            if (value == nullptr) {
                return failure("<Parameter Name=\"" + *slot_name + "\"> needs a Value",
                               "missing_attribute");
            }
            std::string what;
            auto p = parameter_from_text(d.find_parameter(*slot_name), *value, what);
            if (!p) {
                return failure(what, "invalid_argument", static_cast<int>(error::invalid_argument));
            }
            call.parameters.emplace_back(*slot_name, std::move(*p));
        } else if (child.name == "Output") {
            const std::string* slot_name = required(child, "Name", reply);
            if (slot_name == nullptr || slot_name->empty()) {
                return reply;
            }
            const std::string* device = required(child, "Device", reply);
            if (device == nullptr || device->empty()) {
                return reply;
            }
            if (!valid_device_name(*device)) {
                return failure("output device name \"" + *device +
                                   "\" is not 1 to 20 printable characters",
                               "invalid_device_name");
            }
            output_devices[*slot_name] = *device;
        } else {
            return failure("unknown element <" + child.name + "> in InvokeProcessor",
                           "malformed_command");
        }
    }

    const invoke_reply result = context.client->invoke(std::move(call));
    xml_writer items;
    std::size_t sent = 0;
    for (const auto& [output, value] : result.result.outputs) {
        auto chosen = output_devices.find(output);
        std::string device = chosen != output_devices.end() ? chosen->second : output;
        items.start("Output")
            .attribute("Name", output)
            .attribute("Type", std::string(data_type_name(value)));
        if (!valid_device_name(device)) {
            items
                .attribute("Skipped", "the output's name is longer than a device name; give "
                                      "<Output Name=... Device=...>")
                .end();
            continue;
        }
        mapping_error problem;
        igtl::MessageBase::Pointer message = data_to_igtl(value, device, stamp, problem);
        if (!message) {
            items.attribute("Device", device).attribute("Skipped", problem.message).end();
            continue;
        }
        context.send(*message);
        ++sent;
        items.attribute("Device", device).attribute("MessageType", igtl_type_of(value)).end();
    }
    xml_writer out;
    out.start("CommandReply")
        .attribute("Status", "SUCCESS")
        .attribute("Message", *name + ": " + std::to_string(sent) + " of " +
                                  std::to_string(result.result.outputs.size()) + " outputs sent");
    if (result.server_timings) {
        out.attribute("ComputingSeconds", number_text(result.server_timings->computing));
    }
    out.attribute("RoundTripSeconds", number_text(result.round_trip));
    out.open();
    return out.str() + items.str() + "</CommandReply>";
}

std::string stream_stats_reply(const command_context& context) {
    xml_writer out;
    out.start("CommandReply").attribute("Status", "SUCCESS").attribute("Message", "").open();
    if (context.stream_stats) {
        context.stream_stats(out);
    }
    return out.close("CommandReply").str();
}

} // namespace

std::string run_command(const std::string& text, const command_context& context) {
    std::string problem;
    auto command = parse_xml(text, problem);
    if (!command) {
        return failure("malformed command XML: " + problem, "malformed_command");
    }
    if (!iequals(command->name, "Command")) {
        return failure("the root element is <" + command->name + ">, not <Command>",
                       "malformed_command");
    }
    const std::string* name = command->attribute("Name");
    if (name == nullptr || name->empty()) {
        return failure("<Command> has no Name", "malformed_command");
    }
    try {
        if (iequals(*name, "ListProcessors")) {
            return list_processors(context);
        }
        if (iequals(*name, "DescribeProcessor")) {
            return describe_processor(*command, context);
        }
        if (iequals(*name, "InvokeProcessor")) {
            return invoke_processor(*command, context);
        }
        if (iequals(*name, "GetStreamStats")) {
            return stream_stats_reply(context);
        }
    } catch (const call_error& e) {
        return call_failure(*name, e);
    } catch (const std::exception& e) {
        return failure(*name + ": " + e.what(), "internal_error",
                       static_cast<int>(error::internal_error));
    }
    return failure("unknown command \"" + *name +
                       "\"; the gateway knows ListProcessors, DescribeProcessor, "
                       "InvokeProcessor and GetStreamStats",
                   "unknown_command");
}

} // namespace igtl_gateway
} // namespace slicerbridge
