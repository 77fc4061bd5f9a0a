#ifndef SLICERBRIDGE_MESSAGE_INVOKE_HPP
#define SLICERBRIDGE_MESSAGE_INVOKE_HPP

// The invoke method (spec section 6.2): params, result and the argument checks every server
// shares ([INV-2], [INV-3], [INV-4]).

#include <slicerbridge/data/data_value.hpp>
#include <slicerbridge/data/parameter.hpp>
#include <slicerbridge/detail/config.hpp>
#include <slicerbridge/error.hpp>
#include <slicerbridge/message/catalog.hpp>
#include <slicerbridge/message/timings.hpp>
#include <slicerbridge/value.hpp>
#include <slicerbridge/wire/codec.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace slicerbridge {

struct invoke_params {
    std::string processor;
    /// In the order received; names are unique ([HEAD-7]).
    std::vector<std::pair<std::string, data_value>> inputs;
    std::vector<std::pair<std::string, parameter_value>> parameters;
    /// Seconds from the server's receipt of the request ([INV-6]).
    std::optional<double> deadline;

    SLICERBRIDGE_DECL const data_value* input(std::string_view name) const noexcept;
    SLICERBRIDGE_DECL const parameter_value* parameter(std::string_view name) const noexcept;

    /// The input of that name if it holds a T (image, mesh, ...), else nullptr.
    template <class T>
    const T* input_as(std::string_view name) const noexcept {
        const data_value* d = input(name);
        return d == nullptr ? nullptr : std::get_if<T>(d);
    }

    /// The parameter of that name if it holds a T (bool, std::int64_t, double, std::string or
    /// a vector of these), else nullptr.
    template <class T>
    const T* parameter_as(std::string_view name) const noexcept {
        const parameter_value* p = parameter(name);
        return p == nullptr ? nullptr : p->get_if<T>();
    }

    /// Reads invoke params: a string `processor`, `inputs` and `parameters` maps (absent:
    /// empty) and a `deadline` that is a finite number >= 0 ([INV-7]). Malformed params are
    /// `invalid_message` ([MSG-13]); a malformed input or parameter value is
    /// `invalid_argument` with `offending_name` set to its name ([INV-2], [DATA-1]).
    SLICERBRIDGE_DECL static invoke_params from_value(const value& v, std::error_code& ec);
    SLICERBRIDGE_DECL static invoke_params
    from_value(const value& v, std::error_code& ec, std::string& what, std::string& offending_name);
};

SLICERBRIDGE_DECL value to_value(const invoke_params& p);

/// Encodes the invoke request {id, "invoke", params}: the bytes of `encode_request` with
/// `to_value(params)`, without building that value first. `head_storage`: memory for the head
/// (an earlier frame's, from `encoded_frame::release_head`), for a sender that encodes one
/// request after another.
SLICERBRIDGE_DECL encoded_frame encode_request(std::uint64_t id, const invoke_params& params,
                                               const encode_options& options, std::error_code& ec,
                                               std::vector<std::byte>&& head_storage = {});

/// Sets, in place, the deadline of an invoke request that `encode_request(id, invoke_params)`
/// encoded with a deadline: what a client sends for a call it held ([LIMIT-13]). That encoder
/// writes the deadline last, as a float 64 (section 12), so nothing else in the frame moves.
SLICERBRIDGE_DECL void set_request_deadline(encoded_frame& request, double seconds);

/// What a call's `deadline` leaves once it has waited `waited` seconds before being sent
/// ([LIMIT-13]): never below 0. One that is not a finite number >= 0 is left as it is, for the
/// server to refuse ([INV-7]).
inline double remaining_deadline(double deadline, double waited) noexcept {
    if (!(deadline >= 0.0 && deadline <= std::numeric_limits<double>::max())) {
        return deadline;
    }
    return std::max(0.0, deadline - waited);
}

