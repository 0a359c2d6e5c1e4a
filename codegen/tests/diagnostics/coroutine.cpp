// A C++20 coroutine annotated zsync::stackless. The coroutine machinery is a minimal one of the test's own.
import zsync;

namespace std {
template <class R, class... Args>
struct coroutine_traits {
    using promise_type = typename R::promise_type;
};
template <class P = void>
struct coroutine_handle {
    static coroutine_handle from_address(void*) noexcept { return {}; }
};
}  // namespace std

struct Ready {
    bool await_ready() const noexcept { return true; }
    template <class H>
    void await_suspend(H) const noexcept {}
    void await_resume() const noexcept {}
};

struct Task {
    struct promise_type {
        Task get_return_object() { return {}; }
        Ready initial_suspend() noexcept { return {}; }
        Ready final_suspend() noexcept { return {}; }
        void return_void() {}
        void unhandled_exception() {}
    };
};

[[clang::annotate("zsync::stackless")]]
Task tick(zsync::Io io) {
    (void)io.yield();
    co_return;
}
