#ifndef SLICERBRIDGE_CLI_MODULE_HPP
#define SLICERBRIDGE_CLI_MODULE_HPP

// Processors as Slicer CLI modules (spec Appendix B): the Slicer Execution Model XML of a
// processor description, and where each slot goes on the module's command line. No I/O.
//
// The rules follow what Slicer itself does with the XML (SEM's ModuleDescriptionParser, the
// form of qSlicerCLIModuleUIHelper, the command line of vtkSlicerCLIModuleLogic), not the
// published XSDs, which Slicer's own modules do not follow.

#include <slicerbridge/detail/config.hpp>
#include <slicerbridge/message/catalog.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace slicerbridge {

/// The flags a CLI module answers itself (GenerateCLP's); a slot of one of these names takes
/// the name and flag `slot_<name>`.
inline constexpr std::string_view cli_module_reserved_flags[] = {
    "xml",       "echo",        "help",
    "h",         "version",     "returnparameterfile",
    "serialize", "deserialize", "processinformationaddress"};

/// Where one slot of a description goes on the module's command line.
struct cli_module_argument {
    enum class role { input, output, parameter };

    const slot* s = nullptr;
    role r = role::parameter;
    /// The parameter's `<name>`: the slot's name, or `slot_<name>` for a reserved one.
    std::string name;
    /// `--flag VALUE` (a bare `--flag` for a boolean): the long flag without its dashes. Empty
    /// for a positional argument.
    std::string flag;
    /// Required inputs are positional, so that Slicer's form offers no "None" for them: the
    /// n-th positional argument, counted from 0.
    std::optional<std::size_t> index;

    /// A scalar output ([CAT-7]): neither flag nor index, its value goes back to Slicer in the
    /// return parameter file as `name = value`.
    bool returned() const noexcept { return flag.empty() && !index; }
};

/// Every slot's argument, inputs first, then outputs, then parameters.
SLICERBRIDGE_DECL std::vector<cli_module_argument>
cli_module_arguments(const processor_description& d);

/// The file name of a processor's module: `SlicerBridge_` and the name, with every character
/// outside `[A-Za-z0-9_]` replaced by `_` (Slicer takes no file with a dot for a module on Linux
/// and macOS) and `_` added after a trailing "Test" or "Tests" (Slicer hides such modules).
SLICERBRIDGE_DECL std::string cli_module_name(std::string_view processor);

/// A value as Slicer's form and return parameter file write it: true/false, integers,
/// numbers in plain decimals, vectors comma-separated.
SLICERBRIDGE_DECL std::string cli_module_value_text(const parameter_value& p);

/// The file extension Slicer is asked to write (inputs) or read (outputs) for a data slot.
SLICERBRIDGE_DECL std::string_view cli_module_file_extension(slot_type t) noexcept;

/// The `<executable>` document of `d`, UTF-8 (characters beyond ASCII written as character
/// references) with its XML declaration. Fails with `invalid_argument` and a reason in `what`
/// for a description the Execution Model cannot express: no slot at all, two slots with one
/// name, a string vector whose default holds a comma, two choices that Slicer's trimming makes
/// equal.
SLICERBRIDGE_DECL std::string cli_module_xml(const processor_description& d, std::error_code& ec,
                                             std::string& what);

/// As above; throws std::system_error.
SLICERBRIDGE_DECL std::string cli_module_xml(const processor_description& d);

} // namespace slicerbridge

#if defined(SLICERBRIDGE_HEADER_ONLY)
#include <slicerbridge/impl/cli_module.ipp>
#endif

#endif
