#ifndef SLICERBRIDGE_SERVER_RUN_PROCESSOR_HPP
#define SLICERBRIDGE_SERVER_RUN_PROCESSOR_HPP
// Runs one admitted call's processor and turns whatever it does (returns, throws, returns outputs
// its description does not declare) into the call's answer. No I/O: the session hands the answer
// to its connection.

#include <slicerbridge/detail/type_name.hpp>
#include <slicerbridge/message/invoke.hpp>
#include <slicerbridge/message/message.hpp>
#include <slicerbridge/processor.hpp>
#include <slicerbridge/version.hpp>

#include <functional>
#include <new>
#include <string>

namespace slicerbridge::detail {

/// What run_processor() needs besides the call.
struct run_settings {
    /// The version negotiated with the caller: a 1.0 peer gets results it can read ([SER-6]).
    protocol_version version = protocol_max;
    /// Whether an unexpected exception's text goes to the client ([ERR-3]).
    bool expose_errors = false;
    /// Receives the line logged for an unexpected exception; may be empty.
    std::function<void(const std::string&)> log;
};

/// The answer's result or error. Only processor_error messages are meant for the client: any
/// other exception's text may quote data ([ERR-3]), so it goes to the log, and to the client
/// only with `expose_errors`. Given `produced`, a result is left there, not in the answer, for
/// the caller to write with encode_response (no value tree of it).
inline response run_processor(const processor& proc, call_context& context, std::uint64_t id,
                              const invoke_params& params, const run_settings& settings,
                              std::optional<invoke_result>* produced = nullptr) {
    const auto failed = [&](std::string line) {
        if (settings.log) {
            settings.log("call " + std::to_string(id) + " to " + proc.description.name + " " +
                         line);
        }
    };
    response reply;
    reply.id = id;
    try {
        invoke_result result = proc.run(context, params);
        std::error_code ec;
        std::string offending;
        validate_invoke_result(proc.description, result, ec, offending);
        if (ec) { // [INV-4]
            reply.error = error_info::from(make_error_code(error::processor_failed),
                                           "the processor's output " + offending +
                                               " does not match its description");
        } else {
            if (settings.version < protocol_version{1, 1}) {
                result = result_for_version(std::move(result), settings.version);
            }
            if (produced != nullptr) {
                produced->emplace(std::move(result));
            } else {
                reply.result = to_value(result);
            }
        }
    } catch (const call_cancelled&) {
        reply.error = error_info::from(make_error_code(error::cancelled), "call cancelled");
    } catch (const processor_error& e) {
        reply.error = error_info{e.code(), e.what(), e.details()};
    } catch (const std::bad_alloc&) {
        reply.error = error_info::from(make_error_code(error::internal_error), "out of memory");
    } catch (const std::exception& e) {
        const std::string type = detail::type_name(e);
        failed("raised " + type + ": " + e.what());
        std::string text = "the processor raised " + type;
        text += settings.expose_errors ? ": " + std::string(e.what())
                                       : std::string(" (its message is in the server's log)");
        reply.error = error_info::from(make_error_code(error::processor_failed), text);
    } catch (...) {
        failed("threw something that is not an exception");
        reply.error =
            error_info::from(make_error_code(error::processor_failed), "the processor failed");
    }
    return reply;
}

} // namespace slicerbridge::detail

#endif
