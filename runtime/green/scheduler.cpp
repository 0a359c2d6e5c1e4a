// GreenThreadsIo's scheduler: workers, fibers, spawning, parking, waking and shutdown.
//
// Run queues. Each worker has a Chase-Lev deque (runtime/pool/work_deque.hpp). Everything runnable on a
// worker goes to its deque: a fiber spawned there, a fiber whose Operation completed on its driver, a
// fiber that yielded. The worker takes from the *top* of its own deque (the stealers' end: oldest first,
// so a yield lets every fiber queued before it run and I/O wake-ups cannot starve older fibers) and
// other workers steal from the same end. Spawns from threads that are not workers go to the injector.
//
// Parking, with no lost wake-up (the searching protocol of runtime/pool/scheduler.cpp, with the
// driver as the place a worker sleeps). A worker with nothing runnable first turns its driver without
// waiting, then searches (searching += 1, at most half the workers; rounds of find_work) and then parks:
//   W: parked = 1 (seq_cst); fence; if any queue looks non-empty: undo; else driver.run_until(never);
//      parked.exchange(0): if it was 2, a notify() counted W as searching (W now is a searcher).
//   P (spawn/wake): push; fence; if searching == 0: searching += 1, then CAS some worker's parked
//      1 -> 2 and wake its driver (Handle::wake: an eventfd write or msg-ring; a wake that comes before
//      the driver blocks is kept, so its wait returns at once); if none was parked, searching -= 1.
// Of "push, read parked/searching" and "store parked, read queues" at least one side sees the other.
// A searcher that finds work and was the last searcher calls notify() again (producers relied on it).
//
// Parking a fiber on an Operation: the fiber submits the Operation to its worker's driver, publishes
// the ticket (green_state.hpp, Task) and suspends. The completion can only run inside a turn of that
// driver, i.e. on the worker's own stack after the switch away from the fiber finished, so the fiber
// is never resumed while still on its way out. The completion pushes the fiber onto that worker's deque,
// from where any worker may take it (a fiber may resume on another worker).
//
// Shutdown (~Sched), numbered:
//   1. stopping = true under all_mu_: spawn() registers tasks under the same mutex after checking it,
//      so a task is either in the live list for step 2 or refused (shut_down). (The live list is
//      gdb_.fibers, also what debuggers list: gdb_registry.hpp.)
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

char yield_tag;
void* const kYield = &yield_tag;

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

