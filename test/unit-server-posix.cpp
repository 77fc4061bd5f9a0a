// The server's tests that look at POSIX-only state: a Unix socket's file mode, and the TCP
// options of this process's descriptors as /proc/self/fd lists them. Not built for Windows.

#include <slicerbridge/server.hpp>

#include "support/test_server.hpp"

#include <slicerbridge/sync_client.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace slicerbridge;
using test_support::test_server;

namespace {

/// The port of a socket's own end (`getsockname`) or its peer's (`getpeername`); 0 if `fd` is
/// not an IPv4 socket.
unsigned short port_of(int fd, bool peer) {
    sockaddr_in address{};
    socklen_t length = sizeof address;
    auto* raw = reinterpret_cast<sockaddr*>(&address);
    int rc = peer ? ::getpeername(fd, raw, &length) : ::getsockname(fd, raw, &length);
    return rc == 0 && address.sin_family == AF_INET ? ntohs(address.sin_port) : 0;
}

/// This process's descriptor for a TCP socket with these local and peer ports (0: any), or -1.
int socket_with_ports(unsigned short local_port, unsigned short peer_port) {
    int found = -1;
    if (DIR* fds = ::opendir("/proc/self/fd")) {
        while (const dirent* entry = ::readdir(fds)) {
            int fd = std::atoi(entry->d_name);
            unsigned short local = port_of(fd, false);
            unsigned short peer = port_of(fd, true);
            if (local != 0 && peer != 0 && (local_port == 0 || local == local_port) &&
                (peer_port == 0 || peer == peer_port)) {
                found = fd;
            }
        }
        ::closedir(fds);
    }
    return found;
}

bool nagle_off(int fd) {
    int no_delay = 0;
    socklen_t length = sizeof no_delay;
    return ::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &no_delay, &length) == 0 && no_delay != 0;
}

} // namespace

TEST_CASE("a Unix socket is for its own user only, and serves like TCP [SEC-10]") {
    asio::io_context io;
    server unix_server(io.get_executor());
    test_support::add_test_processors(unix_server, std::make_shared<test_support::watch_record>());
    const std::string path = "/tmp/slicerbridge-test-" + std::to_string(::getpid()) + ".sock";
    std::error_code ec;
    unix_server.listen_unix(path, ec);
    REQUIRE_FALSE(ec);
    struct stat info {};
    REQUIRE(::stat(path.c_str(), &info) == 0);
    CHECK((info.st_mode & 0777) == 0600);
    std::thread runner([&] { io.run_for(std::chrono::seconds(10)); });
    {
        auto client = sync_client::connect("unix:" + path);
        CHECK(client->ping() > 0.0);
    }
    unix_server.shutdown(std::chrono::milliseconds(0));
    io.stop();
    runner.join();
}

TEST_CASE("both ends of a TCP connection have Nagle's algorithm off [FRAME-13] [PROG-4]") {
    // Otherwise a frame written while the previous one is unacknowledged (progress, then the
    // answer) waits for the peer's delayed acknowledgement, 40 ms on Linux.
    test_server srv;
    auto client = sync_client::connect(srv.address()); // an any_stream over TCP
    client->ping();
    int client_end = socket_with_ports(0, srv.port());
    REQUIRE(client_end >= 0);
    int server_end = socket_with_ports(srv.port(), port_of(client_end, false));
    REQUIRE(server_end >= 0);
    CHECK(nagle_off(client_end));
    CHECK(nagle_off(server_end));
}
