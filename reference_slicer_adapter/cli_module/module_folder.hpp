#ifndef SLICERBRIDGE_CLI_MODULE_MODULE_FOLDER_HPP
#define SLICERBRIDGE_CLI_MODULE_MODULE_FOLDER_HPP

// A folder of exported CLI modules, the one Slicer is given as an additional module path: per
// processor an entry Slicer runs (a link to, or copy of, this program) and its XML beside it,
// and one configuration file that says where the server is. Secrets stay out of the XML and off
// command lines: the configuration names the token file and the CA certificates.

#include "connection.hpp"

#include <slicerbridge/message/catalog.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace slicerbridge {
namespace cli_module {

/// The configuration file's name in an exported folder.
inline constexpr const char* configuration_name = "slicerbridge-modules.json";

struct folder_configuration {
    std::optional<std::string> server;
    std::optional<std::string> launch;
    std::optional<std::string> token_file; ///< absolute
    std::optional<std::string> tls_ca;     ///< absolute
    /// Module (entry file name) -> processor name.
    std::map<std::string, std::string> modules;

    /// Where to connect, with the token read from token_file. Fails like cli::connection.
    cli::server_options server_options() const;
};

/// The configuration in `folder`, or nothing when it has none. Fails with exit_file when the
/// file is there but unreadable or malformed.
std::optional<folder_configuration> read_configuration(const std::string& folder);

struct export_report {
    std::vector<std::string> exported; ///< processor names
    std::vector<std::string> skipped;  ///< "name: reason"
    std::vector<std::string> removed;  ///< modules of an earlier export no longer served
};

/// Writes every processor of `catalog` into `folder` as a module: `<module>.xml` and the entry
/// `<module>` (`<module>.exe` on Windows: entry_suffix), a hard link to `program` (else a copy); removes the modules of an earlier export
/// that the catalog no longer has; writes the configuration last, atomically. A processor the
/// Execution Model cannot express is skipped with its reason.
export_report export_modules(const std::string& folder, const std::string& program,
                             folder_configuration configuration,
                             const std::vector<processor_description>& catalog);

} // namespace cli_module
} // namespace slicerbridge

#endif
