// ZeroMQ REQ/REP over tcp://127.0.0.1, the messaging library peers reach for first.
//
//   --test echo --copy 0   zero copy: the client wraps its buffer with zmq_msg_init_data and
//                          reads the reply in the message ZeroMQ allocated; the server sends back
//                          the very message it received
//   --test echo --copy 1   copying: zmq_send from and zmq_recv into reused buffers on both sides
//   --test latency         ping-pong of small messages (zmq_send/zmq_recv): p50/p99 per batch
//
// The server is a forked process; an empty request asks it to stop.
#include "bench_common.hpp"

#include <zmq.h>

namespace {

using namespace bench;

[[noreturn]] void throw_zmq(const std::string& what) {
    throw std::runtime_error(what + ": " + zmq_strerror(zmq_errno()));
}

class zmq_context {
public:
    zmq_context() : context_(zmq_ctx_new()) {
        if (!context_)
            throw_zmq("zmq_ctx_new");
    }
    zmq_context(const zmq_context&) = delete;
    zmq_context& operator=(const zmq_context&) = delete;
    ~zmq_context() { zmq_ctx_term(context_); }
    void* get() const { return context_; }

private:
    void* context_;
};

class zmq_socket_handle {
public:
    zmq_socket_handle(const zmq_context& context, int type)
        : socket_(::zmq_socket(context.get(), type)) {
        if (!socket_)
            throw_zmq("zmq_socket");
        int linger = 0;
        zmq_setsockopt(socket_, ZMQ_LINGER, &linger, sizeof linger);
    }
    zmq_socket_handle(const zmq_socket_handle&) = delete;
    zmq_socket_handle& operator=(const zmq_socket_handle&) = delete;
    ~zmq_socket_handle() { zmq_close(socket_); }
    void* get() const { return socket_; }

private:
    void* socket_;
};

// A zmq_msg_t that is always closed.
class zmq_message {
public:
    zmq_message() { zmq_msg_init(&message_); }
    // Refers to `data` without copying it; the caller keeps it alive and unchanged until sent.
    zmq_message(void* data, std::size_t size) {
        if (zmq_msg_init_data(&message_, data, size, nullptr, nullptr) != 0)
            throw_zmq("zmq_msg_init_data");
    }
    zmq_message(const zmq_message&) = delete;
    zmq_message& operator=(const zmq_message&) = delete;
    ~zmq_message() { zmq_msg_close(&message_); }
    zmq_msg_t* get() { return &message_; }
    std::size_t size() { return zmq_msg_size(&message_); }
    const void* data() { return zmq_msg_data(&message_); }

private:
    zmq_msg_t message_;
};

void send_buffer(void* socket, const void* data, std::size_t size) {
    if (zmq_send(socket, data, size, 0) < 0)
        throw_zmq("zmq_send");
}

// Receives into `buffer`; returns the message's size, which must fit.
std::size_t receive_buffer(void* socket, std::vector<unsigned char>& buffer) {
    int size = zmq_recv(socket, buffer.data(), buffer.size(), 0);
    if (size < 0)
        throw_zmq("zmq_recv");
    if (static_cast<std::size_t>(size) > buffer.size())
        throw std::runtime_error("a message larger than expected");
    return static_cast<std::size_t>(size);
}

void send_message(void* socket, zmq_message& message) {
    if (zmq_msg_send(message.get(), socket, 0) < 0)
        throw_zmq("zmq_msg_send");
}

void receive_message(void* socket, zmq_message& message) {
    if (zmq_msg_recv(message.get(), socket, 0) < 0)
        throw_zmq("zmq_msg_recv");
}

void serve(bool copy, std::uint64_t bytes, const server_process::announce_function& announce) {
    zmq_context context;
    zmq_socket_handle reply(context, ZMQ_REP);
    if (zmq_bind(reply.get(), "tcp://127.0.0.1:*") != 0)
        throw_zmq("zmq_bind");
    char endpoint[256];
    std::size_t length = sizeof endpoint;
    if (zmq_getsockopt(reply.get(), ZMQ_LAST_ENDPOINT, endpoint, &length) != 0)
        throw_zmq("zmq_getsockopt ZMQ_LAST_ENDPOINT");
    announce(endpoint);
    std::vector<unsigned char> buffer(copy ? bytes : 0);
    for (;;) {
        if (copy) {
            std::size_t size = receive_buffer(reply.get(), buffer);
            send_buffer(reply.get(), buffer.data(), size);
            if (size == 0)
                return;
        } else {
            zmq_message message;
            receive_message(reply.get(), message);
            bool stop = message.size() == 0;
            send_message(reply.get(), message);
            if (stop)
                return;
        }
    }
}

// The client's side of one connection to a forked server; stops the server when done.
class client {
public:
    client(bool copy_server, std::uint64_t bytes)
        : server_([=](const server_process::announce_function& announce) {
              serve(copy_server, bytes, announce);
          }),
          request_(context_, ZMQ_REQ) {
        if (zmq_connect(request_.get(), server_.endpoint().c_str()) != 0)
            throw_zmq("zmq_connect");
    }

