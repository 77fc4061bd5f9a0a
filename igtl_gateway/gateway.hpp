#ifndef SLICERBRIDGE_IGTL_GATEWAY_GATEWAY_HPP
#define SLICERBRIDGE_IGTL_GATEWAY_GATEWAY_HPP

// The gateway: an OpenIGTLink (protocol 2) server whose peers' messages run SlicerBridge
// processors through one SlicerBridge client.
//
// Per OpenIGTLink connection, one thread reads messages and one runs its commands in order
// (at most `max_queued_commands` waiting; more are refused). Data messages are stored by device
// name for commands and handed to the streaming rules that match them. Results of streams go to
// every peer connected to the gateway, as an OpenIGTLink server such as PLUS broadcasts its
// data; results of commands and every STATUS about a peer's own message go to that peer only.
// The gateway may also connect to OpenIGTLink servers (PlusServer) and read their streams.

#include "streaming.hpp"
#include "transport.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace slicerbridge {
namespace igtl_gateway {

struct gateway_options {
    /// Where the OpenIGTLink side listens; 18944 is OpenIGTLink's usual port, 0 any free one.
    std::string host = "127.0.0.1";
    int port = 18944;
    /// OpenIGTLink has neither authentication nor encryption: anything but loopback needs this.
    bool allow_remote = false;
    /// Largest message body accepted; larger ones are skipped and answered with STATUS.
    std::uint64_t max_message = 1ull << 30;
    /// Check the CRC-64 of every message received (as Slicer's OpenIGTLinkIO does).
    bool check_crc = true;
    std::size_t max_connections = 16;
    std::size_t max_devices = 256;
    std::size_t max_queued_commands = 16;
    /// A log line per stream this often; zero: none.
    std::chrono::milliseconds report_interval{5000};
    std::vector<stream_rule> rules;
    /// OpenIGTLink servers to connect to as a client (host, port), e.g. PlusServer: their
    /// messages are handled like any peer's; stream results go to the gateway's own peers, not
    /// back upstream. A lost connection is retried every second.
    std::vector<std::pair<std::string, int>> upstream;
    /// Where log lines go (default: standard error). Never voxel data or tokens ([SEC-5]).
    std::function<void(const std::string&)> log;
};

class gateway {
public:
    gateway(sync_client& client, gateway_options options);
    ~gateway();
    gateway(const gateway&) = delete;
    gateway& operator=(const gateway&) = delete;

    /// Resolves the rules against the server's catalog, binds and starts serving. Throws
    /// std::invalid_argument for a bad rule or address, std::system_error if binding fails.
    void start();

    /// The bound port (after start).
    int port() const;

    /// Closes every connection and stops every thread; idempotent.
    void stop();

    std::vector<stream_stats> stats() const;
    std::size_t connection_count() const;

private:
    struct session;
    void accept_loop();
    void read_loop(const std::shared_ptr<session>& s);
    void command_loop(const std::shared_ptr<session>& s);
    void report_loop();
    void upstream_loop(const std::string& host, int port);
    void broadcast(igtl::MessageBase& message);
    void reply_status(session& s, int code, std::int64_t subcode, const std::string& name,
                      const std::string& text, const std::string& device);
    void log(const std::string& line) const;

    sync_client& client_;
    gateway_options options_;
    device_store devices_;
    std::unique_ptr<tcp_listener> listener_;
    std::vector<std::unique_ptr<stream>> streams_;

    mutable std::mutex sessions_mutex_;
    std::list<std::shared_ptr<session>> sessions_;
    std::list<std::shared_ptr<session>> upstream_sessions_;
    std::vector<std::thread> upstream_threads_;

    std::mutex stop_mutex_;
    std::condition_variable stop_wake_;
    bool stopping_ = false;
    bool started_ = false;
    std::thread acceptor_;
    std::thread reporter_;
};

} // namespace igtl_gateway
} // namespace slicerbridge

#endif
