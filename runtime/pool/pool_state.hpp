// ThreadPoolIo's internal state. Functions defined here must be `inline`: in a module purview an
// in-class definition is not implicitly inline, and two units include this.
// Include in the purview of a `module zsync;` unit, after the global
// module fragment has included <thread>, <vector>, <mutex> and ../detail/{atomics,cancel_state}.hpp,
// work_deque.hpp and injector.hpp.
#pragma once

namespace zsync::rt::pool {

struct Group;

// One task: a header followed by its argument block and its result, in one allocation.
//
// Ownership: a task started by async/concurrent ("owner task") is freed only by its Future's await or
// cancel, never by the pool, so a Future may even outlive the pool (its slots then find the task
// finished by shutdown). A group task is freed by whoever finishes it (worker or shutdown).
struct Task {
    // State values; waiter and canceling are bits. canceling: a cancellation was requested, so an
    // awaiter waits with timeouts and re-sends a lost interrupt (Pool::nudge_task); setting it also
    // changes the futex word, so an awaiter about to sleep without a timeout does not.
    enum : std::uint32_t { queued = 0, running = 1, done = 2, waiter = 4, canceling = 8 };

    const TaskDescriptor* desc;
    Group* group;              // null for owner tasks
    Task* queue_next = nullptr;  // injector link (only while queued there)
    Task* next = nullptr;        // group list link (for the task's whole life in the group)
    Task* prev = nullptr;        // group list link
    Atomic<std::uint32_t> state{queued};  // futex word: awaiters wait for `done`
    ThreadCancelState cancel;  // the task's cancellation (requested by cancel / group cancel / shutdown)
    // While this task waits in wait_done / wait_group (cancellably): what it waits for, so that a request
    // to cancel it is passed on at once (Pool::cancel_task). A signal to this task could not do it: the
    // awaited task may be running nested on this task's own thread, blocked in a syscall of its own.
    SpinLock await_lock;              // guards the three fields below
    Task* awaiting_task = nullptr;
    Group* awaiting_group = nullptr;
    bool propagated = false;          // a request was passed on during the current wait
    void* args;
    void* result;
    std::uint32_t block_size, block_align;
};

// The backend side of a zsync::Group (GroupState::head points here). Freed by group_await /
// group_cancel (the owner), never by the pool.
struct Group {
    // Futex word: the count of tasks not yet finished, and the canceling bit (set by cancel_group,
    // never cleared: an awaiter then waits with timeouts and re-sends lost interrupts, as for a Task).
    static constexpr std::uint32_t canceling = 1u << 31;
    static constexpr std::uint32_t count_mask = canceling - 1;
    Atomic<std::uint32_t> outstanding{0};
    // Guards the list. A mutex that sleeps, not a spin lock: when a group of N tasks is cancelled, the
    // finishing tasks queue on it while the canceller walks the list, and N spinning threads would take
    // the CPU from the canceller (the quadratic shutdown of issue 10).
    std::mutex lock;
    Task* head = nullptr;
    inline std::uint32_t count(std::memory_order mo) const noexcept { return outstanding.load(mo) & count_mask; }
};

class Pool;

// One worker thread: its deque, and the task it is running (for shutdown's cancellation sweep).
struct Worker {
    Pool* pool;
    unsigned index;
    WorkDeque<Task> deque;
    SpinLock current_lock;   // held while publishing/clearing `current` and while cancelling it
    Task* current = nullptr;
    bool searching = false;      // owner-only: this worker is counted in Pool::searching_
    // Owner-only, while searching: per victim, the position of the oldest task its deque held when
    // last looked at (-1: empty or not looked at yet). See Pool::search_once.
    std::vector<std::int64_t> sighted;
    // Owner-only: a task was pushed onto this worker's empty deque without a wake-up (Pool::spawn);
    // announce() makes it before this worker blocks in an Operation.
    bool unannounced = false;
    bool woke = false;      // owner-only: left park() and has not run a task since (Pool::became_active)
    long park_ns = 0;       // owner-only: the timeout of this worker's next timed park (Pool::park)
    Atomic<bool> exited{false};  // worker_main returned: shutdown may join without waiting
    std::thread thread;
};

// A thread started by `concurrent`. Kept (and joined) by the pool, never detached: a detached thread
// could still be running library code (and holding its std::thread state) after ~Pool returned.
struct Extra {
    std::thread thread;
    Task* task = nullptr;           // guarded by Pool::extra_mutex_; null once the task has ended
    Atomic<bool> finished{false};   // the thread is about to exit: joining it will not wait long
};

class Pool {
public:
    struct Config {
        unsigned workers;
        unsigned max_concurrent;  // extra threads for `concurrent`
    };
    explicit Pool(Config c);
    ~Pool();  // the shutdown protocol (scheduler.cpp)

