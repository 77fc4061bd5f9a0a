#ifndef SLICERBRIDGE_REFERENCE_CLI_INTERRUPT_HPP
#define SLICERBRIDGE_REFERENCE_CLI_INTERRUPT_HPP

// SIGINT and SIGTERM as a cancel of the running call.

#include "exit_status.hpp"

#include <slicerbridge/sync_client.hpp>

#include <asio/signal_set.hpp>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>

namespace slicerbridge {
namespace cli {

/// Turns SIGINT and SIGTERM into a cancel of the running call and waits for its answer; a
/// second signal exits at once with exit_cancelled.
class cancel_on_interrupt {
public:
    cancel_on_interrupt(sync_client& client, std::string program)
        : client_(client), program_(std::move(program)),
          signals_(client.async_client().get_executor(), SIGINT, SIGTERM) {
        wait();
    }

    ~cancel_on_interrupt() {
        std::error_code ignored;
        signals_.cancel(ignored);
    }

    cancel_on_interrupt(const cancel_on_interrupt&) = delete;
    cancel_on_interrupt& operator=(const cancel_on_interrupt&) = delete;

    /// The running call's id, once known.
    void started(call_id id) {
        std::lock_guard<std::mutex> lock(mutex_);
        id_ = id;
        if (requested_) {
            client_.cancel(id);
        }
    }

    bool requested() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return requested_;
    }

private:
    void wait() {
        signals_.async_wait([this](std::error_code ec, int) {
            if (ec) {
                return;
            }
            std::lock_guard<std::mutex> lock(mutex_);
            if (requested_) {
                std::cerr << "\n" << program_ << ": interrupted again, exiting\n";
                std::_Exit(exit_cancelled);
            }
            requested_ = true;
            std::cerr << "\n" << program_ << ": cancelling the call (Ctrl-C again to exit now)\n";
            if (id_) {
                client_.cancel(*id_);
            }
            wait();
        });
    }

    sync_client& client_;
    std::string program_;
    asio::signal_set signals_;
    mutable std::mutex mutex_;
    std::optional<call_id> id_;
    bool requested_ = false;
};

} // namespace cli
} // namespace slicerbridge

#endif
