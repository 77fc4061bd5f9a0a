#ifndef SLICERBRIDGE_SERVER_METHODS_HPP
#define SLICERBRIDGE_SERVER_METHODS_HPP
// What a server does with each request method once the connection machine has admitted the
// request: answer it at once (ping, catalog, describe, an unknown method, an invoke that is
// refused), start a call, or begin the goodbye. No I/O: the session carries the outcome out.

#include <slicerbridge/detail/field_reader.hpp>
#include <slicerbridge/message/catalog.hpp>
#include <slicerbridge/message/invoke.hpp>
#include <slicerbridge/message/message.hpp>
#include <slicerbridge/server/connection_machine.hpp>
#include <slicerbridge/server/state.hpp>
#include <slicerbridge/version.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace slicerbridge::detail {

/// A response carrying `ec` under `id` (none: a connection-level error).
inline message error_response(std::optional<std::uint64_t> id, std::error_code ec, std::string text,
                              value details = {}) {
    response reply;
    reply.id = id;
    reply.error = error_info{ec.value(), std::move(text), std::move(details)};
    return message(std::move(reply));
}

inline message unknown_processor_response(const server_state& state, std::uint64_t id,
                                          const std::string& name) {
    return error_response(id, make_error_code(error::unknown_processor),
                          state.unknown_processor_message(name),
                          value(value::map{{"processor", value(name)}}));
}

enum class request_action {
    answer,     // send `reply`
    start_call, // compute `params` with `called`; counted in the server's pending calls
    goodbye,    // drain, then answer the goodbye ([BYE-2])
};

struct request_outcome {
    request_action action = request_action::answer;
    message reply;
    const registered_processor* called = nullptr;
    invoke_params params;
};

/// Decides an invoke whose params are read into `out.params`, as handle_request does. `recent`
/// is the processor the connection called last (or null), kept for the next call: most calls
/// name the one before's, found again without a lookup.
inline void handle_invoke(std::uint64_t id, request_outcome& out, server_state& state,
                          protocol_version version, std::size_t open_calls,
                          std::size_t unsent_answers, const registered_processor*& recent) {
    const auto refuse = [&](message reply) { out.reply = std::move(reply); };
    auto& params = out.params;
    const registered_processor* called = state.find(params.processor, recent);
    if (called == nullptr || !offered_at_version(called->proc.description, version)) {
        return refuse(unknown_processor_response(state, id, params.processor));
    }
    // [SER-6]: a 1.0 peer may use only the slots its description showed (a copy of the
    // description only then: one operand of `?:` a copy would make both copies)
    std::error_code ec;
    std::string what;
    std::string offending;
    if (version < protocol_version{1, 1}) {
        validate_invoke(description_for_version(called->proc.description, version), params, ec,
                        offending, what);
    } else {
        validate_invoke(called->proc.description, params, ec, offending, what);
    }
    if (ec) { // [INV-2]
        return refuse(error_response(id, ec, what, value(value::map{{"name", value(offending)}})));
    }
    const auto too_many = [&](std::string text, const char* bound, std::uint64_t value_of_bound) {
        refuse(error_response(id, make_error_code(error::too_many_in_flight), std::move(text),
                              value(value::map{{bound, value(value_of_bound)}})));
    };
    const auto max_in_flight = state.options.receive_limits.max_in_flight;
    if (!admits_invoke(open_calls, unsent_answers, max_in_flight)) { // [LIMIT-2]
        return too_many("too many calls open", "max_in_flight", max_in_flight);
    }
    if (!state.try_admit_call()) { // [LIMIT-12]
        return too_many("the server has too many calls open; try again later", "max_pending_calls",
                        state.options.max_pending_calls);
    }
    out.action = request_action::start_call;
    out.called = called;
}

/// Decides a request into `out` (as made). `open_calls` and `unsent_answers` are the
/// connection's, counted against max_in_flight ([LIMIT-2]). An invoke that starts a call is
/// counted in the server's pending calls; the caller ends that with `state.finish_call()`.
/// `recent` is handle_invoke's.
inline void handle_request(request& req, server_state& state, protocol_version version,
                           std::size_t open_calls, std::size_t unsent_answers, request_outcome& out,
                           const registered_processor*& recent) {
    const auto answer = [&](value result) {
        response reply;
        reply.id = req.id;
        reply.result = std::move(result);
        out.reply = message(std::move(reply));
    };
    const auto refuse = [&](message reply) { out.reply = std::move(reply); };
    const std::string_view method = req.method; // compared in word loads, no strlen
    if (is_literal(method, "ping")) {
        return answer(value(value::map{}));
    }
    if (is_literal(method, "catalog")) {
        return answer(version < protocol_version{1, 1} ? state.catalog_value_1_0
                                                       : state.catalog_value);
    }
    if (is_literal(method, "goodbye")) {
        out.action = request_action::goodbye;
        return;
    }
    if (!is_literal(method, "describe") && !is_literal(method, "invoke")) {
        return refuse(
            error_response(req.id, make_error_code(error::method_not_found), "unknown method"));
    }
    std::error_code ec;
    std::string what;
    if (is_literal(method, "describe")) {
        auto params = describe_params::from_value(req.params, ec, what);
        if (ec) { // [MSG-13]
            return refuse(error_response(req.id, ec, what));
        }
        const registered_processor* found = state.find(params.processor);
        if (found == nullptr || !offered_at_version(found->proc.description, version)) {
            return refuse(unknown_processor_response(state, req.id, params.processor));
        }
        return answer(to_value(description_for_version(found->proc.description, version)));
    }
    std::string offending;
    out.params = invoke_params::from_value(req.params, ec, what, offending);
    if (ec) {
        value details;
        if (!offending.empty()) {
            details = value(value::map{{"name", value(offending)}});
        }
        return refuse(error_response(req.id, ec, what, std::move(details)));
    }
    handle_invoke(req.id, out, state, version, open_calls, unsent_answers, recent);
}

} // namespace slicerbridge::detail

#endif
