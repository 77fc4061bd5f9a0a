#ifndef SLICERBRIDGE_CONSUMER_COMPILED_SERVER_HPP
#define SLICERBRIDGE_CONSUMER_COMPILED_SERVER_HPP

#include <asio/io_context.hpp>

#include <memory>

/// A server with one processor, "double", listening on a loopback port; it runs on `io`.
class consumer_compiled_server {
public:
    explicit consumer_compiled_server(asio::io_context& io);
    ~consumer_compiled_server();
    unsigned short port() const { return port_; }

private:
    struct state;
    std::unique_ptr<state> state_;
    unsigned short port_ = 0;
};

#endif