namespace detail {
/// The params of an invoke request in its usual form, read straight into `params` with its id,
/// without building a value for the head: the head of write_request with method `invoke`
/// (no descriptors), params a map with short keys holding a string `processor`, an empty
/// `inputs` map, a `parameters` map of short names and bool, number, string or array values,
/// and a `deadline` number. False for anything else (`params` then holds what was read):
/// the caller then decodes the frame with decode_frame, decode_message and
/// invoke_params::from_value, which report every error. When true, those would read the same
/// request, without error, and the same params.
SLICERBRIDGE_DECL bool decode_usual_invoke(const received_frame& frame,
                                           const limits& receiver_limits, const codec_set& allowed,
                                           std::uint64_t& id, invoke_params& params);
} // namespace detail

struct invoke_result {
    std::vector<std::pair<std::string, data_value>> outputs;
    /// The values of scalar outputs ([CAT-7], version 1.1), beside the data outputs on the wire.
    std::vector<std::pair<std::string, parameter_value>> scalars{};

    SLICERBRIDGE_DECL const data_value* output(std::string_view name) const noexcept;
    SLICERBRIDGE_DECL const parameter_value* scalar(std::string_view name) const noexcept;

    template <class T>
    const T* output_as(std::string_view name) const noexcept {
        const data_value* d = output(name);
        return d == nullptr ? nullptr : std::get_if<T>(d);
    }

    /// Reads `{outputs: {name: data value or parameter value}}`: a map is a data value,
    /// anything else a scalar output's value. Errors are `invalid_message` (a client reads
    /// this; `invalid_argument` is only for invoke params, [ERR-4]).
    SLICERBRIDGE_DECL static invoke_result from_value(const value& v, std::error_code& ec);
    SLICERBRIDGE_DECL static invoke_result from_value(const value& v, std::error_code& ec,
                                                      std::string& what);
};

SLICERBRIDGE_DECL value to_value(const invoke_result& r);

/// Encodes the answer `result` to request `id`: the bytes of `encode_message` for
/// `response::success(id, to_value(result))` with `timings`, without building that value first.
/// `head_storage`: memory for the head, as for `encode_request`.
SLICERBRIDGE_DECL encoded_frame encode_response(std::uint64_t id, const invoke_result& result,
                                                const std::optional<timings>& timings,
                                                const encode_options& options, std::error_code& ec,
                                                std::vector<std::byte>&& head_storage = {});

/// `r` as a peer of version `v` may see it ([VER-4]): before 1.1, without scalar outputs
/// ([CAT-7]) and image_series outputs ([SER-6]).
SLICERBRIDGE_DECL invoke_result result_for_version(invoke_result r, protocol_version v);

/// Checks invoke params against the processor's description, as every server must before
/// running it: [INV-2] (no unknown names, every required input and parameter present, data of
/// the slot's type and image kind, parameters of the slot's type within its constraints) and
/// [INV-3] (absent parameters take their default). Parameters are converted to their slot's
/// type (an int for a float slot becomes a double). Errors: `invalid_argument` with
/// `offending_name` set, or `unknown_processor` if the names differ.
SLICERBRIDGE_DECL void validate_invoke(const processor_description& description,
                                       invoke_params& params, std::error_code& ec,
                                       std::string& offending_name);
SLICERBRIDGE_DECL void validate_invoke(const processor_description& description,
                                       invoke_params& params, std::error_code& ec,
                                       std::string& offending_name, std::string& what);

/// Checks a processor's result before it is sent ([INV-4]): every non-optional output present,
/// every output declared and of its slot's type, a scalar within its slot's constraints.
/// Errors are `internal_error` with `offending_name` set.
SLICERBRIDGE_DECL void validate_invoke_result(const processor_description& description,
                                              const invoke_result& result, std::error_code& ec,
                                              std::string& offending_name);

} // namespace slicerbridge

#include <slicerbridge/message/impl/invoke.hpp>
#if defined(SLICERBRIDGE_HEADER_ONLY)
#include <slicerbridge/message/impl/invoke.ipp>
#endif

#endif
