#ifndef SLICERBRIDGE_REFERENCE_CLI_PROGRESS_HPP
#define SLICERBRIDGE_REFERENCE_CLI_PROGRESS_HPP

// `run`'s progress on standard error: a bar redrawn in place, or one line per notification.

#include <mutex>
#include <string>

namespace slicerbridge {
namespace cli {

class progress_display {
public:
    enum class mode { none, bar, lines };

    explicit progress_display(mode m) : mode_(m) {}

    /// Thread-safe: notifications arrive on the client's I/O thread.
    void show(double fraction, const std::string& message);
    /// Erases a bar drawn, so that what follows starts on a clean line.
    void clear();

private:
    mode mode_;
    bool drawn_ = false;
    std::mutex mutex_;
};

/// The display a --progress MODE (auto, bar, lines, none) and --quiet ask for; auto draws a bar
/// when standard error is a terminal.
progress_display::mode progress_mode(const std::string& progress, bool quiet);

} // namespace cli
} // namespace slicerbridge

#endif
