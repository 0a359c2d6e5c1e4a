// GreenThreadsIo's scheduler: workers, fibers, spawning, parking, waking and shutdown.
//
// Run queues. Each worker has two Chase-Lev deques (runtime/pool/work_deque.hpp):
//   fresh  a task spawned on this worker, and a fiber whose awaited task (or group) finished here. The
//          worker pops the *newest* (work first: spawn-then-await runs the child next, and a recursion
//          such as fib goes depth first, so the number of live stacks stays near the recursion's depth
//          instead of growing breadth first).
//   woken  a fiber that yielded, and one whose Operation completed on this worker's driver. The worker
//          takes the *oldest* (the stealers' end), so a yield lets every fiber queued before it run.
// The worker prefers `fresh`, but after 32 fresh tasks in a row it takes one from `woken` first, so a
// fiber that spawns and awaits in a loop cannot starve yields and I/O wake-ups. Other workers steal the
// oldest of `fresh` (the largest pieces of a recursion), then of `woken`. Spawns from threads that are not workers
// go to the injector. Every kPollEvery (32) fiber turns the worker takes a turn of its own: it reaps its
// driver, moves its yield ring onto `woken`, and then looks at the injector before its own deques.
//
// Direct switches. A fiber that yields, or awaits the task on top of its worker's `fresh` deque, does
// not switch back to the worker to have it pick the next fiber: it picks that fiber itself (the one the
// worker would have picked) and switches straight into it (Fiber::switch_to), which inherits the
// worker as its resumer. What the worker would have done with the leaving fiber (queue a yielder, arm
// an await) runs on the arriving side, once the leaving fiber is fully switched out. A yielder that
// switches to another requeued fiber (fibers taking turns) goes to the worker's yield ring (owner-only,
// no atomic RMW) unless some worker is searching, else to `woken`; a yield with nothing else runnable
// here returns at once. run() learns which fiber came back from `current`.
//
// Lone tasks. `async` may run its task later on the spawner's worker, so a task pushed onto that
// worker's empty `fresh` deque wakes nobody: spawn-then-await runs it at once on the same worker, with
// no syscall and no other worker woken to find nothing (ThreadPoolIo's rule, docs/benchmarks.md). It is
// still stolen by a worker that is searching anyway, and it runs as soon as its spawner waits, yields or
// ends; only a spawner that computes without waiting keeps it queued meanwhile. A second queued task,
// and every `concurrent` or group task, notifies as before.
//
// Awaiting a task or a group from a fiber parks the fiber without the reactor (an `async` task not
// yet started and on top of `fresh` may instead run inline: inline_ok says when): it suspends with
// kAwait (or switches into the awaited task, above), and the worker (or the arriving fiber), once the
// awaiter is fully switched out, sets the task's or group's fiber_waiter bit with a CAS, or requeues
// the awaiter at once if the task is already done.
// complete() sees the bit and pushes the awaiter onto its own worker's `fresh` deque (another
// scheduler's fiber goes to that scheduler's injector). A thread that is not a fiber waits on the same
// word with futex_wait; Select and the cross-backend rule still use that path.
//
// Parking, with no lost wake-up (the searching protocol of runtime/pool/scheduler.cpp, with the
// driver as the place a worker sleeps). A worker with nothing runnable first turns its driver without
// waiting, then searches (searching += 1, at most half the workers; rounds of find_work) and then parks:
//   W: parked = 1, parked_count += 1 (seq_cst); fence; if any queue looks non-empty: undo; else
//      driver.run_until(never); parked_count -= 1; parked.exchange(0): if it was 2, a notify()
//      counted W as searching (W now is a searcher).
//   P (spawn/wake): push; fence; if searching == 0 and parked_count > 0: searching += 1, then CAS some worker's parked
//      1 -> 2 and wake its driver (Handle::wake: an eventfd write or msg-ring; a wake that comes before
//      the driver blocks is kept, so its wait returns at once); if none was parked, searching -= 1.
// Of "push, read parked/searching" and "store parked, read queues" at least one side sees the other.
// A fiber woken by its driver's completion is pushed without a notify: its worker is awake (it is in
// that driver turn) and runs it; after the turn the worker notifies once if it has more than one
// runnable fiber (after_driver_turn).
// A searcher that finds work and was the last searcher calls notify() again (producers relied on it).
//
// Parking a fiber on an Operation: the fiber submits the Operation to its worker's driver, publishes
// the ticket (green_state.hpp, Task) and suspends. The completion can only run inside a turn of that
// driver, i.e. on the worker's own stack after the switch away from the fiber finished, so the fiber
// is never resumed while still on its way out. The completion pushes the fiber onto that worker's deque,
// from where any worker may take it (a fiber may resume on another worker).
//
// Shutdown (~Sched), numbered:
//   1. stopping = true, then every shard's lock taken once: spawn() registers a task under its shard's
//      lock after checking stopping, so a task is either in a live list for step 2 or refused
//      (shut_down). (The live lists are also what debuggers list: gdb_registry.hpp.)
//   2. Request cancellation of every live task; repeat every 20 ms (a task that recancels, or that
//      started a child after step 1 was refused and retried) until no task is live. A task that ignores
//      cancellation keeps shutdown waiting: there is no safe way to stop a fiber running user code.
//   3. exit = true, wake every worker's driver; each exits its loop, destroys its driver (nothing is
//      in flight: every task ended) and is joined.
module;
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <new>
#include <string_view>
#include <thread>
#include <vector>
#include "../detail/atomics.hpp"
#include "../detail/cancel_state.hpp"
#include "../pool/work_deque.hpp"
#include "../pool/injector.hpp"
#include "fiber/fiber.hpp"
#include "gdb_registry.hpp"
module zsync;
#include "../detail/perform.hpp"
#include "green_state.hpp"

