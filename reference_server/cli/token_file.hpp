#ifndef SLICERBRIDGE_REFERENCE_CLI_TOKEN_FILE_HPP
#define SLICERBRIDGE_REFERENCE_CLI_TOKEN_FILE_HPP

// A token file: its first line, without the line end. The command line and the server read
// tokens from files so that they never appear on a command line that `ps` shows.

#include <fstream>
#include <optional>
#include <string>

namespace slicerbridge {
namespace cli {

/// The token in `path`, or nothing with `problem` saying why (unreadable or empty).
inline std::optional<std::string> token_from_file(const std::string& path, std::string& problem) {
    std::ifstream in(path);
    std::string token;
    if (!in || !std::getline(in, token)) {
        problem = "cannot read the token file " + path;
        return std::nullopt;
    }
    if (!token.empty() && token.back() == '\r') {
        token.pop_back();
    }
    if (token.empty()) {
        problem = "the token file " + path + " is empty";
        return std::nullopt;
    }
    return token;
}

} // namespace cli
} // namespace slicerbridge

#endif
