#ifndef SLICERBRIDGE_DETAIL_UNIQUE_FUNCTION_HPP
#define SLICERBRIDGE_DETAIL_UNIQUE_FUNCTION_HPP
// A move-only std::function: completion handlers are often move-only, and Asio 1.22 has no
// any_completion_handler.

#include <memory>
#include <type_traits>
#include <utility>

namespace slicerbridge::detail {

template <class Signature>
class unique_function;

template <class R, class... Args>
class unique_function<R(Args...)> {
public:
    unique_function() = default;

    template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, unique_function>>>
    unique_function(F&& f)
        : callable_(std::make_unique<model<std::decay_t<F>>>(std::forward<F>(f))) {}

    explicit operator bool() const noexcept { return callable_ != nullptr; }

    R operator()(Args... args) { return callable_->call(std::forward<Args>(args)...); }

private:
    struct concept_t {
        virtual ~concept_t() = default;
        virtual R call(Args... args) = 0;
    };
    template <class F>
    struct model final : concept_t {
        explicit model(F&& f) : f_(std::move(f)) {}
        explicit model(const F& f) : f_(f) {}
        R call(Args... args) override { return f_(std::forward<Args>(args)...); }
        F f_;
    };

    std::unique_ptr<concept_t> callable_;
};

} // namespace slicerbridge::detail

#endif