namespace zsync::rt::green {

namespace {
thread_local Task* tls_task = nullptr;
thread_local Worker* tls_worker = nullptr;

constexpr unsigned kFreshStreak = 32;  // fresh tasks in a row before the worker looks at `woken` (header)

std::size_t round_up(std::size_t n, std::size_t a) noexcept { return (n + a - 1) & ~(a - 1); }

void fiber_body(fiber::Fiber& self, void*) {
    auto* t = static_cast<Task*>(self.arg());
    t->desc->start(t->args, t->result);  // never throws (TaskDescriptor::start)
}

// What a debugger shows of an Operation's arguments (gdb_registry.hpp): the handle, for the codes whose
// argument struct starts with one; the futex word's address.
zsync_gdb_arg gdb_arg_of(Op c) noexcept {
    switch (c) {
    case Op::read: case Op::write: case Op::pread: case Op::pwrite: case Op::readv: case Op::writev:
    case Op::preadv: case Op::pwritev: case Op::close: case Op::fsync: case Op::dir_read: case Op::accept:
    case Op::bind: case Op::listen: case Op::connect: case Op::send: case Op::recv: case Op::sendto:
    case Op::recvfrom: case Op::shutdown: case Op::setsockopt: case Op::getsockname: case Op::getpeername:
    case Op::poll:
        return zsync_gdb_arg_fd;
    case Op::futex_wait:
        return zsync_gdb_arg_word;
    default:
        return zsync_gdb_arg_none;
    }
}
// Those argument structs start with their handle, at the union's start (Operation::fd). offsetof on
// Operation (not standard-layout: its Result) is what every compiler we build with does for it.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Winvalid-offsetof"
static_assert(offsetof(Operation::Rw, fd) == 0 && offsetof(Operation::DirRead, dir) == 0 &&
              offsetof(Operation::Accept, fd) == 0 && offsetof(Operation::Bind, fd) == 0 &&
              offsetof(Operation::SockInt, fd) == 0 && offsetof(Operation::Connect, fd) == 0 &&
              offsetof(Operation::Msg, fd) == 0 && offsetof(Operation::MsgTo, fd) == 0 &&
              offsetof(Operation::Name, fd) == 0 && offsetof(Operation::Poll, fd) == 0 &&
              offsetof(Operation::Futex, word) == 0, "gdb_arg_of: the handle is the first argument");
#pragma clang diagnostic pop

void gdb_register(zsync_gdb_io& io) noexcept {
    constexpr std::size_t n = static_cast<std::size_t>(Op::operation_count_);
    static_assert(n <= zsync_gdb_max_ops, "gdb_registry.hpp: more Operation codes than the table holds");
    gdb::OpInfo ops[n];
    for (std::size_t i = 0; i < n; ++i) {
        std::string_view name = op_name(static_cast<Op>(i));
        ops[i] = gdb::OpInfo{name.data(), name.size(), gdb_arg_of(static_cast<Op>(i))};
    }
    static_assert(sizeof(Op) == 1, "zsync_gdb_root::op_code_offset names a one-byte code");
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Winvalid-offsetof"
    gdb::add_io(io, ops, n, static_cast<std::uint16_t>(offsetof(Operation, code)),
                static_cast<std::uint16_t>(offsetof(Operation, fd)));
#pragma clang diagnostic pop
}
}  // namespace

namespace { char park_tag, yield_tag, await_tag; }
void* kPark() noexcept { return &park_tag; }
void* kYield() noexcept { return &yield_tag; }
void* kAwait() noexcept { return &await_tag; }

[[gnu::noinline]] Task* current_task() noexcept { return tls_task; }
[[gnu::noinline]] Worker* current_worker() noexcept { return tls_worker; }

Sched::Sched(Config c) : max_fibers_(c.max_fibers), kind_(c.reactor) {
    install_interrupt_handler();  // the foreground's blocking syscalls are interrupted by SIGURG
    fiber::StackConfig sc;
    if (c.stack_bytes) sc.stack_bytes = c.stack_bytes;
    auto pool = fiber::StackPool::make(sc);
    if (!pool) {  // only for an absurd stack size: fall back to the default rather than run without stacks
        std::fprintf(stderr, "zsync: green: %s; using the default stack size\n", pool.error().what);
        pool = fiber::StackPool::make(fiber::StackConfig{});
    }
    stacks_ = std::move(*pool);
    unsigned n = std::max(1u, c.workers);
    workers_.reserve(n);
    for (unsigned i = 0; i < n; ++i) {
        auto w = std::make_unique<Worker>();
        w->sched = this;
        w->index = i;
        workers_.push_back(std::move(w));
    }
    worker_tids_ = std::make_unique<std::int32_t[]>(n);  // zeroed
    gdb_.worker_tids = worker_tids_.get();
    gdb_.workers = n;
    shard_count_ = n + 1;  // one per worker, then one for spawns from other threads
    shards_ = std::make_unique<Shard[]>(shard_count_);
    gdb_.fiber_lists = &shards_[0].head;
    gdb_.lists = shard_count_;
    gdb_.list_stride = sizeof(Shard);
    gdb_register(gdb_);
    for (auto& w : workers_) {
        Worker* wp = w.get();
        wp->thread = std::thread([this, wp] { worker_main(*wp); });
    }
    // The drivers are made on their own threads; the Io is usable once every handle is published.
    for (auto& w : workers_)
        while (!w->ready.load(std::memory_order_acquire)) std::this_thread::yield();  // acquire: the handle
    kind_ = workers_[0]->driver_kind;
}

Sched::~Sched() {
    stopping_.store(true, std::memory_order_seq_cst);  // 1
    for (unsigned i = 0; i < shard_count_; ++i) {  // registrations in flight end before the sweep
        shards_[i].mu.lock();
        shards_[i].mu.unlock();
    }
    // Once stopping, a shard's count only goes down: a sum of 0 read one shard after another is exact.
    auto none_live = [this] { return live() == 0; };
    for (;;) {  // 2
        for (unsigned i = 0; i < shard_count_; ++i) {
            std::lock_guard lock(shards_[i].mu);
            for (zsync_gdb_fiber* f = shards_[i].head; f; f = f->next) request_cancel(static_cast<Task*>(f->task));
        }
        if (none_live()) break;
        for (int i = 0; i < 200 && !none_live(); ++i) {
            timespec ts{0, 100'000};
            ::nanosleep(&ts, nullptr);
        }
        if (none_live()) break;
    }
    exit_.store(true, std::memory_order_seq_cst);  // 3; seq_cst: before each worker's parked check
    // A driver may be woken only while it lives: each worker leaves its loop, says so (left_loop) and
    // keeps its driver until every worker has left (drivers_may_go), so no wake reaches a dead one.
    for (auto& w : workers_) {
        w->handle.wake();
        while (!w->left_loop.load(std::memory_order_acquire)) std::this_thread::yield();  // acquire: pairs with the worker's release
    }
    drivers_may_go_.store(true, std::memory_order_release);
    for (auto& w : workers_) w->thread.join();
    gdb::remove_io(gdb_);
}

std::size_t Sched::stacks_cached() const noexcept { return stacks_->cached(); }

Task* Sched::make(const TaskStart& ts, Group* g, Errc& why) noexcept {
    const TaskDescriptor& d = *ts.descriptor;
    // relaxed: a limit, not a synchronisation; a few over it under a race is harmless.
    if (max_fibers_ && live() >= max_fibers_) {
        why = Errc::concurrency_unavailable;
        return nullptr;
    }
    std::size_t align = std::max<std::size_t>({alignof(Task), d.args_align, d.result_align});
    std::size_t args_off = round_up(sizeof(Task), d.args_align);
    std::size_t result_off = round_up(args_off + d.args_size, d.result_align);
    std::size_t total = round_up(result_off + d.result_size, align);
    void* mem = align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__ ? ::operator new(total, std::nothrow)
                                                          : ::operator new(total, std::align_val_t(align), std::nothrow);
    if (!mem) {
        why = Errc::concurrency_unavailable;
        return nullptr;
    }
    Task* t = ::new (mem) Task;
    t->block_size = static_cast<std::uint32_t>(total);
    t->block_align = static_cast<std::uint32_t>(align);
    Worker* w = current_worker();
    fiber::Stack cached = w && w->sched == this && w->stacks ? w->stack_cache[--w->stacks] : fiber::Stack{};
#if defined(__cpp_exceptions)
    std::expected<fiber::FiberPtr, fiber::FiberError> f = std::unexpected(fiber::FiberError{ENOMEM, "fiber create"});
    try {
        f = cached ? fiber::Fiber::create_on(*stacks_, cached, &fiber_body, t, "zsync green task")
                   : fiber::Fiber::create(*stacks_, &fiber_body, t, "zsync green task");
    } catch (...) {
    }
#else
    auto f = cached ? fiber::Fiber::create_on(*stacks_, cached, &fiber_body, t, "zsync green task")
                    : fiber::Fiber::create(*stacks_, &fiber_body, t, "zsync green task");
#endif
    if (!f) {
        t->block_align = static_cast<std::uint32_t>(align);
        free_task(t);
        why = Errc::concurrency_unavailable;
        return nullptr;
    }
    t->fib = std::move(*f);
    t->dbg.task = t;
    t->dbg.context = t->fib->saved_context_slot();
    t->dbg.id = t->fib->id();
    t->desc = &d;
    t->group = g;
    t->sched = this;
    t->args = static_cast<std::byte*>(mem) + args_off;
    t->result = static_cast<std::byte*>(mem) + result_off;
    d.relocate_args(t->args, ts.args);
    return t;
}

void Sched::free_task(Task* t) noexcept {
    std::uint32_t align = t->block_align;
    t->~Task();  // releases the fiber's stack (a finished fiber, or one that never ran)
    if (align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) ::operator delete(static_cast<void*>(t));
    else ::operator delete(static_cast<void*>(t), static_cast<std::align_val_t>(align));
}

bool Sched::register_task(Task* t) noexcept {
    Worker* w = current_worker();
    t->shard = w && w->sched == this ? w->index : shard_count_ - 1;
    Shard& sh = shards_[t->shard];
    std::lock_guard lock(sh.mu);
    if (stopping()) return false;  // under the lock: see shutdown step 1
    gdb::link(sh.head, t->dbg);
    // The counters change only under the lock: a load and a store each, no locked RMW (the lock's
    // exchange is the one atomic RMW a spawn pays here). release: shutdown's acquire loads.
    sh.live.store(sh.live.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    sh.spawned.store(sh.spawned.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return true;
}

std::size_t Sched::live() const noexcept {
    std::size_t n = 0;
    for (unsigned i = 0; i < shard_count_; ++i) n += shards_[i].live.load(std::memory_order_acquire);  // acquire: see unregister_task
    return n;
}

std::uint64_t Sched::spawned() const noexcept {
    std::uint64_t n = 0;
    for (unsigned i = 0; i < shard_count_; ++i) n += shards_[i].spawned.load(std::memory_order_relaxed);  // relaxed: a statistic
    return n;
}

bool Sched::spawn(Task* t) noexcept {
    if (!register_task(t)) return false;
    push_local_or_inject(t);
    notify();
    return true;
}

bool Sched::spawn_async(Task* t) noexcept {
    t->may_inline = true;  // before the push that publishes it
    if (!register_task(t)) return false;
    if (!push_local_or_inject(t)) notify();  // a lone task: its spawner's worker runs it (header)
    return true;
}

bool Sched::push_local_or_inject(Task* t) noexcept {
    Worker* w = current_worker();
    if (w && w->sched == this) {
        bool lone = w->fresh.owner().empty();
        if (w->fresh.owner().push(t)) return lone;
    }
    injector_.push(t);
    return false;
}

void Sched::wake_local(Worker& w, Task* t) noexcept {
    t->dbg.state = zsync_gdb_runnable;
    if (!w.woken.owner().push(t)) injector_.push(t);
    ++w.woken_in_turn;  // the notify, if any, comes once after the turn (after_driver_turn)
}

void Sched::after_driver_turn(Worker& w) noexcept {
    // One fiber woken and nothing else queued here: this worker runs it next itself, so waking another
    // worker (a syscall on each side) would only make it migrate. More runnable than that: one notify
    // for the whole turn (tokio does the same), not one per completion.
    if (w.woken_in_turn == 0) return;
    bool more = w.woken_in_turn > 1 || w.yield_count != 0 || !w.fresh.owner().empty() ||
                w.woken.stealer().size_estimate() > 1;
    w.woken_in_turn = 0;
    if (more) notify();
}

void Sched::wake_awaiter(Task* a) noexcept {
    a->dbg.state = zsync_gdb_runnable;
    Sched* s = a->sched;
    Worker* w = current_worker();
    // No notify: this worker returns to its loop and pops it next (fresh is LIFO).
    if (w && w->sched == s && w->fresh.owner().push(a)) return;
    s->injector_.push(a);
    s->notify();
}

void Sched::spill_yielded(Worker& w) noexcept {
    const bool several = w.yield_count > 1;
    while (w.yield_count) {
        Task* t = w.pop_yielded();
        if (!w.woken.owner().push(t)) injector_.push(t);
    }
    if (several) notify();  // fibers taking turns here: a parked worker may take some (they are stealable now)
}

void Sched::unregister_task(Task* t) noexcept {
    t->dbg.state = zsync_gdb_finishing;
    Shard& sh = shards_[t->shard];
    std::lock_guard lock(sh.mu);
    gdb::unlink(sh.head, t->dbg);
    // release: shutdown's acquire sees the task's body done. What complete() does after this (wake its
    // awaiter, free a group task) touches only the task, its group and queues that outlive the workers.
    sh.live.store(sh.live.load(std::memory_order_relaxed) - 1, std::memory_order_release);
}

void Sched::complete(Task* t) noexcept {
    unregister_task(t);
    if (Group* g = t->group) {
        t->desc->discard_result(t->result);
        g->lock.lock();
        if (t->prev) t->prev->next = t->next;
        else g->head = t->next;
        if (t->next) t->next->prev = t->prev;
        g->lock.unlock();
        free_task(t);
        // acq_rel: the group's owner, on seeing 0, may free g; everything above happened before.
        std::uint32_t old = g->outstanding.fetch_sub(1, std::memory_order_acq_rel);
        if ((old & Group::count_mask) == 1) {
            // A parked fiber awaiter cannot free g before it is woken, so g->awaiter is still ours to read.
            if (old & Group::fiber_waiter) wake_awaiter(g->awaiter);
            else if (old & Group::waiter) futex_wake_os(&g->outstanding, INT_MAX);
        }
    } else {
        // acq_rel: release publishes the result to the awaiter; acquire sees whether it waits.
        std::uint32_t old = t->state.exchange(Task::done, std::memory_order_acq_rel);
        if (old & Task::fiber_waiter) wake_awaiter(t->awaiter);  // t is not freed before its awaiter runs
        else if (old & Task::waiter) futex_wake_os(&t->state, INT_MAX);
    }
}

void Sched::enter(Worker& w, Task* t) noexcept {
    if (t->last_worker && t->last_worker != &w) migrations_.fetch_add(1, std::memory_order_relaxed);
    t->last_worker = &w;
    t->dbg.worker = w.index;
    t->dbg.state = zsync_gdb_running;
    w.current = t;
    tls_task = t;
}

void Sched::run(Worker& w, Task* t) noexcept {
    enter(w, t);
    void* why = t->fib->resume(t);
    // The fiber that came back: t, or the last one a switch_direct passed the turn to.
    t = w.current;
    tls_task = nullptr;
    w.current = nullptr;
    if (t->fib->state() == fiber::Fiber::State::finished) {
        // The stack is reused now (by this worker's next spawn), not when the owner awaits.
        fiber::Stack st = fiber::Fiber::retire(std::move(t->fib));
        if (w.stacks < Worker::stack_cache_size) w.stack_cache[w.stacks++] = st;
        else stacks_->release(st);
        complete(t);
        return;
    }
    if (why == kYield()) {
        spill_yielded(w);  // they yielded before t: ahead of it
        if (!w.woken.owner().push(t)) injector_.push(t);
    } else if (why == kAwait()) {
        arm_await(w, t);
    }
    // kPark: the driver's completion makes it runnable (on_done).
}

Task* Sched::local_work(Worker& w) noexcept {
    // Newest fresh task first, oldest woken fiber after a streak (see the header).
    // empty() first: pop() on an empty deque pays a fence.
    w.took_requeued = false;
    if (w.fresh_streak < kFreshStreak && !w.fresh.owner().empty()) {
        if (Task* t = w.fresh.owner().pop()) { ++w.fresh_streak; return t; }
    }
    w.fresh_streak = 0;
    if (w.woken.stealer().maybe_nonempty())
        if (Task* t = w.woken.stealer().steal()) { w.took_requeued = true; return t; }
    if (w.yield_count) {
        w.took_requeued = true;
        return w.pop_yielded();
    }
    if (!w.fresh.owner().empty())
        if (Task* t = w.fresh.owner().pop()) return t;
    return nullptr;
}

Task* Sched::find_work(Worker& w) noexcept {
    // Right after the worker's own turn (and when it was idle) the injector comes first, so fibers that
    // keep their worker busy (yielding, or spawning) cannot keep spawns from other threads waiting.
    if (w.since_poll == 0 && injector_.maybe_nonempty())
        if (Task* t = injector_.pop()) return t;
    if (Task* t = local_work(w)) return t;
    if (Task* t = injector_.pop()) return t;
    std::size_t n = workers_.size();
    for (std::size_t i = 1; i < n; ++i) {
        Worker& v = *workers_[(w.index + i) % n];
        if (Task* t = v.fresh.stealer().steal()) return t;
        if (Task* t = v.woken.stealer().steal()) return t;
    }
    return nullptr;
}

bool Sched::any_work() noexcept {
    if (injector_.maybe_nonempty()) return true;
    for (auto& w : workers_)
        if (w->fresh.stealer().maybe_nonempty() || w->woken.stealer().maybe_nonempty()) return true;
    return false;
}

void Sched::notify() noexcept {
    fence_seq_cst();  // seq_cst: the push before this against a parking worker's store (see the header)
    // relaxed: ordered by the fence. Nobody to wake when someone searches already or nobody is parked
    // (a worker counts itself in parked_count_ before its last look at the queues, so one of the two
    // sides sees the other); then no shared counter is written, which matters when every spawn notifies.
    if (searching_.load(std::memory_order_relaxed) != 0 || parked_count_.load(std::memory_order_relaxed) == 0) return;
    searching_.fetch_add(1, std::memory_order_seq_cst);  // the count the woken worker takes over
    std::size_t n = workers_.size();
    unsigned start = next_wake_.fetch_add(1, std::memory_order_relaxed);  // relaxed: spreads wake-ups only
    for (std::size_t i = 0; i < n; ++i) {
        Worker& v = *workers_[(start + i) % n];
        std::uint32_t one = 1;
        // acq_rel: claims the sleeper; its exchange on waking reads the 2.
        if (v.parked.load(std::memory_order_relaxed) == 1 &&
            v.parked.compare_exchange_strong(one, 2, std::memory_order_acq_rel, std::memory_order_relaxed)) {
            v.handle.wake();
            return;
        }
    }
    searching_.fetch_sub(1, std::memory_order_seq_cst);  // nobody parked: every worker will look itself
}

bool Sched::try_start_searching(Worker& w) noexcept {
    if (w.searching) return true;
    std::uint32_t limit = (static_cast<std::uint32_t>(workers_.size()) + 1) / 2;
    // relaxed: the count only has to be exact at the fences of notify() and park().
    std::uint32_t n = searching_.load(std::memory_order_relaxed);
    do {
        if (n >= limit) return false;
    } while (!searching_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed, std::memory_order_relaxed));
    w.searching = true;
    return true;
}

void Sched::stop_searching(Worker& w, bool found) noexcept {
    if (!w.searching) return;
    w.searching = false;
    // seq_cst: before the re-check of the queues in park(), or notify()'s fence.
    std::uint32_t before = searching_.fetch_sub(1, std::memory_order_seq_cst);
    if (found && before == 1) notify();
}

void Sched::park(Worker& w) noexcept {
    w.parked.store(1, std::memory_order_seq_cst);  // seq_cst: the parking protocol (see the header)
    parked_count_.fetch_add(1, std::memory_order_seq_cst);  // seq_cst: before the re-check, as `parked`
    fence_seq_cst();
    if (!any_work() && !exit_.load(std::memory_order_seq_cst)) w.driver->run_until(Deadline::never());
    parked_count_.fetch_sub(1, std::memory_order_relaxed);  // relaxed: only makes notify() look again
    // acq_rel: reads a claim by notify() (2), which counted this worker as a searcher.
    if (w.parked.exchange(0, std::memory_order_acq_rel) == 2) w.searching = true;
    after_driver_turn(w);  // no longer parked: its notify cannot pick this worker
}

void Sched::worker_main(Worker& w) noexcept {
    tls_worker = &w;
    worker_tids_[w.index] = current_tid();  // for debuggers: which thread runs this worker's fibers
    zsync::reactor::Options ro;
    ro.kind = kind_;
    zsync::reactor::Driver driver(ro);
    w.driver = &driver;
    w.handle = driver.handle();
    w.driver_kind = driver.kind();
    w.ready.store(true, std::memory_order_release);  // release: the handle, for the constructor
    constexpr int spin_rounds = 16;
    for (;;) {
        if (Task* t = find_work(w)) {
            stop_searching(w, true);
            run(w, t);
            // A worker that always has runnable fibers still reaps its driver (one turn per kPollEvery
            // fiber turns, counting the ones fiber_yield passes on directly).
            if (++w.since_poll >= kPollEvery) {
                w.since_poll = 0;
                spill_yielded(w);
                if (driver.in_flight()) {
                    driver.poll();
                    after_driver_turn(w);
                }
            }
            continue;
        }
        w.since_poll = 0;
        if (driver.in_flight()) {
            std::size_t n = driver.poll();
            after_driver_turn(w);
            if (n > 0) continue;
        }
        if (exit_.load(std::memory_order_seq_cst)) break;
        Task* found = nullptr;
        if (try_start_searching(w)) {
            for (int round = 0; round < spin_rounds && !found; ++round) {
                for (int i = 0; i < 32; ++i) cpu_relax();
                found = find_work(w);
            }
        }
        if (found) {
            stop_searching(w, true);
            run(w, found);
            continue;
        }
        stop_searching(w, false);
        park(w);  // a claimed wake-up makes this worker a searcher: it looks again above
    }
    stop_searching(w, false);
    while (w.stacks) stacks_->release(w.stack_cache[--w.stacks]);  // every task ended: nobody spawns here
    w.left_loop.store(true, std::memory_order_release);  // release: shutdown step 3
    while (!drivers_may_go_.load(std::memory_order_acquire)) std::this_thread::yield();  // acquire: no more wakes
    w.driver = nullptr;
    tls_worker = nullptr;
}

}  // namespace zsync::rt::green
