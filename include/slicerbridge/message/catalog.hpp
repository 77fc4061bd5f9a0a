#ifndef SLICERBRIDGE_MESSAGE_CATALOG_HPP
#define SLICERBRIDGE_MESSAGE_CATALOG_HPP

// The processor catalog (spec section 10): descriptions, slots, and the catalog and describe
// methods.

#include <slicerbridge/data/image.hpp>
#include <slicerbridge/data/parameter.hpp>
#include <slicerbridge/detail/config.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/value.hpp>
#include <slicerbridge/version.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace slicerbridge {

/// A slot's type: a data type (inputs, outputs) or a parameter type (section 11.6).
enum class slot_type : std::uint8_t {
    image,
    mesh,
    transform,
    points,
    table,
    image_series,  ///< from version 1.1 ([SER-6])
    boolean,       ///< "bool"
    integer,       ///< "int"
    floating,      ///< "float"
    string,        ///< "string"
    enumeration,   ///< "enum"
    int_vector,    ///< "int_vector"
    float_vector,  ///< "float_vector"
    string_vector, ///< "string_vector"
};

/// The wire name, e.g. "float" for slot_type::floating.
SLICERBRIDGE_DECL std::string_view slot_type_name(slot_type t) noexcept;
SLICERBRIDGE_DECL std::optional<slot_type> slot_type_from_name(std::string_view name) noexcept;

/// True for image, mesh, transform, points, table and image_series.
constexpr bool is_data_slot_type(slot_type t) noexcept {
    return t <= slot_type::image_series;
}

struct slot {
    /// `[A-Za-z][A-Za-z0-9_]*`, unique within the description ([CAT-3]).
    std::string name;
    slot_type type = slot_type::floating;
    std::string label;
    std::string description;
    std::string group;
    bool optional = false;
    /// Parameters only; satisfies the slot's type and constraints ([CAT-5]).
    std::optional<parameter_value> default_value;
    std::optional<double> minimum;
    std::optional<double> maximum;
    std::optional<double> step;
    /// Enum parameters.
    std::vector<std::string> choices;
    /// Vector parameters: exact number of elements.
    std::optional<std::uint64_t> length;
    /// Image slots.
    std::optional<slicerbridge::image_kind> image_kind;

    friend bool operator==(const slot& a, const slot& b) {
        return a.name == b.name && a.type == b.type && a.label == b.label &&
               a.description == b.description && a.group == b.group && a.optional == b.optional &&
               a.default_value == b.default_value && a.minimum == b.minimum &&
               a.maximum == b.maximum && a.step == b.step && a.choices == b.choices &&
               a.length == b.length && a.image_kind == b.image_kind;
    }
    friend bool operator!=(const slot& a, const slot& b) { return !(a == b); }
};

struct processor_description {
    /// `[A-Za-z][A-Za-z0-9_.-]*`, unique on the server.
    std::string name;
    std::string version;
    std::string title;
    std::string description;
    /// Dot-separated, e.g. "Filtering.Denoising".
    std::string category;
    std::string contributor;
    std::vector<slot> inputs;
    /// Data types, and from version 1.1 parameter types too: scalar outputs ([CAT-7]).
    std::vector<slot> outputs;
    std::vector<slot> parameters;
    /// From version 1.1: the same call gives the same result and has no other effect, so a
    /// client may send it again, to another server, when the connection is lost ([CAT-8]).
    bool idempotent = false;

    /// The slot of that name among inputs, outputs and parameters, or nullptr.
    SLICERBRIDGE_DECL const slot* find_input(std::string_view slot_name) const noexcept;
    SLICERBRIDGE_DECL const slot* find_output(std::string_view slot_name) const noexcept;
    SLICERBRIDGE_DECL const slot* find_parameter(std::string_view slot_name) const noexcept;

    /// Checks the name patterns, [CAT-3] and [CAT-5] (data types for inputs and outputs,
    /// parameter types for parameters, constraints only where they apply, enum choices, defaults
    /// that satisfy their slot). Errors are `invalid_message`.
    SLICERBRIDGE_DECL std::error_code validate() const;
    SLICERBRIDGE_DECL std::error_code validate(std::string& what) const;