    // Queues a task (or runs it inline under the saturation policy). False if shutting down.
    bool spawn(Task* t) noexcept;
    // The calling worker is about to block in an Operation: if it queued a task without waking
    // anyone (spawn's lone-task rule), wake a worker for it now. Cheap when there is nothing to do.
    void announce() noexcept;
    // Starts `t` on a thread of its own; false when the limit is reached or shutting down.
    bool spawn_concurrent(Task* t) noexcept;
    // Waits until `t` is done, running queued work of this worker meanwhile (await policy).
    void wait_done(Task* t) noexcept;
    // Waits until the group has no outstanding task. Returns false if the waiting task was
    // cancelled meanwhile (the group's tasks are then cancelled and joined before returning).
    bool wait_group(Group* g, bool cancelable) noexcept;
    // Requests cancellation of every task of `g` (group lock held while signalling).
    static void cancel_group(Group* g) noexcept;
    // Requests cancellation of `t` and passes it on to the task or group `t` is waiting for. Every
    // cancellation request of the pool goes through here (Future::cancel, groups, shutdown).
    static void cancel_task(Task* t) noexcept;
    // cancel_task, then waits (backing off, re-sending) until no request along t's await chain is
    // unacknowledged: the old synchronous request, for a single cancellation from outside (request_cancel).
    static void cancel_task_sync(Task* t) noexcept;
    // Re-sends the interrupt to `t` and along what it awaits where a request is unacknowledged (a lost
    // signal). Called by waiters when a wait for a cancelled task or group times out. True if anything
    // was still unacknowledged. The caller keeps `t` (or `g`) alive.
    static bool nudge_task(Task* t) noexcept;
    static bool nudge_group(Group* g) noexcept;

    // The task that code running outside any task stands for (BlockingIo's model: the thread that calls
    // the pool's Io directly, or blocks in run()): its cancellation state and what it awaits. It is
    // never queued or run. Use the Io outside tasks from one thread at a time.
    inline Task* foreground() noexcept { return &foreground_; }
    // The calling code's task: the task it runs in, else the foreground task.
    inline Task* current_or_foreground() noexcept;
    inline ThreadCancelState& current_cancel_state() noexcept { return current_or_foreground()->cancel; }

    // seq_cst: pairs with the sweep and with the `injecting` count in the shutdown protocol (Dekker).
    inline bool stopping() const noexcept { return stopping_.load(std::memory_order_seq_cst); }
    inline unsigned worker_count() const noexcept { return static_cast<unsigned>(workers_.size()); }

private:
    Task foreground_{};
    void worker_main(Worker& w) noexcept;
    void extra_main(Extra& e) noexcept;
    Task* find_work(Worker& w) noexcept;
    void dispatch(Worker* w, Task* t) noexcept;
    void notify() noexcept;
    void park(Worker& w) noexcept;
    void became_active(Worker& w) noexcept;
    bool any_work() noexcept;
    bool try_start_searching(Worker& w) noexcept;
    Task* search_once(Worker& w) noexcept;
    bool claim_wake_token() noexcept;
    void stop_searching(Worker& w, bool found_work) noexcept;

