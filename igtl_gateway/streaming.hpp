#ifndef SLICERBRIDGE_IGTL_GATEWAY_STREAMING_HPP
#define SLICERBRIDGE_IGTL_GATEWAY_STREAMING_HPP

// Streaming rules: every message of a type arriving under a device name runs a processor with
// set parameters, and its result goes out under another device name. A frame that arrives
// while the previous one is computing replaces the one waiting, so at most one frame waits per
// rule and a slow processor lowers the rate instead of growing a queue.
//
// A rule is one line of `key=value` words:
//
//   device=US processor=gaussian_smoothing to=US_smooth sigma=1.5
//
//   device=NAME       input device (required)
//   processor=NAME    (required)
//   type=IMAGE        TRANSFORM, POLYDATA or POINT; default: from the input slot's type
//   input=SLOT        the processor input the frame goes to; default: its only data input
//                     that no input.SLOT names
//   output=SLOT       the output sent back; default: its only output of a mappable type
//   to=NAME           output device; default: DEVICE_OUTPUT when that fits in 20 characters
//   input.SLOT=NAME   another input, taken from the data last received under device NAME
//   any other NAME=VALUE is a parameter, converted to its slot's type

#include "commands.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace slicerbridge {
namespace igtl_gateway {

struct stream_rule {
    std::string device;
    std::string processor;
    std::string igtl_type;
    std::string input;
    std::string output;
    std::string to;
    std::vector<std::pair<std::string, std::string>> extra_inputs; ///< slot, device
    std::vector<std::pair<std::string, std::string>> parameters;   ///< name, text
    std::string text;                                              ///< as written
};

/// Parses one rule. Throws std::invalid_argument naming the problem.
stream_rule parse_rule(const std::string& text);

/// Reads rules from a file: one rule per line; blank lines and lines starting with '#' are
/// skipped. Throws std::invalid_argument naming the line.
std::vector<stream_rule> read_rules_file(const std::string& path);

/// Fills in a rule's defaults from the processor's description and converts its parameters.
/// Throws std::invalid_argument naming the problem.
struct resolved_rule {
    stream_rule rule;
    std::vector<std::pair<std::string, parameter_value>> parameters;
};
resolved_rule resolve_rule(const stream_rule& rule, const processor_description& d);

/// What a stream has done so far. Latencies run from a frame's arrival at the gateway to its
/// result's last byte handed to the sockets.
struct stream_stats {
    std::string rule;
    std::uint64_t received = 0;
    std::uint64_t processed = 0; ///< results sent
    std::uint64_t replaced = 0;  ///< frames dropped because a newer one arrived first
    std::uint64_t failed = 0;    ///< calls or mappings that failed (a STATUS was sent)
    double seconds = 0;          ///< since the stream started
    double latency_p50 = 0;      ///< seconds, over the last 1024 results
    double latency_p95 = 0;
    double latency_max = 0; ///< over all results
    double rate() const { return seconds > 0 ? processed / seconds : 0; }
    /// "US -> gaussian_smoothing -> US_smooth: 29.8 frames/s, latency p50 12.1 ms ..."
    std::string line() const;
};

/// Runs one rule on its own thread.
class stream {
public:
    using clock = std::chrono::steady_clock;
    /// Sends a packed message to every connected peer.
    using broadcast_function = std::function<void(igtl::MessageBase&)>;

    stream(resolved_rule rule, sync_client& client, device_store& devices,
           broadcast_function broadcast);
    ~stream();
    stream(const stream&) = delete;
    stream& operator=(const stream&) = delete;

    const stream_rule& rule() const { return rule_.rule; }

    /// True when a message of `igtl_type` under `device` is this stream's input.
    bool matches(const std::string& device, const std::string& igtl_type) const {
        return device == rule_.rule.device && igtl_type == rule_.rule.igtl_type;
    }

    /// Hands a frame to the stream: it runs next, replacing any frame still waiting.
    void offer(data_value frame, time_stamp stamp, clock::time_point arrived);

    /// Stops after the call in progress, if any.
    void stop();

    stream_stats stats() const;

private:
    struct frame {
        data_value value;
        time_stamp stamp;
        clock::time_point arrived;
    };
    void run();
    void fail(const std::string& error_name, int code, std::int64_t subcode,
              const std::string& text);

    resolved_rule rule_;
    sync_client& client_;
    device_store& devices_;
    broadcast_function broadcast_;
    clock::time_point started_ = clock::now();

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::optional<frame> waiting_;
    bool stopping_ = false;
    stream_stats stats_;
    std::deque<double> recent_latencies_;
    std::thread thread_;
};

} // namespace igtl_gateway
} // namespace slicerbridge

#endif
