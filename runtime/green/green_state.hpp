// GreenThreadsIo's internal state: tasks (one fiber each), workers, the scheduler.
// Include in the purview of a `module zsync;` unit, after perform.hpp; the global module fragment needs
// <atomic> <cstdint> <memory> <mutex> <thread> <vector>, ../detail/{atomics,cancel_state}.hpp,
// ../pool/{work_deque,injector}.hpp, fiber/fiber.hpp and gdb_registry.hpp. Functions defined here are
// `inline` (module purview: in-class definitions are not implicitly inline).
#pragma once

namespace zsync::rt::green {

struct Worker;
struct Group;
class Sched;

// One task: a header, its argument block and its result in one allocation, and its fiber.
//
// Ownership: an owner task (async/concurrent) is freed by its Future's await/cancel only, so a Future
// may outlive the backend; a group task is freed by the worker that finishes it.
//
// Cancellation of a parked fiber (exactly once): the fiber publishes {worker, ticket, cancelable}
// under `lock` after submitting its Operation and then checks `cs.requested`; a requester stores
// `requested` and then, under the same lock, cancels the published ticket if nobody did yet
// (`cancel_sent`). Either the fiber sees the request or the requester sees the ticket; the lock makes
// "cancel sent" a single decision. The reactor delivers the completion once, canceled or with its real
// result if it finished first.
struct Task {
    // State word (a futex word): awaiters wait while it is not `done`. `waiter`: a thread sleeps on the
    // word (complete() calls futex_wake_os); `fiber_waiter`: a fiber is parked on it, named by `awaiter`
    // (complete() makes that fiber runnable: no syscall). Both bits are set only by a CAS that fails
    // once `done` is set, so complete()'s exchange sees every waiter.
    enum : std::uint32_t { live = 0, done = 1, waiter = 2, fiber_waiter = 4 };