    std::vector<std::unique_ptr<Worker>> workers_;
    Injector<Task> injector_;
    Atomic<bool> stopping_{false};
    Atomic<std::uint32_t> injecting_{0};  // spawns from non-workers between their stopping check and push
    // Parking: idle workers sleep on `epoch`; a producer bumps it when a worker is parked and nobody is
    // `searching` (a worker without work that looks for some before it parks; see scheduler.cpp).
    // `parked_`: the parked workers (low half) and how many of them sleep without a timeout (high
    // half), in one word so that a worker's decision to sleep deep is made atomically with its count.
    alignas(64) Atomic<std::uint32_t> epoch_{0};
    alignas(64) Atomic<std::uint64_t> parked_{0};
    static constexpr std::uint64_t one_parked = 1, one_deep = std::uint64_t(1) << 32;
    static inline std::uint32_t parked_count(std::uint64_t v) noexcept { return static_cast<std::uint32_t>(v); }
    static inline std::uint32_t deep_count(std::uint64_t v) noexcept { return static_cast<std::uint32_t>(v >> 32); }
    alignas(64) Atomic<std::uint32_t> searching_{0};
    // Wake-ups notify() issued whose worker has not yet taken its place as a searcher (counted in
    // searching_ already, so that the spawns before it runs wake nobody else).
    Atomic<std::uint32_t> wake_tokens_{0};
    // Threads started by `concurrent` (joined when finished by a later spawn_concurrent, or by shutdown)
    // and how many of their tasks have not ended yet (the `max_concurrent` limit). Guarded by the mutex.
    unsigned max_concurrent_;
    std::mutex extra_mutex_;
    std::vector<std::unique_ptr<Extra>> extras_;
    unsigned extra_active_ = 0;
};

// The task running on the calling thread (nullptr outside any task) and its worker (nullptr on a
// thread that is not one of this process's pool workers).
Task*& current_task() noexcept;
Worker*& current_worker() noexcept;
// The cancellation state operations on the calling thread use: the current task's, or a per-thread
// one for code that runs outside any task.
// The cancellation state of code that has no Pool at hand (a stale Io): the current task's, or one
// per thread.
ThreadCancelState& current_cancel() noexcept;

inline Task* Pool::current_or_foreground() noexcept {
    Task* t = current_task();
    return t ? t : &foreground_;
}

// Runs `t` on the calling thread (state, current task, start, completion).
void run_task(Task* t, Worker* w) noexcept;
// Completes `t` without running it (shutdown): its result becomes Errc::shut_down.
void fail_task(Task* t) noexcept;
// Allocates a task block for `d` and moves the argument block into it.
Task* make_task(const TaskStart& ts, Group* g) noexcept;
void free_task(Task* t) noexcept;
// Waits (uninterruptibly unless `cs` is given) until *word != value.
void futex_wait_while(const Atomic<std::uint32_t>* word, std::uint32_t value) noexcept;
// The back-off of a wait for cancelled work: the timeouts after which it re-sends lost interrupts,
// doubling up to 200 ms. A lost signal (a race of a few instructions) costs one timeout. A nudge
// cannot tell a lost signal from one still pending on a thread that has not run yet, and a group's
// nudge walks the whole list under the lock the finishing tasks need, so a group starts later
// (20 ms) than a single task (2 ms): on the common path nobody nudges.
struct NudgeBackoff {
    long ns;
    static constexpr long task_first = 2'000'000, group_first = 20'000'000, cap = 200'000'000;
    inline explicit NudgeBackoff(long first) noexcept : ns(first) {}
    inline long next() noexcept {
        long n = ns;
        if (ns < cap) ns *= 2;
        return n;
    }
};
// futex_wait with a timeout: false if it timed out.
bool futex_wait_for(const Atomic<std::uint32_t>* word, std::uint32_t value, long ns) noexcept;

}  // namespace zsync::rt::pool
