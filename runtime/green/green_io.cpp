// GreenThreadsIo: the table. Scheduling lives in scheduler.cpp. Inside a fiber every wait is an
// Operation on the worker's reactor driver (the fiber parks); outside any fiber (a thread that is not a
// worker) the Operation is the syscall on that thread under the foreground's cancellation state.
//
// Await and group await from a fiber (of this or another GreenThreadsIo) park it on the task or group
// (Sched::fiber_await_*: no reactor, no syscall); complete() makes it runnable. Any other thread waits on
// the same word (the task's state, the group's count) with futex_wait, and complete() wakes it with
// futex_wake_os (the cross-backend rule, docs/architecture.md).
module;
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <vector>
#include "../detail/atomics.hpp"
#include "../detail/cancel_state.hpp"
#include "../detail/context_pool.hpp"
#include "../pool/work_deque.hpp"
#include "../pool/injector.hpp"
#include "fiber/fiber.hpp"
#include "gdb_registry.hpp"
module zsync;
#include "../detail/perform.hpp"
#include "../detail/inline_task.hpp"
#include "green_state.hpp"

namespace zsync {

namespace {

using rt::green::Sched;
using rt::green::Task;
namespace G = rt::green;

struct GreenCtx {
    Sched* sched = nullptr;
    void reset() noexcept { sched = nullptr; }
};
using Ctx = rt::ContextPool<GreenCtx>;

Sched* sched_of(void* ctx) noexcept {
    GreenCtx* c = Ctx::resolve(ctx);
    return c ? c->sched : nullptr;
}

// A task started while its starter has a pending request starts with one (docs/architecture.md,
// cancellation rule 3), as an inline child would see it.
void inherit_request(Sched* s, Task* t) noexcept {
    // relaxed: the starter reads its own flag; the new task's copy is published by spawn's queue push.
    if (s->cancel_state().requested.load(std::memory_order_relaxed)) t->cs.requested.store(1, std::memory_order_relaxed);
}

// Runs a task on the calling thread (async when no fiber can be had): its result is in `result`.
void run_inline(Sched* s, const TaskDescriptor& d, void* args, void* result) noexcept {
    (void)s;
    d.start(args, result);
}

AnyFuture* g_async(void* ctx, const TaskStart& ts, void* result) noexcept {
    const TaskDescriptor& d = *ts.descriptor;
    Sched* s = sched_of(ctx);
    if (!s) {
        d.discard_args(ts.args);
        d.fail(result, Error(Errc::io_gone, Op::async));
        return nullptr;
    }
    if (s->stopping()) {
        d.discard_args(ts.args);
        d.fail(result, Error(Errc::shut_down, Op::async));
        return nullptr;
    }
    Errc why = Errc::ok;
    Task* t = s->make(ts, nullptr, why);
    if (!t) {  // no stack or memory: run it here (always a valid schedule for async)
        run_inline(s, d, ts.args, result);
        return nullptr;
    }
    inherit_request(s, t);
    if (!s->spawn_async(t)) {
        d.relocate_args(ts.args, t->args);
        s->free_task(t);
        d.discard_args(ts.args);
        d.fail(result, Error(Errc::shut_down, Op::async));
        return nullptr;
    }
    return reinterpret_cast<AnyFuture*>(t);
}

Result<AnyFuture*> g_concurrent(void* ctx, const TaskStart& ts) noexcept {
    Sched* s = sched_of(ctx);
    if (!s) return Error(Errc::io_gone, Op::concurrent);
    if (s->stopping()) return Error(Errc::shut_down, Op::concurrent);
    Errc why = Errc::ok;
    Task* t = s->make(ts, nullptr, why);
    if (!t) return Error(why, Op::concurrent);  // concurrency_unavailable: no stack (args untouched)
    inherit_request(s, t);
    if (!s->spawn(t)) {
        ts.descriptor->relocate_args(ts.args, t->args);  // failure leaves the arguments with the caller
        s->free_task(t);
        return Error(Errc::shut_down, Op::concurrent);
    }
    return reinterpret_cast<AnyFuture*>(t);
}

// Waits until `t` is done. The awaiter's own cancellation is passed on to `t` once, after which the
// wait goes on uninterruptibly; the awaiter's request is then re-armed for its next cancel point.
void wait_done(Sched* s, Task* t) noexcept {
    // acquire: pairs with complete()'s exchange (the result).
    if (t->state.load(std::memory_order_acquire) & Task::done) return;
    if (!s) {  // the backend is gone: shutdown finished every task
        return;
    }
    if (Task* me = G::current_task()) {
        // Returns once t is done. A forwarded request was not consumed: it stays pending for the awaiter.
        (void)me->sched->fiber_await_task(me, t, true);
        return;
    }
    bool propagated = false;
    for (;;) {
        std::uint32_t v = t->state.load(std::memory_order_acquire);  // acquire: as above
        if (v & Task::done) break;
        if (!(v & Task::waiter)) {
            // relaxed on failure: re-read in the loop; acq_rel: complete() must see the bit or we see done.
            if (!t->state.compare_exchange_weak(v, v | Task::waiter, std::memory_order_acq_rel, std::memory_order_relaxed)) continue;
            v |= Task::waiter;
        }
        Result<void> r = s->wait_word(&t->state, v, !propagated);
        if (!r && r.error().is(Errc::canceled) && !propagated) {
            propagated = true;
            Sched::request_cancel(t);
        }
    }
    if (propagated) {  // the request stays pending for the awaiter itself
        rt::ThreadCancelState& cs = s->cancel_state();
        cs.delivered = false;
        cs.requested.store(1, std::memory_order_release);  // release: only the flag; the owner reads it
    }
}

void take(Sched* s, Task* t, void* result) noexcept {
    t->desc->relocate_result(result, t->result);
    if (s) s->free_task(t);
    else {  // the scheduler is gone; the block and its (finished, released) fiber are ours to free
        std::uint32_t align = t->block_align;
        t->~Task();
        if (align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__) ::operator delete(static_cast<void*>(t));
        else ::operator delete(static_cast<void*>(t), static_cast<std::align_val_t>(align));
    }
}

void g_await(void* ctx, AnyFuture* f, const TaskDescriptor&, void* result) noexcept {
    Task* t = reinterpret_cast<Task*>(f);
    Sched* s = sched_of(ctx);
    wait_done(s, t);  // spawn-then-await runs t inline or switches straight into it (Sched::fiber_await_task)
    take(s, t, result);
}

void g_cancel(void* ctx, AnyFuture* f, const TaskDescriptor&, void* result) noexcept {
    Task* t = reinterpret_cast<Task*>(f);
    Sched* s = sched_of(ctx);
    // acquire: a done task needs no request.
    if (s && !(t->state.load(std::memory_order_acquire) & Task::done)) Sched::request_cancel(t);
    wait_done(s, t);
    take(s, t, result);
}

G::Group* group_of(GroupState& gs) noexcept {
    if (!gs.head) gs.head = new (std::nothrow) G::Group;
    return static_cast<G::Group*>(gs.head);
}

void release_group(GroupState& gs) noexcept {
    delete static_cast<G::Group*>(gs.head);
    gs.head = nullptr;
}

bool group_spawn(void* ctx, GroupState& gs, const TaskStart& ts, Errc& why) noexcept {
    Sched* s = sched_of(ctx);
    if (!s) { why = Errc::io_gone; return false; }
    if (s->stopping()) { why = Errc::shut_down; return false; }
    G::Group* g = group_of(gs);
    if (!g) { why = Errc::concurrency_unavailable; return false; }
    Task* t = s->make(ts, g, why);
    if (!t) return false;
    inherit_request(s, t);
    g->outstanding.fetch_add(1, std::memory_order_relaxed);  // relaxed: the spawn's queue push publishes it
    g->lock.lock();
    t->next = g->head;
    if (g->head) g->head->prev = t;
    g->head = t;
    g->lock.unlock();
    if (s->spawn(t)) return true;
    g->lock.lock();
    if (t->prev) t->prev->next = t->next;
    else g->head = t->next;
    if (t->next) t->next->prev = t->prev;
    g->lock.unlock();
    g->outstanding.fetch_sub(1, std::memory_order_relaxed);  // relaxed: undoes our own increment
    ts.descriptor->relocate_args(ts.args, t->args);
    s->free_task(t);
    why = Errc::shut_down;
    return false;
}

void g_group_async(void* ctx, GroupState& gs, const TaskStart& ts) noexcept {
    Errc why = Errc::ok;
    if (!group_spawn(ctx, gs, ts, why)) {
        // async cannot fail: without a stack the task runs inline (its result discarded).
        if (why == Errc::concurrency_unavailable)
            rt::run_discarding(*ts.descriptor, ts.args, [&](void* args, void* result) { ts.descriptor->start(args, result); });
        else
            ts.descriptor->discard_args(ts.args);
    }
    auto* g = static_cast<G::Group*>(gs.head);
    // acquire: finished tasks' unlinking is visible before the record is freed.
    if (g && g->count(std::memory_order_acquire) == 0 && !g->head) release_group(gs);
}

Result<void> g_group_concurrent(void* ctx, GroupState& gs, const TaskStart& ts) noexcept {
    Errc why = Errc::ok;
    if (group_spawn(ctx, gs, ts, why)) return {};
    auto* g = static_cast<G::Group*>(gs.head);
    // acquire: as above.
    if (g && g->count(std::memory_order_acquire) == 0 && !g->head) release_group(gs);
    return Error(why, Op::group_concurrent);
}

// Waits until the group's count is 0; `cancelable`: a request cancels the tasks (once) and the wait
// goes on; returns whether that happened.
bool wait_group(Sched* s, G::Group* g, bool cancelable) noexcept {
    if (Task* me = G::current_task(); me && s) {
        // acquire: the tasks' effects, when nothing is left to wait for.
        if ((g->outstanding.load(std::memory_order_acquire) & G::Group::count_mask) == 0) return false;
        return me->sched->fiber_await_group(me, g, cancelable);
    }
    bool canceled = false;
    for (;;) {
        std::uint32_t n = g->outstanding.load(std::memory_order_acquire);  // acquire: the tasks' effects
        if ((n & G::Group::count_mask) == 0) break;
        if (!(n & G::Group::waiter)) {
            // acq_rel: the last task's decrement must see the bit or we see 0.
            if (!g->outstanding.compare_exchange_weak(n, n | G::Group::waiter, std::memory_order_acq_rel, std::memory_order_relaxed)) continue;
            n |= G::Group::waiter;
        }
        if (!s) {  // stale Io: every task ended at shutdown; nothing to wait for (count is 0 then)
            break;
        }
        Result<void> r = s->wait_word(&g->outstanding, n, cancelable && !canceled);
        if (!r && r.error().is(Errc::canceled) && cancelable && !canceled) {
            canceled = true;
            Sched::cancel_group(g);
        }
    }
    return canceled;
}

Result<void> g_group_await(void* ctx, GroupState& gs) noexcept {
    auto* g = static_cast<G::Group*>(gs.head);
    if (!g) return {};
    Sched* s = sched_of(ctx);
    bool canceled = wait_group(s, g, true);
    release_group(gs);
    if (canceled) return Error(Errc::canceled, Op::group_await);
    return {};
}

void g_group_cancel(void* ctx, GroupState& gs) noexcept {
    auto* g = static_cast<G::Group*>(gs.head);
    if (!g) return;
    Sched::cancel_group(g);
    (void)wait_group(sched_of(ctx), g, false);
    release_group(gs);
}

CancelProtection g_swap(void* ctx, CancelProtection p) noexcept {
    Sched* s = sched_of(ctx);
    if (!s) return CancelProtection::unblocked;  // a stale Io changes nothing
    rt::ThreadCancelState& cs = s->cancel_state();
    auto old = cs.protection == rt::Protection::blocked ? CancelProtection::blocked : CancelProtection::unblocked;
    cs.protection = p == CancelProtection::blocked ? rt::Protection::blocked : rt::Protection::unblocked;
    return old;
}

void g_recancel(void* ctx) noexcept {
    if (Sched* s = sched_of(ctx)) s->cancel_state().recancel();
}

Result<void> g_check_cancel(void* ctx) noexcept {
    Sched* s = sched_of(ctx);
    if (!s) return Error(Errc::io_gone, Op::check_cancel);
    if (s->cancel_state().take()) return Error(Errc::canceled, Op::check_cancel);
    return {};
}

void g_futex_wake(void*, const std::atomic<std::uint32_t>* word, std::uint32_t n) noexcept { rt::futex_wake_os(word, n); }

extern const IoVTable green_table;

// Awaiting a task or a group (Op::wait_task / wait_group) goes through the task-core slots above, as on
// every backend; everything else is an Operation for this worker's reactor (or the thread, outside a
// fiber).
void g_operate(void* ctx, Operation& op) noexcept {
    if (is_task_wait(op.code)) [[unlikely]] return perform_task_wait(ctx, green_table, op);
    Sched* s = sched_of(ctx);
    if (!s) { op.result = Error(Errc::io_gone, op.code); return; }
    if (Task* me = G::current_task()) return me->sched->fiber_operate(me, op);
    rt::perform(op, s->foreground());
}

void g_batch(void* ctx, Operation* ops, std::size_t count) noexcept {
    Sched* s = sched_of(ctx);
    if (!s) return rt::perform_batch(ops, count, nullptr);
    if (Task* me = G::current_task()) return me->sched->fiber_batch(me, ops, count);
    rt::perform_batch(ops, count, &s->foreground());
}

// The fiber (its task record) inside a fiber, else the thread.
const void* g_identity(void* ctx) noexcept {
    if (Task* me = G::current_task()) return me;
    return rt::thread_identity(ctx);
}

constexpr IoVTable green_table{
    .async = g_async,
    .concurrent = g_concurrent,
    .await = g_await,
    .cancel = g_cancel,
    .group_async = g_group_async,
    .group_concurrent = g_group_concurrent,
    .group_await = g_group_await,
    .group_cancel = g_group_cancel,
    .swap_cancel_protection = g_swap,
    .recancel = g_recancel,
    .check_cancel = g_check_cancel,
    .futex_wake = g_futex_wake,
    .operate = g_operate,
    .batch = g_batch,
    .task_identity = g_identity,
};
static_assert(complete_table(green_table), "GreenThreadsIo: every IoVTable slot must be set");

}  // namespace

GreenThreadsIo::GreenThreadsIo(Options o) {
    unsigned n = o.workers ? o.workers : std::max(1u, std::thread::hardware_concurrency());
    GreenCtx* c = nullptr;
    io_ = Io{Ctx::acquire(c), &green_table};
    c->sched = new Sched(Sched::Config{n, o.stack_bytes, o.max_fibers, o.reactor});
}

GreenThreadsIo::~GreenThreadsIo() {
    GreenCtx* c = Ctx::resolve(io_.ctx);
    delete c->sched;  // the shutdown protocol (scheduler.cpp); tasks may use io_ until it returns
    c->sched = nullptr;
    Ctx::release(io_.ctx);
}

void GreenThreadsIo::request_cancel() noexcept {
    if (Sched* s = sched_of(io_.ctx)) s->foreground().request();
}

unsigned GreenThreadsIo::workers() const noexcept {
    Sched* s = sched_of(io_.ctx);
    return s ? s->worker_count() : 0;
}

reactor::Kind GreenThreadsIo::reactor_kind() const noexcept {
    Sched* s = sched_of(io_.ctx);
    return s ? s->reactor_kind() : reactor::Kind::automatic;
}

GreenThreadsIo::Stats GreenThreadsIo::stats() const noexcept {
    Sched* s = sched_of(io_.ctx);
    if (!s) return {};
    return Stats{s->live(), s->spawned(), s->migrations(), s->stacks_cached()};
}

}  // namespace zsync