    const TaskDescriptor* desc = nullptr;
    Group* group = nullptr;
    Sched* sched = nullptr;
    Task* queue_next = nullptr;          // injector link
    Task* next = nullptr;                // group list
    Task* prev = nullptr;
    // The scheduler's lists of live tasks (shutdown's sweep, under a Sched::Shard's lock), which is what
    // debuggers list (gdb_registry.hpp): links, id and context set once; state, worker and waiting
    // written by whoever runs, parks or wakes the fiber (plain stores, read only by a debugger).
    zsync_gdb_fiber dbg{nullptr, nullptr, nullptr, nullptr, nullptr, 0, UINT32_MAX, 0, zsync_gdb_created};
    Atomic<std::uint32_t> state{live};
    ThreadCancelState cs;                // requested (any thread) / delivered, protection (the fiber)
    SpinLock lock;                       // guards the four fields below
    Worker* parked_on = nullptr;         // the driver holding this fiber's Operation, or null
    zsync::reactor::Ticket ticket{};
    bool cancelable = false;             // the parked Operation may be cancelled (not close, unprotected)
    // A parked batch: every ticket of it (cancel all, once); null for a single Operation.
    const zsync::reactor::Ticket* batch_tickets = nullptr;
    std::size_t batch_count = 0;
    bool cancel_sent = false;
    // What this fiber is parked on when it awaits a task or a group (set by the fiber before it suspends,
    // cleared under `lock` after it resumed, so a request_cancel holding `lock` may forward to them:
    // the fiber cannot free them meanwhile).
    Task* awaiting_task = nullptr;
    Group* awaiting_group = nullptr;
    Task* awaiter = nullptr;             // the fiber parked on this task's completion (state has fiber_waiter)
    Worker* last_worker = nullptr;       // where it last ran (the migration count); while it runs, its worker
    bool may_inline = false;             // started by `async`: its await may run it inline (inline_ok)
    std::uint32_t shard = 0;             // the Sched::Shard whose list holds it (the spawner's)
    fiber::FiberPtr fib;
    void* args = nullptr;
    void* result = nullptr;
    std::uint32_t block_size = 0, block_align = 0;
};

// The backend side of a zsync::Group (GroupState::head). Freed by group_await/group_cancel only.
struct Group {
    static constexpr std::uint32_t waiter = 1u << 31;        // a thread sleeps on `outstanding`
    static constexpr std::uint32_t fiber_waiter = 1u << 30;  // `awaiter`, a fiber, is parked on it
    static constexpr std::uint32_t count_mask = fiber_waiter - 1;
    Atomic<std::uint32_t> outstanding{0};
    Task* awaiter = nullptr;  // written before the CAS that sets fiber_waiter; read after the last decrement
    std::mutex lock;  // guards the list
    Task* head = nullptr;
    inline std::uint32_t count(std::memory_order mo) const noexcept { return outstanding.load(mo) & count_mask; }
};

// One worker thread: its two deques (others steal from both), its reactor driver (made on the worker's
// own thread), and the parking word: 0 awake, 1 blocked (or about to block) in its driver, 2 claimed by
// a notify() that counted it as a searcher and woke its driver.
struct Worker {
    Sched* sched = nullptr;
    unsigned index = 0;
    // `fresh`: tasks spawned here and awaiters whose task finished here; the owner pops the newest
    // (depth first, as a work-first scheduler: what was just spawned is what is awaited next, and its
    // data is in cache). `woken`: fibers that yielded or whose Operation completed; the owner takes the
    // oldest (fair). Scheduler.cpp's header says how the worker chooses between them.
    WorkDeque<Task> fresh;
    WorkDeque<Task> woken;
    unsigned fresh_streak = 0;  // owner-only: fresh tasks run in a row since the last look at `woken`
    unsigned since_poll = 0;    // owner-only: fiber turns since the worker last reaped its driver
    unsigned woken_in_turn = 0; // owner-only: fibers its driver's current turn made runnable
    // Owner-only: fibers that yielded here to another requeued fiber (fibers taking turns) while no
    // worker was searching, oldest first. Not stealable, so a yield costs no atomic RMW; moved onto
    // `woken` at each of the worker's own turns (every kPollEvery fiber turns) so that others can
    // steal them from there.
    static constexpr unsigned yield_ring_size = 16;
    Task* yielded[yield_ring_size] = {};
    unsigned yield_head = 0, yield_count = 0;
    inline void push_yielded(Task* t) noexcept { yielded[(yield_head + yield_count++) % yield_ring_size] = t; }
    inline Task* pop_yielded() noexcept {  // the oldest; the ring must not be empty
        Task* t = yielded[yield_head];
        yield_head = (yield_head + 1) % yield_ring_size;
        --yield_count;
        return t;
    }
    bool took_requeued = false;  // owner-only: local_work's last pick was from `woken` or the ring
    // Owner-only: stacks of fibers that finished here, reused by the next spawns here without the
    // pool's lock; given back to the pool when the worker exits.
    static constexpr unsigned stack_cache_size = 16;
    fiber::Stack stack_cache[stack_cache_size];
    unsigned stacks = 0;
    zsync::reactor::Driver* driver = nullptr;  // owned by the worker thread
    zsync::reactor::Handle handle{};           // valid once `ready`
    Atomic<std::uint32_t> parked{0};
    Atomic<bool> ready{false};
    Atomic<bool> left_loop{false};  // shutdown: the worker left its loop (its driver still lives)
    zsync::reactor::Kind driver_kind = zsync::reactor::Kind::automatic;
    bool searching = false;  // owner-only: counted in Sched::searching_
    Task* current = nullptr;  // owner-only: the fiber it runs now
    std::thread thread;
};

class Sched {
public:
    struct Config {
        unsigned workers;
        std::size_t stack_bytes;
        std::size_t max_fibers;
        zsync::reactor::Kind reactor;
    };
    explicit Sched(Config c);
    ~Sched();  // the shutdown protocol (scheduler.cpp)