    /// Reads and validates a description; absent strings read as empty ([CAT-6]). Errors are
    /// `invalid_message`.
    SLICERBRIDGE_DECL static processor_description from_value(const value& v, std::error_code& ec);
    SLICERBRIDGE_DECL static processor_description from_value(const value& v, std::error_code& ec,
                                                              std::string& what);

    friend bool operator==(const processor_description& a, const processor_description& b) {
        return a.name == b.name && a.version == b.version && a.title == b.title &&
               a.description == b.description && a.category == b.category &&
               a.contributor == b.contributor && a.inputs == b.inputs && a.outputs == b.outputs &&
               a.parameters == b.parameters && a.idempotent == b.idempotent;
    }
    friend bool operator!=(const processor_description& a, const processor_description& b) {
        return !(a == b);
    }
};

/// Every key of [CAT-6]; optional slot keys only when set.
SLICERBRIDGE_DECL value to_value(const slot& s);
SLICERBRIDGE_DECL value to_value(const processor_description& d);

/// True for an output slot of a parameter type ([CAT-7], version 1.1).
constexpr bool is_scalar_output(const slot& s) noexcept {
    return !is_data_slot_type(s.type);
}

/// `d` as a peer of version `v` may see it ([VER-4]): before 1.1, without its scalar outputs,
/// its `idempotent` key and its optional inputs and outputs of type image_series ([SER-6]).
SLICERBRIDGE_DECL processor_description description_for_version(const processor_description& d,
                                                                protocol_version v);

/// False when a peer of version `v` cannot call `d`: before 1.1, a required image_series input
/// ([SER-6]). Such a processor is left out of that peer's catalog.
SLICERBRIDGE_DECL bool offered_at_version(const processor_description& d, protocol_version v);

/// Converts `p` to the type of parameter slot `s` (an int for a float, any empty array for a
/// vector) and checks the slot's constraints: minimum and maximum, enum choices, vector length.
/// On failure returns false and sets `what`, naming the slot.
SLICERBRIDGE_DECL bool check_parameter(const slot& s, parameter_value& p, std::string& what);

/// A description that a client dropped from a catalog because it breaks a rule of section 10
/// ([CAT-12]).
struct dropped_description {
    /// Its position in the catalog's `processors`.
    std::size_t index = 0;
    /// Its `name`, or empty when it has no string name.
    std::string name;
    /// The requirement it breaks, such as "CAT-5".
    std::string requirement;
    /// What is wrong, naming the field (never a value, [ERR-3]).
    std::string reason;
};

/// The result of `catalog`: `{processors: [description]}` ([CAT-1]).
struct catalog_result {
    /// The valid descriptions, in catalog order.
    std::vector<processor_description> processors;
    /// Read from a server: the descriptions left out of `processors` ([CAT-12]). Only a result
    /// that is not a map with an array `processors` is an error (`invalid_message`).
    std::vector<dropped_description> dropped;

    SLICERBRIDGE_DECL static catalog_result from_value(const value& v, std::error_code& ec);
    SLICERBRIDGE_DECL static catalog_result from_value(const value& v, std::error_code& ec,
                                                       std::string& what);
};

SLICERBRIDGE_DECL value to_value(const catalog_result& r);

/// The params of `describe`: `{processor: name}`.
struct describe_params {
    std::string processor;

    /// Errors are `invalid_message` ([MSG-13]).
    SLICERBRIDGE_DECL static describe_params from_value(const value& v, std::error_code& ec);
    SLICERBRIDGE_DECL static describe_params from_value(const value& v, std::error_code& ec,
                                                        std::string& what);
};

inline value to_value(const describe_params& p) {
    return value::map{{"processor", p.processor}};
}

} // namespace slicerbridge

#if defined(SLICERBRIDGE_HEADER_ONLY)
#include <slicerbridge/message/impl/catalog.ipp>
#endif

#endif
