// zsync:blocking — BlockingIo's public handle. The implementation is in runtime/blocking/.
//
// BlockingIo performs every Operation as the syscall itself on the calling thread; `async` runs the
// task inline and `concurrent` reports concurrency_unavailable. It is the reference backend: the same
// user functions must behave identically on it and on every other backend.
module;
#include <string_view>
#include <utility>
export module zsync:blocking;
import :io;

export namespace zsync {

class BlockingIo {
public:
    static constexpr std::string_view name = "blocking";

    BlockingIo() noexcept;
    // Any Io still held afterwards reports Errc::io_gone from every call instead of touching freed state.
    ~BlockingIo();
    BlockingIo(const BlockingIo&) = delete;
    BlockingIo& operator=(const BlockingIo&) = delete;

    // The Io for this backend. A BlockingIo runs one task tree at a time: use its Io from one thread at
    // a time (another BlockingIo serves another thread).
    inline Io io() const noexcept { return io_; }

    // Runs f(io(), args...) on the calling thread and returns its result as a Result (the entry point
    // every backend has, with the same signature).
    template <class F, class... A>
        requires TaskFunction<F, A...>
    auto run(F&& f, A&&... args) {
        return detail::invoke_run(io_, std::forward<F>(f), std::forward<A>(args)...);
    }
    template <class F, class... A>
        requires(!TaskFunction<F, A...>)
    void run(F&&, A&&...) { detail::report_bad_task<F, A...>(); }

    // Requests cancellation of the running task: delivered at its next unprotected cancel point. A
    // syscall it is blocked in (read on a pipe, sleep, futex wait) is interrupted. Thread-safe; returns
    // once the request is recorded and any interruptible syscall has been signalled.
    void request_cancel() noexcept;

private:
    Io io_;
};

}  // namespace zsync