    // Allocates a task for `ts` with a fiber; null with `why` when there is no memory or stack.
    Task* make(const TaskStart& ts, Group* g, Errc& why) noexcept;
    // Makes a new task runnable (after make()). False when shutting down (the task is untouched).
    bool spawn(Task* t) noexcept;
    // spawn() for `async` (which may run its task later on the same worker): a task that is alone on
    // its worker's fresh deque wakes nobody (see scheduler.cpp, "Lone tasks").
    bool spawn_async(Task* t) noexcept;
    // A parked fiber's Operation completed (on the driver's thread, i.e. its worker, inside a turn of
    // its driver): runnable again, on w's `woken` deque; after_driver_turn notifies.
    void wake_local(Worker& w, Task* t) noexcept;
    void after_driver_turn(Worker& w) noexcept;
    // Requests cancellation of `t` from any thread; cancels its parked Operation once.
    static void request_cancel(Task* t) noexcept;

    // The fiber's side: performs `op` through this worker's driver, parking until it completes.
    // Cancel point (except close) under the task's own state.
    void fiber_operate(Task* me, Operation& op) noexcept;
    void fiber_yield(Task* me) noexcept;
    // Parks the fiber until `t` is done (no syscall when the waker is a worker). A request while parked
    // (or pending on entry, if `cancelable` and unprotected) is forwarded to `t` once and stays pending
    // for the awaiter. Returns whether it was forwarded. When `t` has not started and is the newest
    // task on this worker (spawn-then-await), it runs inline on this fiber (inline_ok, run_inline), or
    // else the fiber switches straight into it.
    bool fiber_await_task(Task* me, Task* t, bool cancelable) noexcept;
    // Parks the fiber until the group's count is 0; a request (as above) cancels every task of the group
    // once. Returns whether that happened (the request is then consumed: delivered).
    bool fiber_await_group(Task* me, Group* g, bool cancelable) noexcept;
    // Requests cancellation of every task of `g` (each alive while listed).
    static void cancel_group(Group* g) noexcept;
    // All of `ops` submitted to this worker's driver at once (one io_uring_enter on io_uring), the fiber
    // parked until every one completed. One cancel point: a request cancels those not yet complete.
    void fiber_batch(Task* me, Operation* ops, std::size_t count) noexcept;
    // Waits while *word == expected (spurious returns allowed): a fiber parks in the reactor; any
    // other thread waits in the kernel under the foreground's cancellation state.
    Result<void> wait_word(const Atomic<std::uint32_t>* word, std::uint32_t expected, bool cancelable) noexcept;

    // The calling code's cancellation state: the current fiber's, else the foreground's.
    ThreadCancelState& cancel_state() noexcept;
    inline ThreadCancelState& foreground() noexcept { return foreground_; }

    // seq_cst: pairs with the shutdown sweep (a spawn either is swept or sees stopping).
    inline bool stopping() const noexcept { return stopping_.load(std::memory_order_seq_cst); }
    inline unsigned worker_count() const noexcept { return static_cast<unsigned>(workers_.size()); }
    inline zsync::reactor::Kind reactor_kind() const noexcept { return kind_; }
    std::size_t live() const noexcept;       // tasks spawned and not finished (a sum over the shards)
    std::uint64_t spawned() const noexcept;
    inline std::uint64_t migrations() const noexcept { return migrations_.load(std::memory_order_relaxed); }
    std::size_t stacks_cached() const noexcept;

