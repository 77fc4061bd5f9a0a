#ifndef SLICERBRIDGE_PROCESSOR_HPP
#define SLICERBRIDGE_PROCESSOR_HPP
// What a server runs: a processor's description and the callable that computes it.

#include <slicerbridge/error.hpp>
#include <slicerbridge/message/catalog.hpp>
#include <slicerbridge/message/invoke.hpp>
#include <slicerbridge/value.hpp>

#include <atomic>
#include <functional>
#include <stdexcept>
#include <string>

namespace slicerbridge {

/// Thrown by a processor to fail a call with a code of its own (1000-65535, [ERR-1]) or a
/// protocol-defined one such as `error::invalid_argument`. Its message and details go to the
/// client: they must not contain patient data ([ERR-3]).
class processor_error : public std::runtime_error {
public:
    processor_error(int code, const std::string& message, value details = {})
        : std::runtime_error(message), code_(code), details_(std::move(details)) {}
    processor_error(error code, const std::string& message, value details = {})
        : processor_error(static_cast<int>(code), message, std::move(details)) {}

    int code() const noexcept { return code_; }
    const value& details() const noexcept { return details_; }

private:
    int code_;
    value details_;
};

/// Thrown by `call_context::throw_if_cancelled` so a processor can stop from deep inside.
class call_cancelled : public std::exception {
public:
    const char* what() const noexcept override { return "call cancelled"; }
};

/// A running call, as its processor sees it: progress goes out through it and cancellation
/// comes in. Safe to use from the thread running the processor and from threads it starts.
class call_context {
public:
    virtual ~call_context() = default;

    /// Reports progress. Fractions are clamped to [0, 1] and never go back ([PROG-1]): a smaller
    /// value than one reported before is sent as the earlier one. Cheap enough to call per slice.
    virtual void report_progress(double fraction, std::string_view message = {}) = 0;

    /// True once the client cancelled the call, its deadline passed or its connection dropped.
    virtual bool cancelled() const noexcept = 0;

    /// Throws `call_cancelled` if `cancelled()`.
    void throw_if_cancelled() const {
        if (cancelled()) {
            throw call_cancelled();
        }
    }
};

/// The computation: gets inputs and parameters (defaults filled in and constraints checked against
/// the description before it runs) and returns the outputs.
using processor_function = std::function<invoke_result(call_context&, const invoke_params&)>;

/// A processor as a server registers it.
struct processor {
    processor_description description;
    processor_function run;
};

} // namespace slicerbridge

#endif
