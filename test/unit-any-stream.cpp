// any_stream's handler storage and target lookup, and the unique_function it stores handlers in:
// small handlers are kept inline, large ones on the heap, and both run once, with their state,
// and are destroyed when done; target<T> finds the wrapped stream only when it is a T.

#include <slicerbridge/transport/any_stream.hpp>

#include <slicerbridge/detail/unique_function.hpp>
#include <slicerbridge/test/stream.hpp>

#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/connect_pair.hpp>
#include <asio/local/stream_protocol.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <utility>

namespace sb = slicerbridge;

namespace {

using any_stream_fn = sb::detail::unique_function<int(int), 32>;

/// Counts how many of it are alive, through a shared counter.
struct any_stream_tracked {
    explicit any_stream_tracked(std::shared_ptr<int> alive) : alive_(std::move(alive)) {
        ++*alive_;
    }
    any_stream_tracked(any_stream_tracked&& other) noexcept : alive_(other.alive_) { ++*alive_; }
    any_stream_tracked(const any_stream_tracked&) = delete;
    ~any_stream_tracked() { --*alive_; }
    std::shared_ptr<int> alive_;
};

bool any_stream_run_dry(asio::io_context& io) {
    io.restart();
    io.run_for(std::chrono::seconds(10));
    return io.stopped();
}

} // namespace

TEST_CASE("unique_function keeps a small callable inline and a large one on the heap, both are "
          "called, moved and destroyed as std::function's would be") {
    auto alive = std::make_shared<int>(0);
    SUBCASE("small") {
        any_stream_tracked t(alive);
        auto f = [t = std::move(t), add = 1](int x) { return x + add; };
        static_assert(any_stream_fn::fits_inline<decltype(f)>());
        any_stream_fn held(std::move(f));
        CHECK(held);
        CHECK(held(41) == 42);
        any_stream_fn moved(std::move(held));
        CHECK_FALSE(held); // NOLINT(bugprone-use-after-move): a moved-from one is empty
        CHECK(moved(1) == 2);
        CHECK(moved(2) == 3); // callable again, as std::function
        moved.reset();
        CHECK_FALSE(moved);
    }
    SUBCASE("large") {
        std::array<int, 64> big{};
        big[63] = 7;
        any_stream_tracked t(alive);
        auto f = [t = std::move(t), big](int x) { return x + big[63]; };
        static_assert(!any_stream_fn::fits_inline<decltype(f)>());
        any_stream_fn held(std::move(f));
        any_stream_fn assigned;
        assigned = std::move(held);
        CHECK_FALSE(held); // NOLINT(bugprone-use-after-move)
        CHECK(assigned(1) == 8);
        assigned.emplace([](int x) { return -x; });
        CHECK(assigned(3) == -3);
    }
    CHECK(*alive == 0); // every copy made was destroyed, none twice
}

TEST_CASE("any_stream runs a handler too large to keep inline as it runs a small one") {
    asio::io_context io;
    sb::test::stream a(io.get_executor());
    sb::test::stream b(io.get_executor());
    sb::test::connect(a, b);
    sb::any_stream wrapped(std::move(a));
    std::string got(5, '\0');
    std::array<char, 512> ballast{}; // makes the handler larger than io_handler keeps inline
    ballast[511] = 'x';
    std::size_t read = 0;
    char seen = 0;
    auto large = [&read, &seen, ballast](std::error_code ec, std::size_t n) {
        REQUIRE_FALSE(ec);
        read = n;
        seen = ballast[511];
    };
    static_assert(!sb::any_stream::io_handler::fits_inline<decltype(large)>());
    wrapped.async_read_some(asio::buffer(got), std::move(large));
    std::size_t small_wrote = 0;
    auto small = [&small_wrote](std::error_code ec, std::size_t n) {
        REQUIRE_FALSE(ec);
        small_wrote = n;
    };
    static_assert(sb::any_stream::io_handler::fits_inline<decltype(small)>());
    b.async_write_some(asio::buffer(std::string("hello")), std::move(small));
    REQUIRE(any_stream_run_dry(io));
    CHECK(small_wrote == 5);
    CHECK(read == 5);
    CHECK(seen == 'x');
    CHECK(got == "hello");
}

TEST_CASE("any_stream::target finds a Unix socket only when it wraps one, moved or not") {
    asio::io_context io;
#if defined(ASIO_HAS_LOCAL_SOCKETS) && !defined(_WIN32) // Windows has no socketpair
    SUBCASE("a Unix socket") {
        asio::local::stream_protocol::socket one(io), other(io);
        asio::local::connect_pair(one, other);
        const auto handle = one.native_handle();
        sb::any_stream wrapped(std::move(one));
        auto* found = wrapped.target<asio::local::stream_protocol::socket>();
        REQUIRE(found != nullptr);
        CHECK(found->native_handle() == handle);
        CHECK(wrapped.target<asio::ip::tcp::socket>() == nullptr);
        sb::any_stream moved(std::move(wrapped));
        REQUIRE(moved.target<asio::local::stream_protocol::socket>() == found);
    }
#endif
    SUBCASE("another stream") {
        sb::any_stream wrapped(sb::test::stream(io.get_executor()));
        CHECK(wrapped.target<asio::local::stream_protocol::socket>() == nullptr);
        CHECK(wrapped.target<sb::test::stream>() != nullptr);
    }
}
