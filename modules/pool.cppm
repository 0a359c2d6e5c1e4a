// zsync:pool — ThreadPoolIo's public handle. The implementation is in runtime/pool/.
//
// A work-stealing pool: N workers, each with its own deque (others steal from it), a global injector
// for tasks from outside the pool, idle workers parked on a futex. `async` queues the task on the
// calling worker (or the injector); it runs inline only when the worker's deque is full or no task
// block can be allocated. `concurrent` runs the task on a thread of its own (beyond the N workers, up
// to `max_concurrent` at once, then concurrency_unavailable). A worker that awaits runs tasks from its
// own deque until the awaited one is done, then blocks. Cancelling a task blocked in a syscall
// interrupts it. Destroying the pool cancels running tasks, fails queued ones with shut_down, and
// joins every thread.
module;
#include <string_view>
#include <utility>
export module zsync:pool;
import :io;

export namespace zsync {

class ThreadPoolIo {
public:
    static constexpr std::string_view name = "pool";

    struct Options {
        unsigned workers = 0;            // 0: one per CPU
        unsigned max_concurrent = 1024;  // threads `concurrent` may add beyond the workers
    };

    inline ThreadPoolIo() : ThreadPoolIo(Options{}) {}
    explicit ThreadPoolIo(Options options);
    // The shutdown protocol: running tasks are cancelled, queued ones fail with shut_down, every thread
    // is joined. Afterwards any Io still held reports io_gone; Futures still held can be awaited.
    ~ThreadPoolIo();
    ThreadPoolIo(const ThreadPoolIo&) = delete;
    ThreadPoolIo& operator=(const ThreadPoolIo&) = delete;

    // Thread-safe: every thread and every task may use the same Io.
    inline Io io() const noexcept { return io_; }
    unsigned workers() const noexcept;

    // Requests cancellation of the foreground: code that uses this Io outside any task (on BlockingIo's
    // model: a syscall it is blocked in is interrupted), and through it what that code awaits — the
    // task run() started. Delivered at the next unprotected cancel point. Thread-safe.
    void request_cancel() noexcept;

    // Runs f(io(), args...) as a task on the pool and blocks the calling thread until it returns.
    // Code outside any task (this thread, here) uses the pool's foreground cancellation state: use the
    // Io outside tasks from one thread at a time.
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
