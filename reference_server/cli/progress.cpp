#include "progress.hpp"

#include <cmath>
#include <cstdio>
#include <iostream>

#include <unistd.h>

namespace slicerbridge {
namespace cli {

void progress_display::show(double fraction, const std::string& message) {
    std::lock_guard<std::mutex> lock(mutex_);
    const int percent = static_cast<int>(fraction * 100);
    if (mode_ == mode::lines) {
        std::cerr << "progress: " << percent << "%" << (message.empty() ? "" : " ") << message
                  << std::endl;
    } else if (mode_ == mode::bar) {
        constexpr int width = 30;
        const auto filled = static_cast<std::size_t>(std::lround(fraction * width));
        char text[8];
        std::snprintf(text, sizeof text, "%3d%%", percent);
        std::cerr << "\r[" << std::string(filled, '#')
                  << std::string(static_cast<std::size_t>(width) - filled, ' ') << "] " << text
                  << (message.empty() ? "" : " ") << message.substr(0, 40) << "\x1b[K"
                  << std::flush;
        drawn_ = true;
    }
}

void progress_display::clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (drawn_) {
        std::cerr << "\r\x1b[K" << std::flush;
        drawn_ = false;
    }
}

progress_display::mode progress_mode(const std::string& progress, bool quiet) {
    if (!quiet && (progress == "bar" || (progress == "auto" && ::isatty(STDERR_FILENO) == 1))) {
        return progress_display::mode::bar;
    }
    if (!quiet && progress == "lines") {
        return progress_display::mode::lines;
    }
    return progress_display::mode::none;
}

} // namespace cli
} // namespace slicerbridge