    void free_task(Task* t) noexcept;

private:
    void worker_main(Worker& w) noexcept;
    void run(Worker& w, Task* t) noexcept;
    void complete(Task* t) noexcept;
    bool register_task(Task* t) noexcept;    // into its shard's list; false once stopping
    void unregister_task(Task* t) noexcept;  // out of it (the same shard)
    Task* find_work(Worker& w) noexcept;
    bool any_work() noexcept;
    void notify() noexcept;
    bool try_start_searching(Worker& w) noexcept;
    void stop_searching(Worker& w, bool found) noexcept;
    void park(Worker& w) noexcept;
    bool push_local_or_inject(Task* t) noexcept;  // true: onto this worker's fresh deque, which was empty
    void arm_await(Worker& w, Task* me) noexcept;
    static void wake_awaiter(Task* a) noexcept;
    // `direct`: a task popped from this worker's fresh deque that the fiber switches into (switch_direct)
    // instead of suspending to the worker.
    bool park_fiber(Task* me, const Atomic<std::uint32_t>& word, Task* t, Group* g, bool cancelable,
                    Task* direct = nullptr) noexcept;
    // An awaited task `t`, just popped, may run on the awaiter's fiber: an `async` task not started,
    // with no request of its own, the awaiter unprotected, and 3/4 of the awaiter's stack free.
    bool inline_ok(Task* me, Task* t) noexcept;
    // Runs `t` on the awaiter's fiber under the awaiter's identity and cancellation state (as
    // BlockingIo's inline child), then completes it.
    void run_inline(Task* me, Task* t) noexcept;
    Task* local_work(Worker& w) noexcept;  // this worker's own deques only (find_work's first step)
    void enter(Worker& w, Task* t) noexcept;  // t becomes the fiber w runs (current, stats, debugger)
    // On `me`'s fiber: passes w's turn to `next` (popped from w's deques) with one switch
    // (Fiber::switch_to); after(me) runs once me is switched out. Returns when me is resumed.
    void switch_direct(Worker& w, Task* me, Task* next, void (*after)(void*)) noexcept;
    static void requeue_after_switch(void* me) noexcept;    // a yield's: onto the yield ring, or `woken`
    void spill_yielded(Worker& w) noexcept;                 // the yield ring onto `woken`
    static void arm_await_after_switch(void* me) noexcept;  // an await's: arm_await

    std::vector<std::unique_ptr<Worker>> workers_;
    Injector<Task> injector_;
    std::unique_ptr<fiber::StackPool> stacks_;
    std::size_t max_fibers_;
    zsync::reactor::Kind kind_ = zsync::reactor::Kind::automatic;
    ThreadCancelState foreground_;
    Atomic<bool> stopping_{false};
    Atomic<bool> exit_{false};
    Atomic<bool> drivers_may_go_{false};
    alignas(64) Atomic<std::uint32_t> searching_{0};
    Atomic<std::uint32_t> parked_count_{0};  // workers in park(), counted before their last look for work
    // The live tasks, one list per worker (tasks spawned there) and one more for other threads' spawns,
    // so that workers do not contend for one lock. `head` first: debuggers read the heads
    // `sizeof(Shard)` apart (gdb_registry.hpp). `live` and `spawned` change only under `mu`.
    struct alignas(64) Shard {
        zsync_gdb_fiber* head = nullptr;
        SpinLock mu;
        Atomic<std::size_t> live{0};       // read without the lock (relaxed) by the limit and stats
        Atomic<std::uint64_t> spawned{0};
    };
    static_assert(offsetof(Shard, head) == 0, "gdb_registry.hpp: a list's head is at the start of its shard");
    std::unique_ptr<Shard[]> shards_;
    unsigned shard_count_ = 0;
    Atomic<std::uint64_t> migrations_{0};
    Atomic<unsigned> next_wake_{0};
    zsync_gdb_io gdb_{};
    std::unique_ptr<std::int32_t[]> worker_tids_;  // gdb_.worker_tids; slot i written by worker i at start
};

// The task whose fiber runs on the calling thread (null outside fibers) and the calling thread's
// worker (null on other threads). Not inline on purpose: a fiber may resume on another thread, and a
// thread_local address computed before a switch must not be reused after it.
Task* current_task() noexcept;
Worker* current_worker() noexcept;
// What a fiber passes to suspend(): parked on the reactor (its completion makes it runnable); a yield
// (the worker requeues it); an await (the worker arms it: Sched::arm_await).
void* kPark() noexcept;
void* kYield() noexcept;
void* kAwait() noexcept;
// Fiber turns between two of a worker's own turns (it reaps its driver, spills its yield ring and
// looks at the injector first).
inline constexpr unsigned kPollEvery = 32;

}  // namespace zsync::rt::green
