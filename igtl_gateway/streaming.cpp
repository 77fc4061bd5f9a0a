#include "streaming.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace slicerbridge {
namespace igtl_gateway {

namespace {

std::string igtl_type_for_slot(slot_type t) {
    switch (t) {
    case slot_type::image:
        return "IMAGE";
    case slot_type::mesh:
        return "POLYDATA";
    case slot_type::transform:
        return "TRANSFORM";
    case slot_type::points:
        return "POINT";
    default:
        return {};
    }
}

[[noreturn]] void invalid(const stream_rule& rule, const std::string& why) {
    throw std::invalid_argument("rule \"" + rule.text + "\": " + why);
}

} // namespace

stream_rule parse_rule(const std::string& text) {
    stream_rule rule;
    rule.text = text;
    std::istringstream words(text);
    std::string word;
    while (words >> word) {
        const auto equals = word.find('=');
        if (equals == std::string::npos || equals == 0) {
            invalid(rule, "\"" + word + "\" is not NAME=VALUE");
        }
        const std::string key = word.substr(0, equals);
        const std::string value = word.substr(equals + 1);
        if (key == "device") {
            rule.device = value;
        } else if (key == "processor") {
            rule.processor = value;
        } else if (key == "type") {
            rule.igtl_type = value;
        } else if (key == "input") {
            rule.input = value;
        } else if (key == "output") {
            rule.output = value;
        } else if (key == "to") {
            rule.to = value;
        } else if (key.rfind("input.", 0) == 0 && key.size() > 6) {
            rule.extra_inputs.emplace_back(key.substr(6), value);
        } else {
            rule.parameters.emplace_back(key, value);
        }
    }
    if (!valid_device_name(rule.device)) {
        invalid(rule, "device=NAME is required (1 to 20 printable characters)");
    }
    if (rule.processor.empty()) {
        invalid(rule, "processor=NAME is required");
    }
    if (!rule.igtl_type.empty() && !is_data_type(rule.igtl_type)) {
        invalid(rule, "type must be IMAGE, TRANSFORM, POLYDATA or POINT");
    }
    if (!rule.to.empty() && !valid_device_name(rule.to)) {
        invalid(rule, "to=" + rule.to + " is not 1 to 20 printable characters");
    }
    return rule;
}

std::vector<stream_rule> read_rules_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        throw std::invalid_argument("cannot read the rules file " + path);
    }
    std::vector<stream_rule> rules;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        const auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos || line[first] == '#') {
            continue;
        }
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        try {
            rules.push_back(parse_rule(line.substr(first)));
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument(path + ":" + std::to_string(number) + ": " + e.what());
        }
    }
    return rules;
}

resolved_rule resolve_rule(const stream_rule& source, const processor_description& d) {
    resolved_rule resolved;
    stream_rule& rule = resolved.rule;
    rule = source;
    // The input slot, and the message type it takes.
    if (rule.input.empty()) {
        std::vector<const slot*> candidates;
        for (const slot& s : d.inputs) {
            const std::string t = igtl_type_for_slot(s.type);
            const bool fed_otherwise =
                std::any_of(rule.extra_inputs.begin(), rule.extra_inputs.end(),
                            [&](const auto& extra) { return extra.first == s.name; });
            if (!t.empty() && !fed_otherwise && (rule.igtl_type.empty() || rule.igtl_type == t)) {
                candidates.push_back(&s);
            }
        }
        if (candidates.size() != 1) {
            invalid(rule, "processor " + d.name + " has " + std::to_string(candidates.size()) +
                              " candidate inputs; choose one with input=SLOT");
        }
        rule.input = candidates.front()->name;
    }
    const slot* input = d.find_input(rule.input);
    if (input == nullptr) {
        invalid(rule, "processor " + d.name + " has no input \"" + rule.input + "\"");
    }
    const std::string input_type = igtl_type_for_slot(input->type);
    if (input_type.empty()) {
        invalid(rule, "input \"" + rule.input + "\" takes a " +
                          std::string(slot_type_name(input->type)) +
                          ", which no OpenIGTLink message carries");
    }
    if (rule.igtl_type.empty()) {
        rule.igtl_type = input_type;
    } else if (rule.igtl_type != input_type) {
        invalid(rule,
                "input \"" + rule.input + "\" takes " + input_type + ", not " + rule.igtl_type);
    }
    for (const auto& [slot_name, device] : rule.extra_inputs) {
        if (d.find_input(slot_name) == nullptr) {
            invalid(rule, "processor " + d.name + " has no input \"" + slot_name + "\"");
        }
        if (!valid_device_name(device)) {
            invalid(rule, "input." + slot_name + "=" + device + " is not a device name");
        }
    }
    // The output slot.
    if (rule.output.empty()) {
        std::vector<const slot*> candidates;
        for (const slot& s : d.outputs) {
            if (!igtl_type_for_slot(s.type).empty()) {
                candidates.push_back(&s);
            }
        }
        if (candidates.size() != 1) {
            invalid(rule, "processor " + d.name + " has " + std::to_string(candidates.size()) +
                              " outputs OpenIGTLink can carry; choose one with output=SLOT");
        }
        rule.output = candidates.front()->name;
    }
    const slot* output = d.find_output(rule.output);
    if (output == nullptr) {
        invalid(rule, "processor " + d.name + " has no output \"" + rule.output + "\"");
    }
    if (igtl_type_for_slot(output->type).empty()) {
        invalid(rule, "output \"" + rule.output + "\" is a " +
                          std::string(slot_type_name(output->type)) +
                          ", which no OpenIGTLink message carries");
    }
    if (rule.to.empty()) {
        rule.to = rule.device + "_" + rule.output;
        if (!valid_device_name(rule.to)) {
            invalid(rule, "the default output device " + rule.to +
                              " is longer than 20 characters; set to=NAME");
        }
    }
    // Parameters, converted to their slots' types and checked against their constraints.
    for (const auto& [name, text] : rule.parameters) {
        const slot* s = d.find_parameter(name);
        if (s == nullptr) {
            invalid(rule, "processor " + d.name + " has no parameter \"" + name + "\"");
        }
        std::string what;
        auto value = parameter_from_text(s, text, what);
        if (!value || !check_parameter(*s, *value, what)) {
            invalid(rule, what);
        }
        resolved.parameters.emplace_back(name, std::move(*value));
    }
    return resolved;
}

