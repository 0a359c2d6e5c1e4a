// ThreadPoolIo: the table. Scheduling lives in scheduler.cpp; Operations run as syscalls on the
// calling worker (runtime/detail/perform.cpp) under the current task's cancellation state, so a
// cancelled task blocked in read/accept/sleep/futex is interrupted by the SIGURG protocol.
module;
#include <atomic>
#include <cerrno>
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
#include "work_deque.hpp"
#include "injector.hpp"
module zsync;
#include "../detail/perform.hpp"
#include "pool_state.hpp"
#include "../detail/inline_task.hpp"

namespace zsync {

namespace {

using rt::pool::Pool;
using rt::pool::Task;
namespace P = rt::pool;

struct PoolCtx {
    Pool* pool = nullptr;
    void reset() noexcept { pool = nullptr; }
};
using Ctx = rt::ContextPool<PoolCtx>;

Pool* pool_of(void* ctx) noexcept {
    PoolCtx* c = Ctx::resolve(ctx);
    return c ? c->pool : nullptr;
}

// A task started while its starter has a pending cancellation request starts with one, so a queued
// child sees what an inline child would (docs/architecture.md, cancellation rule 3).
void inherit_request(Pool* p, Task* t) noexcept {
    // relaxed: the starter reads its own flag; the new task's copy is published by queueing it.
    if (p->current_cancel_state().requested.load(std::memory_order_relaxed)) t->cancel.requested.store(1, std::memory_order_relaxed);
}

AnyFuture* p_async(void* ctx, const TaskStart& ts, void* result) noexcept {
    const TaskDescriptor& d = *ts.descriptor;
    Pool* p = pool_of(ctx);
    if (!p) {
        d.discard_args(ts.args);
        d.fail(result, Error(Errc::io_gone, Op::async));
        return nullptr;
    }
    Task* t = P::make_task(ts, nullptr);
    if (t) inherit_request(p, t);
    if (!t) {  // no memory for a task block: run it inline (always a valid schedule for async)
        d.start(ts.args, result);
        return nullptr;
    }
    if (!p->spawn(t)) {
        P::fail_task(t);  // shutting down: the result is shut_down, delivered through the handle
    }
    return reinterpret_cast<AnyFuture*>(t);
}

Result<AnyFuture*> p_concurrent(void* ctx, const TaskStart& ts) noexcept {
    Pool* p = pool_of(ctx);
    if (!p) return Error(Errc::io_gone, Op::concurrent);
    if (p->stopping()) return Error(Errc::shut_down, Op::concurrent);
    Task* t = P::make_task(ts, nullptr);
    if (!t) return Error(Errc::concurrency_unavailable, Op::concurrent);
    inherit_request(p, t);
    if (!p->spawn_concurrent(t)) {
        ts.descriptor->relocate_args(ts.args, t->args);  // failure leaves the arguments with the caller
        P::free_task(t);
        return Error(p->stopping() ? Errc::shut_down : Errc::concurrency_unavailable, Op::concurrent);
    }
    return reinterpret_cast<AnyFuture*>(t);
}

// The pool may be gone (a Future outliving its ThreadPoolIo): shutdown finished every task, and owner
// tasks are freed only here, so the block is still valid and done.
void take(Task* t, void* result) noexcept {
    t->desc->relocate_result(result, t->result);
    P::free_task(t);
}

void wait_for(void* ctx, Task* t) noexcept {
    if (Pool* p = pool_of(ctx)) p->wait_done(t);
    // acquire: pairs with complete()'s release, so the result is visible once done is seen.
    else P::futex_wait_while(&t->state, t->state.load(std::memory_order_acquire) & ~std::uint32_t(Task::done));
}

void p_await(void* ctx, AnyFuture* f, const TaskDescriptor&, void* result) noexcept {
    Task* t = reinterpret_cast<Task*>(f);
    wait_for(ctx, t);
    take(t, result);
}

void p_cancel(void* ctx, AnyFuture* f, const TaskDescriptor&, void* result) noexcept {
    Task* t = reinterpret_cast<Task*>(f);
    // acquire: a done task needs no request (and its result is then visible to take()).
    if (!(t->state.load(std::memory_order_acquire) & Task::done)) Pool::cancel_task(t);
    wait_for(ctx, t);
    take(t, result);
}

P::Group* group_of(GroupState& gs) noexcept {
    if (!gs.head) gs.head = new (std::nothrow) P::Group;
    return static_cast<P::Group*>(gs.head);
}

// Links a new task into the group, or undoes everything and returns false.
bool group_spawn(void* ctx, GroupState& gs, const TaskStart& ts, bool concurrent, Errc& why) noexcept {
    Pool* p = pool_of(ctx);
    if (!p) { why = Errc::io_gone; return false; }
    if (p->stopping()) { why = Errc::shut_down; return false; }
    P::Group* g = group_of(gs);
    Task* t = g ? P::make_task(ts, g) : nullptr;
    if (!t) { why = Errc::concurrency_unavailable; return false; }
    inherit_request(p, t);
    g->outstanding.fetch_add(1, std::memory_order_relaxed);  // relaxed: the task's own start publishes it
    g->lock.lock();
    t->next = g->head;
    if (g->head) g->head->prev = t;
    g->head = t;
    g->lock.unlock();
    if (concurrent ? p->spawn_concurrent(t) : p->spawn(t)) return true;
    g->lock.lock();
    if (t->prev) t->prev->next = t->next;
    else g->head = t->next;
    if (t->next) t->next->prev = t->prev;
    g->lock.unlock();
    g->outstanding.fetch_sub(1, std::memory_order_relaxed);  // relaxed: undoes our own increment; the task never ran
    ts.descriptor->relocate_args(ts.args, t->args);
    P::free_task(t);
    why = p->stopping() ? Errc::shut_down : Errc::concurrency_unavailable;
    return false;
}

void release_group(GroupState& gs) noexcept {
    delete static_cast<P::Group*>(gs.head);
    gs.head = nullptr;
}

void p_group_async(void* ctx, GroupState& gs, const TaskStart& ts) noexcept {
    Errc why;
    if (!group_spawn(ctx, gs, ts, false, why)) {
        // async cannot fail: a task that cannot be queued runs inline (its result is discarded).
        if (why == Errc::concurrency_unavailable) {
            rt::run_discarding(*ts.descriptor, ts.args, [&](void* args, void* result) { ts.descriptor->start(args, result); });
        } else {
            ts.descriptor->discard_args(ts.args);
        }
    }
    // acquire: finished tasks' unlinking is visible before the record is freed.
    if (gs.head && static_cast<P::Group*>(gs.head)->count(std::memory_order_acquire) == 0 &&
        !static_cast<P::Group*>(gs.head)->head)
        release_group(gs);
}

Result<void> p_group_concurrent(void* ctx, GroupState& gs, const TaskStart& ts) noexcept {
    Errc why;
    if (group_spawn(ctx, gs, ts, true, why)) return {};
    // acquire: as above, before the record is freed.
    if (gs.head && static_cast<P::Group*>(gs.head)->count(std::memory_order_acquire) == 0) release_group(gs);
    return Error(why, Op::group_concurrent);
}

void wait_group_uninterruptibly(void* ctx, P::Group* g) noexcept {
    if (Pool* p = pool_of(ctx)) { p->wait_group(g, false); return; }
    // acquire: the tasks' effects and unlinking are visible once 0 is seen.
    for (std::uint32_t n; ((n = g->outstanding.load(std::memory_order_acquire)) & P::Group::count_mask) != 0;)
        P::futex_wait_while(&g->outstanding, n);
}

Result<void> p_group_await(void* ctx, GroupState& gs) noexcept {
    auto* g = static_cast<P::Group*>(gs.head);
    if (!g) return {};
    bool ok = true;
    if (Pool* p = pool_of(ctx)) ok = p->wait_group(g, true);
    else wait_group_uninterruptibly(ctx, g);
    release_group(gs);
    if (!ok) return Error(Errc::canceled, Op::group_await);
    return {};
}

void p_group_cancel(void* ctx, GroupState& gs) noexcept {
    auto* g = static_cast<P::Group*>(gs.head);
    if (!g) return;
    Pool::cancel_group(g);
    wait_group_uninterruptibly(ctx, g);
    release_group(gs);
}

// The cancellation state calls through `ctx` act on: the current task's, else the pool's foreground
// task's; a stale Io falls back to a per-thread state (its operations report io_gone anyway).
rt::ThreadCancelState& cancel_state(void* ctx) noexcept {
    Pool* p = pool_of(ctx);
    return p ? p->current_cancel_state() : P::current_cancel();
}

CancelProtection p_swap(void* ctx, CancelProtection p) noexcept {
    if (!pool_of(ctx)) return CancelProtection::unblocked;  // a stale Io changes nothing
    rt::ThreadCancelState& cs = cancel_state(ctx);
    auto old = cs.protection == rt::Protection::blocked ? CancelProtection::blocked : CancelProtection::unblocked;
    cs.protection = p == CancelProtection::blocked ? rt::Protection::blocked : rt::Protection::unblocked;
    return old;
}
void p_recancel(void* ctx) noexcept { cancel_state(ctx).recancel(); }
Result<void> p_check_cancel(void* ctx) noexcept {
    if (!pool_of(ctx)) return Error(Errc::io_gone, Op::check_cancel);
    if (cancel_state(ctx).take()) return Error(Errc::canceled, Op::check_cancel);
    return {};
}
void p_futex_wake(void*, const std::atomic<std::uint32_t>* word, std::uint32_t n) noexcept { rt::futex_wake_os(word, n); }

extern const IoVTable pool_table;

void p_operate(void* ctx, Operation& op) noexcept {
    // Waiting for tasks: the task-core slots (they handle a pool that is gone themselves).
    if (is_task_wait(op.code)) [[unlikely]] return perform_task_wait(ctx, pool_table, op);
    Pool* p = pool_of(ctx);
    if (!p) { op.result = Error(Errc::io_gone, op.code); return; }
    p->announce();  // a lone task this worker queued must not wait behind a blocking call
    rt::perform(op, cancel_state(ctx));
}

void p_batch(void* ctx, Operation* ops, std::size_t count) noexcept {
    if (Pool* p = pool_of(ctx)) p->announce();  // as p_operate: a batch may block too
    rt::perform_batch(ops, count, pool_of(ctx) ? &cancel_state(ctx) : nullptr);
}

constexpr IoVTable pool_table{
    .async = p_async,
    .concurrent = p_concurrent,
    .await = p_await,
    .cancel = p_cancel,
    .group_async = p_group_async,
    .group_concurrent = p_group_concurrent,
    .group_await = p_group_await,
    .group_cancel = p_group_cancel,
    .swap_cancel_protection = p_swap,
    .recancel = p_recancel,
    .check_cancel = p_check_cancel,
    .futex_wake = p_futex_wake,
    .operate = p_operate,
    .batch = p_batch,
    // The thread, not the task: a task an awaiting worker runs nested blocks the task below it.
    .task_identity = rt::thread_identity,
};
static_assert(complete_table(pool_table), "ThreadPoolIo: every IoVTable slot must be set");

}  // namespace

ThreadPoolIo::ThreadPoolIo(Options o) {
    unsigned n = o.workers ? o.workers : std::max(1u, std::thread::hardware_concurrency());
    PoolCtx* c = nullptr;
    io_ = Io{Ctx::acquire(c), &pool_table};
    c->pool = new Pool(Pool::Config{n, o.max_concurrent});
}

ThreadPoolIo::~ThreadPoolIo() {
    PoolCtx* c = Ctx::resolve(io_.ctx);
    delete c->pool;  // the shutdown protocol (scheduler.cpp); tasks may still use io_ until it returns
    c->pool = nullptr;
    Ctx::release(io_.ctx);
}

void ThreadPoolIo::request_cancel() noexcept {
    if (Pool* p = pool_of(io_.ctx)) Pool::cancel_task_sync(p->foreground());
}

unsigned ThreadPoolIo::workers() const noexcept {
    PoolCtx* c = Ctx::resolve(io_.ctx);
    return c && c->pool ? c->pool->worker_count() : 0;
}

}  // namespace zsync
