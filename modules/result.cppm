// zsync:result — Result<T>: a value or an Error, shaped like std::expected.
//
// Our own class because libstdc++ 12 lacks std::expected's monadic operations and wasm32 builds use
// libc++ without exceptions. Nothing here throws or allocates. Reading the value of a Result that holds
// an error (or the error of one that holds a value) is a precondition violation: it traps when
// ZSYNC_CHECKED is defined (the sanitizer presets define it) and is undefined behaviour otherwise, as
// with std::expected's operator*.
module;
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
export module zsync:result;
import :error;

namespace zsync::detail {
[[noreturn]] inline void result_precondition_failed() noexcept { __builtin_trap(); }
inline void check_result(bool ok) noexcept {
#ifdef ZSYNC_CHECKED
    if (!ok) result_precondition_failed();
#else
    (void)ok;
#endif
}
}  // namespace zsync::detail

export namespace zsync {

template <class T> class Result;

template <class T> struct is_result : std::false_type {};
template <class T> struct is_result<Result<T>> : std::true_type {};
template <class T> inline constexpr bool is_result_v = is_result<std::remove_cvref_t<T>>::value;

// A value of type T or an Error. Implicitly built from either; test with `if (r)` or has_value().
template <class T>
class [[nodiscard]] Result {
    static_assert(!std::is_reference_v<T> && !std::is_same_v<std::remove_cv_t<T>, Error>);

public:
    using value_type = T;

    Result() requires std::is_default_constructible_v<T> : has_(true) { std::construct_at(&value_); }
    Result(const T& v) requires std::is_copy_constructible_v<T> : has_(true) { std::construct_at(&value_, v); }
    Result(T&& v) : has_(true) { std::construct_at(&value_, std::move(v)); }
    template <class U>
        requires(!std::is_same_v<std::remove_cvref_t<U>, T> && !std::is_same_v<std::remove_cvref_t<U>, Error> &&
                 !is_result_v<U> && std::is_constructible_v<T, U &&>)
    Result(U&& v) : has_(true) { std::construct_at(&value_, std::forward<U>(v)); }
    Result(Error e) noexcept : has_(false) { std::construct_at(&error_, e); }

    // Trivially copyable and destructible when T is (so an Operation, which holds a Result, is too).
    Result(const Result&) requires std::is_trivially_copy_constructible_v<T> = default;
    Result(Result&&) requires std::is_trivially_move_constructible_v<T> = default;
    Result& operator=(const Result&) requires std::is_trivially_copyable_v<T> = default;
    Result& operator=(Result&&) requires std::is_trivially_copyable_v<T> = default;
    ~Result() requires std::is_trivially_destructible_v<T> = default;

    Result(const Result& o) requires(std::is_copy_constructible_v<T> && !std::is_trivially_copy_constructible_v<T>) : has_(o.has_) {
        if (has_) std::construct_at(&value_, o.value_);
        else std::construct_at(&error_, o.error_);
    }
    Result(Result&& o) noexcept(std::is_nothrow_move_constructible_v<T>) requires(!std::is_trivially_move_constructible_v<T>) : has_(o.has_) {
        if (has_) std::construct_at(&value_, std::move(o.value_));
        else std::construct_at(&error_, o.error_);
    }
    Result& operator=(const Result& o) requires(std::is_copy_constructible_v<T> && !std::is_trivially_copyable_v<T>) {
        if (this != &o) { destroy(); has_ = o.has_; if (has_) std::construct_at(&value_, o.value_); else std::construct_at(&error_, o.error_); }
        return *this;
    }
    Result& operator=(Result&& o) noexcept(std::is_nothrow_move_constructible_v<T>) requires(!std::is_trivially_copyable_v<T>) {
        if (this != &o) { destroy(); has_ = o.has_; if (has_) std::construct_at(&value_, std::move(o.value_)); else std::construct_at(&error_, o.error_); }
        return *this;
    }
    ~Result() requires(!std::is_trivially_destructible_v<T>) { destroy(); }

    bool has_value() const noexcept { return has_; }
    explicit operator bool() const noexcept { return has_; }

