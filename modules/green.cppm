// zsync:green — GreenThreadsIo's public handle. The implementation is in runtime/green/.
//
// M:N green threads: N worker threads (default: one per CPU), each running fibers on pooled, guarded
// stacks and owning a reactor driver (io_uring, or epoll; zsync:reactor). Runnable fibers sit in
// per-worker work-stealing deques (taken oldest first, so a woken fiber waits behind the ones already
// runnable) and an injector for spawns from outside the workers; idle workers search, then block in
// their driver, and a spawn wakes one only when nobody searches. A fiber that waits on an Operation is
// parked: its worker runs the next fiber or turns its driver, and the fiber may resume on another
// worker (Operations capture errno themselves).
//
// Slots, as docs/backends.md lists them:
//   async      - a new fiber, queued (never inline) unless no stack can be had: then it runs inline.
//   concurrent - always a new fiber; concurrency_unavailable only when no stack can be had (the stack
//                pool's limit, vm.max_map_count, memory).
//   a wait     - inside a fiber: the Operation goes to the worker's driver and the fiber parks. Outside
//                any fiber (a thread that is not a worker, e.g. main()): the syscall itself on that
//                thread, like ThreadPoolIo's foreground (so such a thread is "a thread of another
//                backend" for the cross-backend futex rule).
// Destroying it cancels every task, waits for them to end, and joins the workers; afterwards every Io
// still held reports io_gone and Futures still held can be awaited.
module;
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
export module zsync:green;
import :io;
import :reactor;

export namespace zsync {

class GreenThreadsIo {
public:
    static constexpr std::string_view name = "green";

    struct Options {
        unsigned workers = 0;            // 0: one per CPU (std::thread::hardware_concurrency)
        std::size_t stack_bytes = 0;     // usable bytes per fiber stack (0: the fiber layer's default)
        std::size_t max_fibers = 0;      // live fibers at most (0: no limit but memory and mappings)
        reactor::Kind reactor = reactor::Kind::automatic;  // ZSYNC_REACTOR=uring|epoll applies to automatic
    };

    inline GreenThreadsIo() : GreenThreadsIo(Options{}) {}
    explicit GreenThreadsIo(Options options);
    ~GreenThreadsIo();
    GreenThreadsIo(const GreenThreadsIo&) = delete;
    GreenThreadsIo& operator=(const GreenThreadsIo&) = delete;

    // Thread-safe: every thread and every fiber may use the same Io.
    inline Io io() const noexcept { return io_; }
    unsigned workers() const noexcept;
    // Which reactor the workers' drivers use (uring or epoll).
    reactor::Kind reactor_kind() const noexcept;

    // Requests cancellation of the foreground: code that uses this Io outside any fiber (its blocking
    // syscall is interrupted) and, through it, what that code awaits. Thread-safe.
    void request_cancel() noexcept;

    // Counters for tests and the stress programs: fibers alive now, fibers ever started, and how many
    // times a fiber resumed on another worker than the one it last ran on.
    struct Stats {
        std::size_t live_fibers;
        std::uint64_t spawned;
        std::uint64_t migrations;
        std::size_t stacks_cached;  // in the shared pool (each worker also keeps up to 16 of its own)
    };
    Stats stats() const noexcept;

    // Runs f(io(), args...) as a fiber and blocks the calling thread until it returns.
    template <class F, class... A>
        requires TaskFunction<F, A...>
    auto run(F&& f, A&&... args) {
        auto fut = io_.async(std::forward<F>(f), std::forward<A>(args)...);
        return fut.await(io_);
    }
    template <class F, class... A>
        requires(!TaskFunction<F, A...>)
    void run(F&&, A&&...) { detail::report_bad_task<F, A...>(); }

private:
    Io io_;
};

}  // namespace zsync