    void* socket() const { return request_.get(); }

    std::uint64_t stop_server() {
        std::vector<unsigned char> none(1);
        send_buffer(request_.get(), nullptr, 0);
        receive_buffer(request_.get(), none);
        return server_.finish();
    }

private:
    server_process server_;
    zmq_context context_;
    zmq_socket_handle request_;
};

void run_echo(const arguments& args) {
    bool copy = args.count("copy", 0) != 0;
    std::uint64_t bytes = args.count("bytes", 32u << 20);
    std::uint64_t warmup = args.count("warmup", 1);
    std::uint64_t iterations = args.count("iterations", 3);
    if (bytes == 0)
        throw std::invalid_argument("--bytes must be at least 1");
    client peer(copy, bytes);

    std::vector<unsigned char> sent(bytes);
    std::vector<unsigned char> received(copy ? bytes : 0);
    fill_pattern(sent.data(), sent.size());
    // One call in zero-copy mode; releasing ZeroMQ's receive buffer is part of its cost.
    auto zero_copy_call = [&](bool verify) {
        zmq_message request(sent.data(), sent.size());
        send_message(peer.socket(), request);
        zmq_message reply;
        receive_message(peer.socket(), reply);
        if (reply.size() != bytes)
            throw std::runtime_error("a reply of the wrong size");
        return !verify || std::memcmp(reply.data(), sent.data(), bytes) == 0;
    };
    auto copying_call = [&] {
        send_buffer(peer.socket(), sent.data(), sent.size());
        if (receive_buffer(peer.socket(), received) != bytes)
            throw std::runtime_error("a reply of the wrong size");
    };
    std::vector<double> round_trips;
    for (std::uint64_t i = 0; i < warmup + iterations; ++i) {
        auto start = clock::now();
        if (copy)
            copying_call();
        else
            zero_copy_call(false);
        auto end = clock::now();
        if (i >= warmup)
            round_trips.push_back(seconds_between(start, end));
    }
    // Checked outside the timed calls: the last reply, or one more zero-copy call.
    bool verified = copy ? received == sent : zero_copy_call(true);
    std::uint64_t server_peak = peer.stop_server();

    nlohmann::json result = echo_result(round_trips, bytes, warmup, server_peak, verified);
    result["program"] = "bench_zmq";
    result["transport"] = "tcp";
    result["copy"] = copy;
    print_result(result);
    if (!verified)
        throw std::runtime_error("the echoed bytes differ from the bytes sent");
}

void run_latency(const arguments& args) {
    const std::uint64_t bytes = message_bytes(args);
    const auto [warmup, calls, batches] = latency_plan::read(args);
    client peer(true, bytes);

    std::vector<unsigned char> request(bytes);
    std::vector<unsigned char> reply(bytes);
    fill_pattern(request.data(), request.size());
    auto call = [&] {
        send_buffer(peer.socket(), request.data(), request.size());
        if (receive_buffer(peer.socket(), reply) != bytes)
            throw std::runtime_error("a reply of the wrong size");
    };
    for (std::uint64_t i = 0; i < warmup; ++i)
        call();
    std::vector<std::vector<double>> samples(batches);
    for (auto& batch : samples) {
        batch.reserve(calls);
        for (std::uint64_t i = 0; i < calls; ++i) {
            auto start = clock::now();
            call();
            batch.push_back(seconds_between(start, clock::now()));
        }
    }
    if (reply != request)
        throw std::runtime_error("the echoed bytes differ from the bytes sent");
    peer.stop_server();

    nlohmann::json result = latency_result(samples, warmup);
    result["bytes"] = bytes;
    result["program"] = "bench_zmq";
    result["transport"] = "tcp";
    print_result(result);
}

} // namespace

int main(int argc, char** argv) {
    return bench::guarded_main([&] {
        bench::arguments args(
            argc, argv,
            {"test", "copy", "bytes", "warmup", "iterations", "calls", "batches", "timeout"});
        bench::arm_watchdog(args.count("timeout", 600));
        std::string test = args.text("test", "echo");
        if (test == "echo")
            run_echo(args);
        else if (test == "latency")
            run_latency(args);
        else
            throw std::invalid_argument("--test must be echo or latency");
    });
}
