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
    // State word (a futex word): awaiters wait while it is not `done`; `waiter` tells complete() to wake.
    enum : std::uint32_t { live = 0, done = 1, waiter = 2 };

    const TaskDescriptor* desc = nullptr;
    Group* group = nullptr;
    Sched* sched = nullptr;
    Task* queue_next = nullptr;          // injector link
    Task* next = nullptr;                // group list
    Task* prev = nullptr;
    // The scheduler's list of live tasks (shutdown's sweep, under Sched::all_mu_), which is also what
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
    Worker* last_worker = nullptr;       // where it last ran (the migration count)
    fiber::FiberPtr fib;
    void* args = nullptr;
    void* result = nullptr;
    std::uint32_t block_size = 0, block_align = 0;
};

// The backend side of a zsync::Group (GroupState::head). Freed by group_await/group_cancel only.
struct Group {
    static constexpr std::uint32_t waiter = 1u << 31;  // someone sleeps on `outstanding`
    static constexpr std::uint32_t count_mask = waiter - 1;
    Atomic<std::uint32_t> outstanding{0};
    std::mutex lock;  // guards the list
    Task* head = nullptr;
    inline std::uint32_t count(std::memory_order mo) const noexcept { return outstanding.load(mo) & count_mask; }
};

// One worker thread: its deque (others steal from it), its reactor driver (made on the worker's own
// thread), and the parking word: 0 awake, 1 blocked (or about to block) in its driver, 2 claimed by a
// notify() that counted it as a searcher and woke its driver.
struct Worker {
    Sched* sched = nullptr;
    unsigned index = 0;
    WorkDeque<Task> deque;
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
    // A parked fiber's Operation completed (on the driver's thread, i.e. its worker): runnable again.
    void wake_local(Worker& w, Task* t) noexcept;
    // Requests cancellation of `t` from any thread; cancels its parked Operation once.
    static void request_cancel(Task* t) noexcept;

    // The fiber's side: performs `op` through this worker's driver, parking until it completes.
    // Cancel point (except close) under the task's own state.
    void fiber_operate(Task* me, Operation& op) noexcept;
    void fiber_yield(Task* me) noexcept;
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
    inline std::size_t live() const noexcept { return live_.load(std::memory_order_relaxed); }
    inline std::uint64_t spawned() const noexcept { return spawned_.load(std::memory_order_relaxed); }
    inline std::uint64_t migrations() const noexcept { return migrations_.load(std::memory_order_relaxed); }
    std::size_t stacks_cached() const noexcept;

    void free_task(Task* t) noexcept;

private:
    void worker_main(Worker& w) noexcept;
    void run(Worker& w, Task* t) noexcept;
    void complete(Task* t) noexcept;
    Task* find_work(Worker& w) noexcept;
    bool any_work() noexcept;
    void notify() noexcept;
    bool try_start_searching(Worker& w) noexcept;
    void stop_searching(Worker& w, bool found) noexcept;
    void park(Worker& w) noexcept;
    void push_local_or_inject(Task* t) noexcept;

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
    alignas(64) Atomic<std::size_t> live_{0};
    Atomic<std::uint64_t> spawned_{0};
    Atomic<std::uint64_t> migrations_{0};
    Atomic<unsigned> next_wake_{0};
    std::mutex all_mu_;  // guards the live-task list, gdb_.fibers (shutdown's sweep; debuggers list it)
    zsync_gdb_io gdb_{};
    std::unique_ptr<std::int32_t[]> worker_tids_;  // gdb_.worker_tids; slot i written by worker i at start
};

// The task whose fiber runs on the calling thread (null outside fibers) and the calling thread's
// worker (null on other threads). Not inline on purpose: a fiber may resume on another thread, and a
// thread_local address computed before a switch must not be reused after it.
Task* current_task() noexcept;
Worker* current_worker() noexcept;
// What a fiber passes to suspend() when it parks on the reactor (its completion makes it runnable).
void* kPark() noexcept;

}  // namespace zsync::rt::green
