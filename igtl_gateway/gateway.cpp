#include "gateway.hpp"

#include <deque>
#include <iostream>
#include <stdexcept>

namespace slicerbridge {
namespace igtl_gateway {

struct gateway::session {
    explicit session(int fd) : connection(fd) {}
    tcp_connection connection;
    std::string peer;
    std::thread reader;
    std::thread commander;
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<std::pair<std::string, std::string>> commands; ///< device, text
    bool done = false;                                        ///< the reader has ended
};

gateway::gateway(sync_client& client, gateway_options options)
    : client_(client), options_(std::move(options)), devices_(options_.max_devices) {}

gateway::~gateway() {
    stop();
}

void gateway::log(const std::string& line) const {
    if (options_.log) {
        options_.log(line);
    } else {
        std::cerr << "slicerbridge-igtl: " << line << std::endl;
    }
}

void gateway::start() {
    if (!options_.allow_remote && !is_loopback_host(options_.host)) {
        throw std::invalid_argument(
            "refusing to listen on " + options_.host +
            ": OpenIGTLink has no authentication or encryption, so anyone who reaches the port "
            "could run processors; use a loopback address or allow it explicitly");
    }
    std::vector<resolved_rule> resolved;
    for (const stream_rule& rule : options_.rules) {
        processor_description d;
        try {
            d = client_.describe(rule.processor);
        } catch (const call_error& e) {
            throw std::invalid_argument("rule \"" + rule.text + "\": processor " + rule.processor +
                                        ": " + (e.info() ? e.info()->message : e.code().message()));
        }
        resolved.push_back(resolve_rule(rule, d));
    }
    listener_ = std::make_unique<tcp_listener>(options_.host, options_.port);
    for (auto& r : resolved) {
        streams_.push_back(std::make_unique<stream>(
            std::move(r), client_, devices_, [this](igtl::MessageBase& m) { broadcast(m); }));
        log("stream " + streams_.back()->stats().rule);
    }
    started_ = true;
    acceptor_ = std::thread([this] { accept_loop(); });
    for (const auto& [host, port] : options_.upstream) {
        upstream_threads_.emplace_back(
            [this, host = host, port = port] { upstream_loop(host, port); });
    }
    if (options_.report_interval.count() > 0 && !streams_.empty()) {
        reporter_ = std::thread([this] { report_loop(); });
    }
}

int gateway::port() const {
    return listener_ ? listener_->port() : 0;
}

void gateway::stop() {
    {
        std::lock_guard<std::mutex> lock(stop_mutex_);
        if (stopping_ || !started_) {
            stopping_ = true;
            return;
        }
        stopping_ = true;
    }
    stop_wake_.notify_all();
    listener_->close();
    if (acceptor_.joinable()) {
        acceptor_.join();
    }
    if (reporter_.joinable()) {
        reporter_.join();
    }
    std::list<std::shared_ptr<session>> sessions;
    {
        std::lock_guard<std::mutex> lock(sessions_mutex_);
        sessions.swap(sessions_);
        for (auto& s : upstream_sessions_) {
            s->connection.shutdown();
        }
    }
    for (auto& t : upstream_threads_) {
        t.join();
    }
    for (auto& s : sessions) {
        s->connection.shutdown();
        {
            std::lock_guard<std::mutex> lock(s->mutex);
            s->done = true;
        }
        s->wake.notify_all();
    }
    for (auto& s : sessions) {
        s->reader.join();
        s->commander.join();
    }
    for (auto& st : streams_) {
        st->stop();
    }
    for (auto& st : streams_) {
        log("stream " + st->stats().line());
    }
}

std::vector<stream_stats> gateway::stats() const {
    std::vector<stream_stats> all;
    for (const auto& st : streams_) {
        all.push_back(st->stats());
    }
    return all;
}

std::size_t gateway::connection_count() const {
    std::lock_guard<std::mutex> lock(sessions_mutex_);
    std::size_t open = 0;
    for (const auto& s : sessions_) {
        open += s->connection.open() ? 1 : 0;
    }
    return open;
}

void gateway::accept_loop() {
    for (;;) {
        const int fd = listener_->accept();
        if (fd < 0) {
            return;
        }
        auto s = std::make_shared<session>(fd);
        s->peer = s->connection.peer();
        std::list<std::shared_ptr<session>> finished;
        {
            std::lock_guard<std::mutex> lock(sessions_mutex_);
            for (auto i = sessions_.begin(); i != sessions_.end();) {
                bool done = false;
                {
                    std::lock_guard<std::mutex> session_lock((*i)->mutex);
                    done = (*i)->done;
                }
                if (done) {
                    finished.push_back(*i);
                    i = sessions_.erase(i);
                } else {
                    ++i;
                }
            }
            if (sessions_.size() >= options_.max_connections) {
                log("refusing " + s->peer + ": " + std::to_string(sessions_.size()) +
                    " connections open");
                reply_status(*s, igtl::StatusMessage::STATUS_BUSY, 0, "too_many_connections",
                             "the gateway serves at most " +
                                 std::to_string(options_.max_connections) + " connections",
                             "slicerbridge-igtl");
                s->connection.shutdown();
                s.reset();
            } else {
                sessions_.push_back(s);
            }
        }
        for (auto& f : finished) {
            f->reader.join();
            f->commander.join();
        }
        if (!s) {
            continue;
        }
        log("connection from " + s->peer);
        s->commander = std::thread([this, s] { command_loop(s); });
        s->reader = std::thread([this, s] { read_loop(s); });
    }
}

void gateway::read_loop(const std::shared_ptr<session>& s) {
    const byte_reader read = [&](void* data, std::size_t size) {
        return s->connection.read(data, size);
    };
    for (;;) {
        received_message in = read_message(read, options_.max_message, options_.check_crc);
        const bool check_crc = options_.check_crc && !in.crc_checked;
        if (in.result == received_message::outcome::end_of_stream) {
            break;
        }
        const auto arrived = stream::clock::now();
        if (in.result == received_message::outcome::skipped) {
            log(s->peer + ": " + in.reason);
            reply_status(*s, in.status, 0, "message_refused", in.reason, in.device);
            continue;
        }
        if (in.type == "STRING") {
            auto* text = static_cast<igtl::StringMessage*>(in.message.GetPointer());
            mapping_error problem;
            if ((text->Unpack(check_crc ? 1 : 0) & igtl::MessageHeader::UNPACK_BODY) == 0) {
                reply_status(*s, igtl::StatusMessage::STATUS_CHECKSUM_ERROR, 0, "bad_string",
                             "STRING body rejected (CRC mismatch or malformed body)", in.device);
                continue;
            }
            if (!is_command_device(in.device)) {
                reply_status(*s, igtl::StatusMessage::STATUS_UNKNOWN_INSTRUCTION, 0,
                             "not_a_command",
                             "the gateway reads STRING messages only as commands, under device "
                             "names CMD_<id>",
                             in.device);
                continue;
            }
            std::lock_guard<std::mutex> lock(s->mutex);
            if (s->commands.size() >= options_.max_queued_commands) {
                auto reply = string_to_igtl("<CommandReply Status=\"FAIL\" Message=\"" +
                                                std::to_string(s->commands.size()) +
                                                " commands are waiting; try again later\" "
                                                "ErrorName=\"busy\" />",
                                            reply_device_for(in.device), problem);
                s->connection.send(*reply);
                continue;
            }
            s->commands.emplace_back(in.device, text->GetString());
            s->wake.notify_one();
            continue;
        }
        if (in.type == "STATUS") {
            continue; // a peer's status needs no answer (answering could loop between servers)
        }
        mapping_error problem;
        auto value = data_from_igtl(in.message, check_crc, problem);
        if (!value) {
            log(s->peer + ": " + in.type + " " + in.device + ": " + problem.message);
            reply_status(*s, problem.status, 0, "bad_" + data_type_of(in.type), problem.message,
                         in.device);
            continue;
        }
        bool matched = false;
        for (auto& st : streams_) {
            if (st->matches(in.device, in.type)) {
                st->offer(*value, in.stamp, arrived);
                matched = true;
            } else if (st->rule().device == in.device) {
                reply_status(*s, igtl::StatusMessage::STATUS_UNKNOWN_INSTRUCTION, 0, "wrong_type",
                             "device " + in.device + " streams " + st->rule().igtl_type +
                                 " messages, not " + in.type,
                             in.device);
            }
        }
        (void)matched;
        devices_.put(in.device, std::move(*value), in.stamp);
    }
    log("connection from " + s->peer + " closed");
    {
        std::lock_guard<std::mutex> lock(s->mutex);
        s->done = true;
    }
    s->wake.notify_all();
}

void gateway::command_loop(const std::shared_ptr<session>& s) {
    command_context context;
    context.client = &client_;
    context.devices = &devices_;
    context.send = [&](igtl::MessageBase& m) { s->connection.send(m); };
    context.stream_stats = [this](xml_writer& out) {
        for (const auto& st : stats()) {
            out.start("Stream")
                .attribute("Rule", st.rule)
                .attribute("Received", std::to_string(st.received))
                .attribute("Processed", std::to_string(st.processed))
                .attribute("Replaced", std::to_string(st.replaced))
                .attribute("Failed", std::to_string(st.failed))
                .attribute("FramesPerSecond", std::to_string(st.rate()))
                .attribute("LatencyP50Seconds", std::to_string(st.latency_p50))
                .attribute("LatencyMaxSeconds", std::to_string(st.latency_max))
                .end();
        }
    };
    for (;;) {
        std::pair<std::string, std::string> next;
        {
            std::unique_lock<std::mutex> lock(s->mutex);
            s->wake.wait(lock, [&] { return s->done || !s->commands.empty(); });
            if (s->commands.empty()) {
                return;
            }
            next = std::move(s->commands.front());
            s->commands.pop_front();
        }
        if (!s->connection.open()) {
            continue;
        }
        std::string reply = run_command(next.second, context);
        mapping_error problem;
        auto message = string_to_igtl(reply, reply_device_for(next.first), problem);
        if (!message) {
            message = string_to_igtl("<CommandReply Status=\"FAIL\" Message=\"" +
                                         xml_escape(problem.message) +
                                         "\" ErrorName=\"reply_too_long\" />",
                                     reply_device_for(next.first), problem);
        }
        s->connection.send(*message);
    }
}

void gateway::upstream_loop(const std::string& host, int port) {
    const std::string where = host + ":" + std::to_string(port);
    bool reported = false;
    for (;;) {
        {
            std::lock_guard<std::mutex> lock(stop_mutex_);
            if (stopping_) {
                return;
            }
        }
        const int fd = tcp_connect(host, port);
        if (fd >= 0) {
            auto s = std::make_shared<session>(fd);
            s->peer = "upstream " + where;
            {
                std::lock_guard<std::mutex> lock(sessions_mutex_);
                upstream_sessions_.push_back(s);
            }
            {
                // stop() may have run between the check above and the registration.
                std::lock_guard<std::mutex> lock(stop_mutex_);
                if (stopping_) {
                    s->connection.shutdown();
                }
            }
            log("connected to " + where);
            reported = false;
            s->commander = std::thread([this, s] { command_loop(s); });
            read_loop(s);
            s->commander.join();
            std::lock_guard<std::mutex> lock(sessions_mutex_);
            upstream_sessions_.remove(s);
        } else if (!reported) {
            log("cannot connect to " + where + "; retrying every second");
            reported = true;
        }
        std::unique_lock<std::mutex> lock(stop_mutex_);
        if (stop_wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; })) {
            return;
        }
    }
}

void gateway::report_loop() {
    std::unique_lock<std::mutex> lock(stop_mutex_);
    while (!stop_wake_.wait_for(lock, options_.report_interval, [&] { return stopping_; })) {
        for (const auto& st : streams_) {
            log("stream " + st->stats().line());
        }
    }
}

void gateway::broadcast(igtl::MessageBase& message) {
    std::vector<std::shared_ptr<session>> targets;
    {
        std::lock_guard<std::mutex> lock(sessions_mutex_);
        targets.assign(sessions_.begin(), sessions_.end());
    }
    for (auto& s : targets) {
        if (s->connection.open()) {
            s->connection.send(message);
        }
    }
}

void gateway::reply_status(session& s, int code, std::int64_t subcode, const std::string& name,
                           const std::string& text, const std::string& device) {
    auto status = status_to_igtl(code, subcode, name, text,
                                 valid_device_name(device) ? device : "slicerbridge-igtl");
    s.connection.send(*status);
}

} // namespace igtl_gateway
} // namespace slicerbridge
