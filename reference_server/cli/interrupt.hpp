#ifndef SLICERBRIDGE_REFERENCE_CLI_INTERRUPT_HPP
#define SLICERBRIDGE_REFERENCE_CLI_INTERRUPT_HPP

// SIGINT and SIGTERM as a cancel of the running call.

#include "exit_status.hpp"

#include <slicerbridge/sync_client.hpp>

#include <asio/signal_set.hpp>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <atomic>
#include <string>

namespace slicerbridge {
namespace cli {

/// Turns SIGINT and SIGTERM into a cancel of call `id` (reserved with
/// `sync_client::reserve_call_id`, so a signal before the call starts cancels it too) and waits
/// for its answer; a second signal exits at once with exit_cancelled.
class cancel_on_interrupt {
public:
    cancel_on_interrupt(sync_client& client, std::string program, call_id id)
        : client_(client), program_(std::move(program)), id_(id),
          signals_(client.async_client().get_executor(), SIGINT, SIGTERM) {
        wait();
    }

    ~cancel_on_interrupt() {
        std::error_code ignored;
        signals_.cancel(ignored);
    }

    cancel_on_interrupt(const cancel_on_interrupt&) = delete;
    cancel_on_interrupt& operator=(const cancel_on_interrupt&) = delete;

    /// The call to cancel: pass it as `invoke_options::id`.
    call_id id() const { return id_; }

    bool requested() const { return requested_; }

private:
    void wait() {
        signals_.async_wait([this](std::error_code ec, int) {
            if (ec) {
                return;
            }
            if (requested_) {
                std::cerr << "\n" << program_ << ": interrupted again, exiting\n";
                std::_Exit(exit_cancelled);
            }
            requested_ = true;
            std::cerr << "\n" << program_ << ": cancelling the call (Ctrl-C again to exit now)\n";
            client_.cancel(id_);
            wait();
        });
    }

    sync_client& client_;
    std::string program_;
    call_id id_;
    asio::signal_set signals_;
    std::atomic<bool> requested_{false}; // set on the I/O thread, read by the caller
};

} // namespace cli
} // namespace slicerbridge

#endif