namespace { char park_tag; }
void* kPark() noexcept { return &park_tag; }

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
    {
        std::lock_guard lock(all_mu_);
        stopping_.store(true, std::memory_order_seq_cst);  // 1
    }
    for (;;) {  // 2
        {
            std::lock_guard lock(all_mu_);
            for (zsync_gdb_fiber* f = gdb_.fibers; f; f = f->next) request_cancel(static_cast<Task*>(f->task));
        }
        if (live_.load(std::memory_order_acquire) == 0) break;  // acquire: the tasks' last writes
        for (int i = 0; i < 200 && live_.load(std::memory_order_acquire) != 0; ++i) {
            timespec ts{0, 100'000};
            ::nanosleep(&ts, nullptr);
        }
        if (live_.load(std::memory_order_acquire) == 0) break;
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
    if (max_fibers_ && live_.load(std::memory_order_relaxed) >= max_fibers_) {
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
#if defined(__cpp_exceptions)
    std::expected<fiber::FiberPtr, fiber::FiberError> f = std::unexpected(fiber::FiberError{ENOMEM, "fiber create"});
    try {
        f = fiber::Fiber::create(*stacks_, &fiber_body, t, "zsync green task");
    } catch (...) {
    }
#else
    auto f = fiber::Fiber::create(*stacks_, &fiber_body, t, "zsync green task");
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

bool Sched::spawn(Task* t) noexcept {
    {
        std::lock_guard lock(all_mu_);
        if (stopping()) return false;  // under the mutex: see shutdown step 1
        gdb::link(gdb_, t->dbg);
    }
    live_.fetch_add(1, std::memory_order_relaxed);  // relaxed: shutdown reads it after the mutex
    spawned_.fetch_add(1, std::memory_order_relaxed);
    push_local_or_inject(t);
    notify();
    return true;
}

void Sched::push_local_or_inject(Task* t) noexcept {
    Worker* w = current_worker();
    if (w && w->sched == this && w->deque.owner().push(t)) return;
    injector_.push(t);
}

void Sched::wake_local(Worker& w, Task* t) noexcept {
    t->dbg.state = zsync_gdb_runnable;
    if (!w.deque.owner().push(t)) injector_.push(t);
    notify();
}

void Sched::request_cancel(Task* t) noexcept {
    // seq_cst: the fiber reads it under the lock below after publishing its ticket (either side sees the other).
    t->cs.requested.store(1, std::memory_order_seq_cst);
    t->lock.lock();
    if (t->parked_on && t->cancelable && !t->cancel_sent) {
        t->cancel_sent = true;
        Worker* w = t->parked_on;
        if (t->batch_tickets) {
            // The fiber stays parked (its tickets alive) until the last completion, which takes this lock.
            for (std::size_t i = 0; i < t->batch_count; ++i) w->handle.cancel(t->batch_tickets[i]);
            t->lock.unlock();
            return;
        }
        zsync::reactor::Ticket k = t->ticket;
        t->lock.unlock();
        w->handle.cancel(k);  // a stale ticket (completed meanwhile) is ignored by the driver
        return;
    }
    t->lock.unlock();
}

namespace {
void on_done(std::uintptr_t word, Operation&) noexcept {
    auto* t = reinterpret_cast<Task*>(word);
    t->lock.lock();
    t->parked_on = nullptr;
    t->lock.unlock();
    t->sched->wake_local(*current_worker(), t);
}

// The codes the driver would only perform inline (never waiting): done here, on the fiber, at once.
bool performed_inline(Op c) noexcept {
    switch (c) {
    case Op::socket: case Op::bind: case Op::listen: case Op::shutdown: case Op::socketpair:
    case Op::setsockopt: case Op::getsockname: case Op::getpeername:
        return true;
    default:
        return false;
    }
}
}  // namespace

void Sched::fiber_yield(Task* me) noexcept {
    me->dbg.state = zsync_gdb_runnable;
    me->fib->suspend(kYield);
}

void Sched::fiber_operate(Task* me, Operation& op) noexcept {
    if (op.code == Op::close) {
        // Not a cancel point: it runs to completion whatever is requested.
    } else if (me->cs.take()) {
        op.result = Error(Errc::canceled, op.code);
        return;
    }
    if (op.code == Op::yield) {
        fiber_yield(me);
        op.result = std::uint64_t(0);
        return;
    }
    if (op.code == Op::nop) {
        op.result = std::uint64_t(0);
        return;
    }
    if (performed_inline(op.code)) return perform(op, me->cs);
    Worker* w = current_worker();
    zsync::reactor::Ticket k = w->driver->submit(op, zsync::reactor::Completion{&on_done, reinterpret_cast<std::uintptr_t>(me)});
    bool cancel_now = false;
    me->lock.lock();
    me->parked_on = w;
    me->ticket = k;
    me->cancel_sent = false;
    me->cancelable = op.code != Op::close && me->cs.protection == Protection::unblocked;
    // seq_cst: the other half of request_cancel's store (under the same lock, so either order works).
    if (me->cancelable && me->cs.requested.load(std::memory_order_seq_cst) != 0) me->cancel_sent = cancel_now = true;
    me->lock.unlock();
    if (cancel_now) w->driver->cancel(k);
    me->dbg.waiting = &op;
    me->dbg.waiting_count = 1;
    me->dbg.state = zsync_gdb_parked;
    me->fib->suspend(kPark());
    me->dbg.waiting = nullptr;
    me->dbg.waiting_count = 0;
    // A cancelled Operation delivered the request: consume it (once), as every cancel point does.
    if (!op.result && op.result.error().is(Errc::canceled) && me->cs.protection == Protection::unblocked &&
        me->cs.requested.exchange(0, std::memory_order_acq_rel) != 0) {  // acq_rel: as ThreadCancelState::take
        me->cs.delivered = true;
        ++me->cs.deliveries;
    }
}

Result<void> Sched::wait_word(const Atomic<std::uint32_t>* word, std::uint32_t expected, bool cancelable) noexcept {
    Operation op = Operation::futex_wait(*word, expected, Deadline::never());
    Task* me = current_task();
    ThreadCancelState& cs = me ? me->cs : foreground_;
    const Protection saved = cs.protection;
    if (!cancelable) cs.protection = Protection::blocked;
    if (me) me->sched->fiber_operate(me, op);
    else perform(op, cs);
    cs.protection = saved;
    if (!op.result) return op.result.error();
    return {};
}

ThreadCancelState& Sched::cancel_state() noexcept {
    Task* t = current_task();
    return t ? t->cs : foreground_;
}

void Sched::complete(Task* t) noexcept {
    t->dbg.state = zsync_gdb_finishing;
    {
        std::lock_guard lock(all_mu_);
        gdb::unlink(gdb_, t->dbg);
    }
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
        if ((old & Group::count_mask) == 1 && (old & Group::waiter)) futex_wake_os(&g->outstanding, INT_MAX);
    } else {
        // acq_rel: release publishes the result to the awaiter; acquire sees whether it sleeps.
        std::uint32_t old = t->state.exchange(Task::done, std::memory_order_acq_rel);
        if (old & Task::waiter) futex_wake_os(&t->state, INT_MAX);
    }
    live_.fetch_sub(1, std::memory_order_release);  // release: shutdown's acquire sees the task's end
}

void Sched::run(Worker& w, Task* t) noexcept {
    if (t->last_worker && t->last_worker != &w) migrations_.fetch_add(1, std::memory_order_relaxed);
    t->last_worker = &w;
    t->dbg.worker = w.index;
    t->dbg.state = zsync_gdb_running;
    w.current = t;
    tls_task = t;
    void* why = t->fib->resume(t);
    tls_task = nullptr;
    w.current = nullptr;
    if (t->fib->state() == fiber::Fiber::State::finished) {
        t->fib.reset();  // the stack goes back to the pool now, not when the owner awaits
        complete(t);
        return;
    }
    if (why == kYield && !w.deque.owner().push(t)) injector_.push(t);
    // kPark: the driver's completion makes it runnable (on_done).
}

Task* Sched::find_work(Worker& w) noexcept {
    if (Task* t = w.deque.stealer().steal()) return t;  // oldest first (see the header)
    if (Task* t = injector_.pop()) return t;
    std::size_t n = workers_.size();
    for (std::size_t i = 1; i < n; ++i)
        if (Task* t = workers_[(w.index + i) % n]->deque.stealer().steal()) return t;
    return nullptr;
}

bool Sched::any_work() noexcept {
    if (injector_.maybe_nonempty()) return true;
    for (auto& w : workers_)
        if (w->deque.stealer().maybe_nonempty()) return true;
    return false;
}

void Sched::notify() noexcept {
    fence_seq_cst();  // seq_cst: the push before this against a parking worker's store (see the header)
    // relaxed: ordered by the fence.
    if (searching_.load(std::memory_order_relaxed) != 0) return;
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
    fence_seq_cst();
    if (!any_work() && !exit_.load(std::memory_order_seq_cst)) w.driver->run_until(Deadline::never());
    // acq_rel: reads a claim by notify() (2), which counted this worker as a searcher.
    if (w.parked.exchange(0, std::memory_order_acq_rel) == 2) w.searching = true;
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
    unsigned since_poll = 0;
    for (;;) {
        if (Task* t = find_work(w)) {
            stop_searching(w, true);
            run(w, t);
            // A worker that always has runnable fibers still reaps its driver (one turn per 32 runs).
            if (++since_poll >= 32) {
                since_poll = 0;
                if (driver.in_flight()) driver.poll();
            }
            continue;
        }
        since_poll = 0;
        if (driver.in_flight() && driver.poll() > 0) continue;
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
    w.left_loop.store(true, std::memory_order_release);  // release: shutdown step 3
    while (!drivers_may_go_.load(std::memory_order_acquire)) std::this_thread::yield();  // acquire: no more wakes
    w.driver = nullptr;
    tls_worker = nullptr;
}

}  // namespace zsync::rt::green
