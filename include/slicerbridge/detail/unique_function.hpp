#ifndef SLICERBRIDGE_DETAIL_UNIQUE_FUNCTION_HPP
#define SLICERBRIDGE_DETAIL_UNIQUE_FUNCTION_HPP
// A move-only std::function (completion handlers are often move-only, and Asio 1.22 has no
// any_completion_handler) that keeps a callable of up to `Capacity` bytes in itself rather than
// on the heap: the type-erased handlers made once per operation (a read, a call) then cost no
// allocation. Larger callables, or ones whose move may throw, go to the heap.

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace slicerbridge::detail {

template <class Signature, std::size_t Capacity = sizeof(void*)>
class unique_function;

template <class R, class... Args, std::size_t Capacity>
class unique_function<R(Args...), Capacity> {
public:
    unique_function() noexcept = default;

    template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, unique_function>>>
    unique_function(F&& f) { // NOLINT(google-explicit-constructor): as std::function
        construct(std::forward<F>(f));
    }

    unique_function(unique_function&& other) noexcept { take(other); }

    unique_function& operator=(unique_function&& other) noexcept {
        if (this != &other) {
            reset();
            take(other);
        }
        return *this;
    }

    unique_function(const unique_function&) = delete;
    unique_function& operator=(const unique_function&) = delete;

    ~unique_function() { reset(); }

    /// Holds `f` from now on, made in place (no move of a temporary unique_function).
    template <class F>
    void emplace(F&& f) {
        reset();
        construct(std::forward<F>(f));
    }

    /// Destroys the callable held, if any.
    void reset() noexcept {
        if (ops_ != nullptr) {
            const ops_t* ops = ops_;
            ops_ = nullptr;
            ops->destroy(*this);
        }
    }

    explicit operator bool() const noexcept { return ops_ != nullptr; }

    R operator()(Args... args) { return ops_->call(*this, std::forward<Args>(args)...); }

    /// Whether a callable of type `F` is kept in the object itself.
    template <class F>
    static constexpr bool fits_inline() noexcept {
        return sizeof(F) <= Capacity && alignof(F) <= alignof(std::max_align_t) &&
               std::is_nothrow_move_constructible_v<F>;
    }

private:
    struct ops_t {
        R (*call)(unique_function&, Args&&...);
        void (*move)(unique_function& from, unique_function& to) noexcept; // then destroys from
        void (*destroy)(unique_function&) noexcept;
    };

    template <class F>
    static F& inline_target(unique_function& self) noexcept {
        return *std::launder(reinterpret_cast<F*>(&self.storage_));
    }

    template <class F>
    static constexpr ops_t inline_ops = {
        [](unique_function& self, Args&&... args) -> R {
            return inline_target<F>(self)(std::forward<Args>(args)...);
        },
        [](unique_function& from, unique_function& to) noexcept {
            F& source = inline_target<F>(from);
            ::new (static_cast<void*>(&to.storage_)) F(std::move(source));
            source.~F();
        },
        [](unique_function& self) noexcept { inline_target<F>(self).~F(); },
    };

    template <class F>
    static constexpr ops_t heap_ops = {
        [](unique_function& self, Args&&... args) -> R {
            return (*static_cast<F*>(self.heap_))(std::forward<Args>(args)...);
        },
        [](unique_function& from, unique_function& to) noexcept { to.heap_ = from.heap_; },
        [](unique_function& self) noexcept { delete static_cast<F*>(self.heap_); },
    };

    void take(unique_function& other) noexcept {
        if (other.ops_ != nullptr) {
            other.ops_->move(other, *this);
            ops_ = other.ops_;
            other.ops_ = nullptr;
        }
    }

    template <class F>
    void construct(F&& f) {
        using stored = std::decay_t<F>;
        if constexpr (fits_inline<stored>()) {
            ::new (static_cast<void*>(&storage_)) stored(std::forward<F>(f));
            ops_ = &inline_ops<stored>;
        } else {
            heap_ = new stored(std::forward<F>(f));
            ops_ = &heap_ops<stored>;
        }
    }

    const ops_t* ops_ = nullptr;
    union {
        alignas(std::max_align_t) unsigned char storage_[Capacity];
        void* heap_;
    };
};

} // namespace slicerbridge::detail

#endif
