// zsync:select — Select<U>: the first of several tasks to finish (Zig 0.16's Io.Select).
//
// Protocol: a Group plus a Queue of (index, Result<U>) with one slot per task that may be started.
//   1. async: starts a task in the group, on its own unit of concurrency, that runs f(io, args...)
//      and puts (index, result) into the queue. The queue holds one slot per task, so that put never
//      waits.
//   2. wait: gets the first item (a cancel point), then cancel_rest.
//   3. cancel_rest (also cancel() and the destructor): close the queue first, so a task that finishes
//      from now on fails its put with closed and destroys its own result; then cancel and join the
//      group; then drain the queue, destroying every result that arrived before the close. So every
//      result is either returned by wait or destroyed exactly once: none is lost, none leaks.
//   Ordering: the queue's mutex orders a task's put against close; the group's join makes every
//   task's destruction of its own result happen before cancel_rest returns.
module;
#include <cstddef>
#include <functional>
#include <type_traits>
#include <utility>
export module zsync:select;
import :error;
import :result;
import :time;
import :io;
import :queue;

export namespace zsync {

// What Select::wait returns: which task finished first (its start order, from 0) and its result.
template <class U>
struct Selected {
    std::size_t index;
    Result<U> result;
};

// Runs up to `max_tasks` tasks whose results are Result<U> (a task may return U or Result<U>), and
// yields the first to finish; the others are then cancelled and their results destroyed.
// Owned by one task; not thread-safe (the tasks it starts run concurrently, of course). One-shot:
// after wait or cancel, async fails with Errc::closed. Cancel point: wait.
template <class U>
class Select {
public:
    explicit Select(std::size_t max_tasks) : queue_(max_tasks ? max_tasks : 1), max_(max_tasks) {}
    Select(const Select&) = delete;
    Select& operator=(const Select&) = delete;
    // Cancels and drains what is still running (as cancel).
    ~Select() { if (started_ && !finished_) cancel_rest(io_); }

    // Starts f(io, args...) as task number `started()` (its index in Selected), always on its own unit
    // of concurrency (Group::concurrent): a race is only a race when its tasks run at the same time,
    // and wait() blocks its caller's thread, so a task queued behind it (or run inline) could decide
    // the outcome by its start order alone. Errors (op select_async): concurrency_unavailable on a
    // backend without concurrency (BlockingIo) or when none is left — never a silent inline run;
    // invalid_argument when max_tasks tasks were already started (or max_tasks was 0); closed after
    // wait / cancel; wrong_io when `io` is not the Io of the earlier tasks. On an error nothing
    // was started and the arguments were destroyed.
    template <class F, class... A>
        requires TaskFunction<F, A...>
    Result<void> async(Io io, F&& f, A&&... args) {
        Result<void> r = spawn(io, std::forward<F>(f), std::forward<A>(args)...);
        if (!r) return Error(r.error().code(), Op::select_async);
        return r;
    }
    template <class F, class... A>
        requires(!TaskFunction<F, A...>)
    Result<void> async(Io, F&&, A&&...) { detail::report_bad_task<F, A...>(); return {}; }

    // Waits for the first task to finish and returns its index and result; then cancels the others and
    // destroys their results. Errors (op select_wait): invalid_argument when no task was started;
    // closed after an earlier wait / cancel; canceled (the other tasks are then cancelled too).
    Result<Selected<U>> wait(Io io) noexcept {
        if (finished_) return Error(Errc::closed, Op::select_wait);
        if (!started_) return Error(Errc::invalid_argument, Op::select_wait);
        if (io != io_) return Error(Errc::wrong_io, Op::select_wait);
        Result<Item> first = queue_.get(io);
        cancel_rest(io);
        if (!first) return detail::sync_error(first.error(), Op::select_wait);
        return Selected<U>{first->index, std::move(first->result)};
    }

    // Cancels every task, waits for them and destroys their results. Idempotent. Not a cancel point.
    // (With another Io than the tasks', the tasks' own Io is used: they are always joined.)
    void cancel(Io) noexcept {
        if (started_ && !finished_) cancel_rest(io_);
        finished_ = true;
    }

    std::size_t started() const noexcept { return started_; }

private:
    struct Item {
        std::size_t index;
        Result<U> result;
    };

    template <class F, class... A>
    static void run_one(Io io, Queue<Item>* q, std::size_t index, F f, A... args) {
        Item item{index, detail::invoke_run(io, std::move(f), std::move(args)...)};
        // The queue has a slot per task, so the put never waits for space; it may wait a moment for the
        // queue's lock, which must not turn into a cancel point that drops a finished result (the
        // owner could then wait for it forever). On closed (the select is done) the item, and what it
        // holds, is destroyed here.
        CancelShield shield(io);
        (void)q->put(io, std::move(item));
    }

    template <class F, class... A>
    Result<void> spawn(Io io, F&& f, A&&... args) {
        if (finished_) return Error(Errc::closed, Op::select_async);
        if (started_ == max_) return Error(Errc::invalid_argument, Op::select_async);
        if (started_ && io != io_) return Error(Errc::wrong_io, Op::select_async);
        io_ = io;
        auto* fn = &run_one<std::decay_t<F>, std::decay_t<A>...>;
        Result<void> r = group_.concurrent(io, fn, &queue_, started_, std::forward<F>(f), std::forward<A>(args)...);
        if (r) ++started_;
        return r;
    }

    void cancel_rest(Io io) noexcept {
        finished_ = true;
        queue_.close(io);
        group_.cancel(io);
        while (queue_.try_get(io)) {}  // destroys each result; stops at closed (empty)
    }

    Queue<Item> queue_;  // declared before group_: destroyed after it
    Group group_;
    const std::size_t max_;
    std::size_t started_ = 0;
    bool finished_ = false;
    Io io_{};
};

}  // namespace zsync