// ---------------------------------------------------------------- stats

std::string stream_stats::line() const {
    char text[256];
    std::snprintf(
        text, sizeof text,
        "%.1f frames/s, latency p50 %.1f ms p95 %.1f ms max %.1f ms; %llu received, "
        "%llu processed, %llu replaced, %llu failed",
        rate(), latency_p50 * 1e3, latency_p95 * 1e3, latency_max * 1e3,
        static_cast<unsigned long long>(received), static_cast<unsigned long long>(processed),
        static_cast<unsigned long long>(replaced), static_cast<unsigned long long>(failed));
    return rule + ": " + text;
}

// ---------------------------------------------------------------- stream

stream::stream(resolved_rule rule, sync_client& client, device_store& devices,
               broadcast_function broadcast)
    : rule_(std::move(rule)), client_(client), devices_(devices), broadcast_(std::move(broadcast)) {
    stats_.rule = rule_.rule.device + " -> " + rule_.rule.processor + " -> " + rule_.rule.to;
    thread_ = std::thread([this] { run(); });
}

stream::~stream() {
    stop();
}

void stream::offer(data_value value, time_stamp stamp, clock::time_point arrived) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        ++stats_.received;
        if (waiting_) {
            ++stats_.replaced;
        }
        waiting_ = frame{std::move(value), stamp, arrived};
    }
    wake_.notify_one();
}

void stream::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) {
        thread_.join();
    }
}

stream_stats stream::stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    stream_stats s = stats_;
    s.seconds = std::chrono::duration<double>(clock::now() - started_).count();
    if (!recent_latencies_.empty()) {
        std::vector<double> sorted(recent_latencies_.begin(), recent_latencies_.end());
        std::sort(sorted.begin(), sorted.end());
        s.latency_p50 = sorted[sorted.size() / 2];
        s.latency_p95 = sorted[std::min(sorted.size() - 1, sorted.size() * 95 / 100)];
    }
    return s;
}

void stream::fail(const std::string& error_name, int code, std::int64_t subcode,
                  const std::string& text) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        ++stats_.failed;
    }
    auto status = status_to_igtl(code, subcode, error_name, text, rule_.rule.to);
    broadcast_(*status);
}

void stream::run() {
    for (;;) {
        frame next;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || waiting_.has_value(); });
            if (stopping_) {
                return;
            }
            next = std::move(*waiting_);
            waiting_.reset();
        }
        invoke_params call;
        call.processor = rule_.rule.processor;
        call.inputs.emplace_back(rule_.rule.input, std::move(next.value));
        bool missing = false;
        for (const auto& [slot_name, device] : rule_.rule.extra_inputs) {
            auto stored = devices_.get(device);
            if (!stored) {
                fail("unknown_device", igtl::StatusMessage::STATUS_NOT_FOUND, 0,
                     "no data has been received under device \"" + device + "\" (input " +
                         slot_name + ")");
                missing = true;
                break;
            }
            call.inputs.emplace_back(slot_name, std::move(stored->value));
        }
        if (missing) {
            continue;
        }
        call.parameters = rule_.parameters;
        std::error_code ec;
        invoke_reply reply;
        try {
            reply = client_.invoke(std::move(call), {}, ec);
        } catch (const std::exception& e) {
            fail("internal_error", igtl::StatusMessage::STATUS_UNKNOWN_ERROR,
                 static_cast<int>(error::internal_error), e.what());
            continue;
        }
        if (ec) {
            const int code = reply.error ? reply.error->code : ec.value();
            const std::string message = reply.error ? reply.error->message : ec.message();
            std::string name(error_name(static_cast<error>(code)));
            fail(name.empty() ? "processor_error" : name, status_code_for(code), code,
                 rule_.rule.processor + ": " + message);
            continue;
        }
        const data_value* output = reply.result.output(rule_.rule.output);
        if (output == nullptr) {
            fail("missing_output", igtl::StatusMessage::STATUS_UNKNOWN_ERROR, 0,
                 rule_.rule.processor + " returned no output \"" + rule_.rule.output + "\"");
            continue;
        }
        mapping_error problem;
        igtl::MessageBase::Pointer message =
            data_to_igtl(*output, rule_.rule.to, next.stamp, problem);
        if (!message) {
            fail("not_mappable", problem.status, 0, problem.message);
            continue;
        }
        broadcast_(*message);
        const double latency = std::chrono::duration<double>(clock::now() - next.arrived).count();
        std::lock_guard<std::mutex> lock(mutex_);
        ++stats_.processed;
        stats_.latency_max = std::max(stats_.latency_max, latency);
        recent_latencies_.push_back(latency);
        if (recent_latencies_.size() > 1024) {
            recent_latencies_.pop_front();
        }
    }
}

} // namespace igtl_gateway
} // namespace slicerbridge
