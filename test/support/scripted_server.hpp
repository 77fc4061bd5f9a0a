#ifndef SLICERBRIDGE_TEST_SUPPORT_SCRIPTED_SERVER_HPP
#define SLICERBRIDGE_TEST_SUPPORT_SCRIPTED_SERVER_HPP

// A server played by a script, to show a client exactly what a test needs: on its own thread it
// accepts one connection on loopback, reads the client's hello, answers with the hello it was
// given and runs the script on a raw_peer.

#include "raw_peer.hpp"

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <functional>
#include <string>
#include <thread>
#include <utility>

namespace test_support {

class scripted_server {
public:
    scripted_server(sb::server_hello hello, std::function<void(raw_peer&)> script)
        : thread_([this, hello = std::move(hello), script = std::move(script)] {
              asio::ip::tcp::socket socket(io_);
              acceptor_.accept(socket);
              raw_peer peer(std::move(socket));
              if (peer.read_head()) { // the client's hello
                  peer.write_message(sb::message(hello));
                  script(peer);
              }
          }) {}

    scripted_server(const scripted_server&) = delete;
    scripted_server& operator=(const scripted_server&) = delete;

    ~scripted_server() { join(); }

    unsigned short port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

    /// Waits until the script has ended.
    void join() {
        if (thread_.joinable()) {
            thread_.join();
        }
    }

private:
    asio::io_context io_;
    asio::ip::tcp::acceptor acceptor_{io_, {asio::ip::make_address("127.0.0.1"), 0}};
    const unsigned short port_ = acceptor_.local_endpoint().port();
    std::thread thread_; // last: it uses the members above
};

} // namespace test_support

#endif