    // Precondition: has_value().
    T& value() & noexcept { detail::check_result(has_); return value_; }
    const T& value() const& noexcept { detail::check_result(has_); return value_; }
    T&& value() && noexcept { detail::check_result(has_); return std::move(value_); }
    T& operator*() & noexcept { return value(); }
    const T& operator*() const& noexcept { return value(); }
    T&& operator*() && noexcept { return std::move(*this).value(); }
    T* operator->() noexcept { return &value(); }
    const T* operator->() const noexcept { return &value(); }

    // Precondition: !has_value().
    Error error() const noexcept { detail::check_result(!has_); return error_; }

    template <class U> T value_or(U&& fallback) const& { return has_ ? value_ : static_cast<T>(std::forward<U>(fallback)); }
    template <class U> T value_or(U&& fallback) && { return has_ ? std::move(value_) : static_cast<T>(std::forward<U>(fallback)); }

    // f(T&&) -> Result<U>; an error passes through untouched. A callable that cannot take the value,
    // or returns something other than a Result, is one static_assert naming the mistake (the return
    // type is deduced inside, so no invoke_result error precedes it).
    template <class F> auto and_then(F&& f) && {
        static_assert(std::is_invocable_v<F, T&&>, "zsync: and_then's callable must be invocable with the value (T&&)");
        if constexpr (std::is_invocable_v<F, T&&>) {
            using R = std::invoke_result_t<F, T&&>;
            static_assert(is_result_v<R>, "zsync: and_then's callable must return a zsync::Result");
            if constexpr (is_result_v<R>) {
                if (has_) return std::remove_cvref_t<R>(std::forward<F>(f)(std::move(value_)));
                return std::remove_cvref_t<R>(error_);
            }
        }
    }
    // f(T&&) -> U, wrapped as Result<U> (U may be void). A callable that cannot take the value is one
    // static_assert naming the mistake.
    template <class F> auto transform(F&& f) && {
        static_assert(std::is_invocable_v<F, T&&>, "zsync: transform's callable must be invocable with the value (T&&)");
        if constexpr (std::is_invocable_v<F, T&&>) {
            using U = std::invoke_result_t<F, T&&>;
            if (!has_) return Result<U>(error_);
            if constexpr (std::is_void_v<U>) { std::forward<F>(f)(std::move(value_)); return Result<U>(); }
            else return Result<U>(std::forward<F>(f)(std::move(value_)));
        }
    }

private:
    void destroy() noexcept { if (has_) std::destroy_at(&value_); }
    union { T value_; Error error_; };
    bool has_;
};

// Success or an Error. `return {};` is success.
template <>
class [[nodiscard]] Result<void> {
public:
    using value_type = void;
    constexpr Result() noexcept = default;
    constexpr Result(Error e) noexcept : error_(e) {}
    constexpr bool has_value() const noexcept { return error_.code() == Errc::ok; }
    constexpr explicit operator bool() const noexcept { return has_value(); }
    constexpr void value() const noexcept { detail::check_result(has_value()); }
    constexpr Error error() const noexcept { detail::check_result(!has_value()); return error_; }
    // f() -> Result<U>, run only on success; same diagnostics as Result<T>::and_then.
    template <class F> auto and_then(F&& f) const {
        static_assert(std::is_invocable_v<F>, "zsync: and_then's callable on Result<void> must take no arguments");
        if constexpr (std::is_invocable_v<F>) {
            using R = std::invoke_result_t<F>;
            static_assert(is_result_v<R>, "zsync: and_then's callable must return a zsync::Result");
            if constexpr (is_result_v<R>) {
                if (has_value()) return std::remove_cvref_t<R>(std::forward<F>(f)());
                return std::remove_cvref_t<R>(error_);
            }
        }
    }

private:
    Error error_{};
};

// The Result type a function returning R produces through io.async: R itself when it is a Result,
// otherwise Result<R>.
template <class R> struct as_result { using type = Result<R>; };
template <class T> struct as_result<Result<T>> { using type = Result<T>; };
template <class R> using as_result_t = typename as_result<std::remove_cvref_t<R>>::type;

}  // namespace zsync
