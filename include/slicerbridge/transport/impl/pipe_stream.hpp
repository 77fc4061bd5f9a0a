#ifndef SLICERBRIDGE_TRANSPORT_IMPL_PIPE_STREAM_HPP
#define SLICERBRIDGE_TRANSPORT_IMPL_PIPE_STREAM_HPP

namespace slicerbridge {

inline pipe_stream pipe_stream::standard_streams(const executor_type& executor) {
    pipe_stream stream(executor);
    detail::platform::open_standard_streams(stream.input_, stream.output_);
    return stream;
}

inline void pipe_stream::close(std::error_code& ec) {
    std::error_code input_error;
    input_.close(input_error);
    output_.close(ec);
    if (!ec) {
        ec = input_error;
    }
}

inline child_process& child_process::operator=(child_process&& other) noexcept {
    if (this != &other) {
        if (running()) {
            terminate();
        }
        child_ = std::move(other.child_);
    }
    return *this;
}

inline child_process::~child_process() {
    if (running()) {
        terminate();
    }
}

inline int child_process::wait() {
    if (!running()) {
        return -1;
    }
    return detail::platform::wait_for_exit(child_);
}

inline std::optional<int> child_process::wait_for(std::chrono::milliseconds limit) {
    if (!running()) {
        return std::nullopt;
    }
    return detail::platform::wait_for_exit(child_, limit);
}

inline int child_process::terminate(int grace_ms) {
    if (!running()) {
        return -1;
    }
    return detail::platform::terminate(child_, std::chrono::milliseconds(grace_ms));
}

inline launched_process launch_process(const asio::any_io_executor& executor,
                                       const std::vector<std::string>& argv, std::error_code& ec) {
    ec.clear();
    pipe_stream stream(executor);
    if (argv.empty()) {
        ec = std::make_error_code(std::errc::invalid_argument);
        return {std::move(stream), child_process{}};
    }
    auto child = detail::platform::spawn(argv, stream.output_, stream.input_, ec);
    return {std::move(stream), child_process(std::move(child))};
}

inline launched_process launch_process(const asio::any_io_executor& executor,
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
