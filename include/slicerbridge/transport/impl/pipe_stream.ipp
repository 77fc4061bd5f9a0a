#ifndef SLICERBRIDGE_TRANSPORT_IMPL_PIPE_STREAM_IPP
#define SLICERBRIDGE_TRANSPORT_IMPL_PIPE_STREAM_IPP

#include <slicerbridge/transport/pipe_stream.hpp>

namespace slicerbridge {

SLICERBRIDGE_DECL pipe_stream pipe_stream::standard_streams(const executor_type& executor) {
    pipe_stream stream(executor);
    detail::platform::open_standard_streams(stream.input_, stream.output_);
    return stream;
}

SLICERBRIDGE_DECL void pipe_stream::close(std::error_code& ec) {
    std::error_code input_error;
    input_.close(input_error);
    output_.close(ec);
    if (!ec) {
        ec = input_error;
    }
}

SLICERBRIDGE_DECL child_process& child_process::operator=(child_process&& other) noexcept {
    if (this != &other) {
        if (running()) {
            terminate();
        }
        child_ = std::move(other.child_);
    }
    return *this;
}

SLICERBRIDGE_DECL child_process::~child_process() {
    if (running()) {
        terminate();
    }
}

SLICERBRIDGE_DECL int child_process::wait() {
    if (!running()) {
        return -1;
    }
    return detail::platform::wait_for_exit(child_);
}

SLICERBRIDGE_DECL std::optional<int> child_process::wait_for(std::chrono::milliseconds limit) {
    if (!running()) {
        return std::nullopt;
    }
    return detail::platform::wait_for_exit(child_, limit);
}

SLICERBRIDGE_DECL int child_process::terminate(int grace_ms) {
    if (!running()) {
        return -1;
    }
    return detail::platform::terminate(child_, std::chrono::milliseconds(grace_ms));
}

SLICERBRIDGE_DECL launched_process launch_process(const asio::any_io_executor& executor,
                                                  const std::vector<std::string>& argv,
                                                  std::error_code& ec) {
    ec.clear();
    pipe_stream stream(executor);
    if (argv.empty()) {
        ec = std::make_error_code(std::errc::invalid_argument);
        return {std::move(stream), child_process{}};
    }
    auto child = detail::platform::spawn(argv, stream.output_, stream.input_, ec);
    return {std::move(stream), child_process(std::move(child))};
}

SLICERBRIDGE_DECL launched_process launch_process(const asio::any_io_executor& executor,
                                                  const std::vector<std::string>& argv) {
    std::error_code ec;
    auto launched = launch_process(executor, argv, ec);
    if (ec) {
        throw std::system_error(ec, "launching " + (argv.empty() ? std::string() : argv[0]));
    }
    return launched;
}

} // namespace slicerbridge

#endif
