#ifndef SLICERBRIDGE_IMPL_SYNC_CLIENT_IPP
#define SLICERBRIDGE_IMPL_SYNC_CLIENT_IPP

#include <slicerbridge/sync_client.hpp>

namespace slicerbridge {

std::string launch_error::exited(int status) {
    if (status > 128) {
        return "the processor was killed by signal " + std::to_string(status - 128) +
               " before the handshake";
    }
    return "the processor exited with status " + std::to_string(status) + " before the handshake";
}

std::string launch_error::wrote(const std::string& stray) {
    std::string quoted = "\"";
    for (const char c : stray) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '\n') {
            quoted += "\\n";
        } else if (c == '"' || c == '\\') {
            quoted += {'\\', c};
        } else if (byte >= 0x20 && byte < 0x7f) {
            quoted += c;
        } else {
            static constexpr char hex[] = "0123456789abcdef";
            quoted += {'\\', 'x', hex[byte >> 4], hex[byte & 15]};
        }
    }
    return "the processor wrote bytes that are not a SlicerBridge frame to its standard "
           "output: " +
           quoted +
           "\"...; the likely cause is a print() or a chatty library in it: a processor "
           "logs to standard error, and standard output belongs to the protocol";
}

std::unique_ptr<sync_client> sync_client::launch(const std::vector<std::string>& argv,
                                                 client_options options) {
    std::unique_ptr<sync_client> c(new sync_client);
    auto launched = launch_process(c->io_.get_executor(), argv);
    c->child_ = std::move(launched.process);
    try {
        c->start(any_stream(std::move(launched.stream)), std::move(options));
    } catch (const std::system_error& e) {
        const bool output_closed = e.code() == asio::error::eof ||
                                   e.code() == asio::error::connection_reset ||
                                   e.code() == asio::error::broken_pipe;
        if (output_closed) { // usually because it ended: say how
            if (auto status = c->child_.wait_for(std::chrono::seconds(2))) {
                throw launch_error(*status);
            }
        }
        if (e.code() == error::malformed_frame && !c->client_->rejected_bytes().empty()) {
            throw launch_error(c->client_->rejected_bytes());
        }
        throw;
    }
    return c;
}

sync_client::~sync_client() {
    if (client_) {
        client_->close();
        client_.reset();
    }
    work_.reset();
    io_.stop();
    if (thread_.joinable()) {
        thread_.join();
    }
    if (child_.running()) {
        child_.terminate();
    }
}

const server_hello& sync_client::server_info() const {
    return client_->server_info();
}

std::vector<processor_description> sync_client::catalog() {
    return wait<std::vector<processor_description>>(
        [&](auto done) { client_->async_catalog(std::move(done)); });
}

std::vector<dropped_description> sync_client::dropped_processors() const {
    return client_->dropped_processors();
}

processor_description sync_client::describe(const std::string& name) {
    return wait<processor_description>(
        [&](auto done) { client_->async_describe(name, std::move(done)); });
}

double sync_client::ping() {
    return wait<double>([&](auto done) { client_->async_ping(std::move(done)); });
}

invoke_reply sync_client::invoke(invoke_params params, invoke_options options) {
    std::error_code ec;
    auto reply = invoke(std::move(params), std::move(options), ec);
    if (ec) {
        throw call_error(ec, reply.error);
    }
    return reply;
}

invoke_reply sync_client::invoke(invoke_params params, invoke_options options,
                                 std::error_code& ec) {
    std::promise<std::pair<std::error_code, invoke_reply>> promise;
    auto future = promise.get_future();
    client_->async_invoke(std::move(params), std::move(options),
                          [&promise](std::error_code e, invoke_reply r) {
                              promise.set_value({e, std::move(r)});
                          });
    auto outcome = future.get();
    ec = outcome.first;
    return std::move(outcome.second);
}

call_id sync_client::reserve_call_id() {
    return client_->reserve_call_id();
}

void sync_client::cancel(call_id id) {
    client_->cancel(id);
}

void sync_client::goodbye() {
    wait<int>([&](auto done) {
        client_->async_goodbye([done = std::move(done)](std::error_code e) mutable { done(e, 0); });
    });
    if (child_.running()) {
        child_.wait();
    }
}

sync_client::sync_client() : work_(asio::make_work_guard(io_)) {
    thread_ = std::thread([this] { io_.run(); });
}

void sync_client::start(any_stream stream, client_options options) {
    client_ = std::make_unique<basic_client<any_stream>>(std::move(stream), std::move(options));
    wait<int>([&](auto done) {
        client_->async_handshake(
            [done = std::move(done)](std::error_code e) mutable { done(e, 0); });
    });
}

} // namespace slicerbridge

#endif
