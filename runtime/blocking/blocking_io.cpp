// BlockingIo: the table. Every task runs inline on the calling thread; every Operation is the syscall.
//
// State: one ThreadCancelState per BlockingIo (the running task tree shares it: an inline child is part
// of its parent's unit of concurrency), held in a ContextPool node so that a stale Io resolves to
// nullptr and reports io_gone.
module;
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include "../detail/cancel_state.hpp"
#include "../detail/context_pool.hpp"
module zsync;
#include "../detail/perform.hpp"
#include "../detail/inline_task.hpp"

namespace zsync {

namespace {

struct BlockingState {
    rt::ThreadCancelState cancel;
    void reset() noexcept { cancel.reset(); }
};
using Pool = rt::ContextPool<BlockingState>;

BlockingState* state(void* ctx) noexcept { return Pool::resolve(ctx); }

// Runs a child task inline. It shares its parent's cancellation state (one unit of concurrency), so a
// request it consumed is re-armed for the parent afterwards: as on every backend, a request to a task
// is forwarded to what runs inside it and stays pending for the task itself (docs/architecture.md).
void run_inline(BlockingState* s, const TaskDescriptor& d, void* args, void* result) noexcept {
    const std::uint32_t before = s->cancel.deliveries;
    d.start(args, result);
    if (s->cancel.deliveries != before) {
        s->cancel.delivered = true;
        s->cancel.recancel();
    }
}

AnyFuture* b_async(void* ctx, const TaskStart& t, void* result) noexcept {
    if (!state(ctx)) {
        t.descriptor->discard_args(t.args);
        t.descriptor->fail(result, Error(Errc::io_gone, Op::async));
        return nullptr;
    }
    run_inline(state(ctx), *t.descriptor, t.args, result);
    return nullptr;
}

Result<AnyFuture*> b_concurrent(void* ctx, const TaskStart&) noexcept {
    if (!state(ctx)) return Error(Errc::io_gone, Op::concurrent);
    return Error(Errc::concurrency_unavailable, Op::concurrent);
}

// BlockingIo never hands out a handle, so these are reached only through a forged one.
void b_await(void*, AnyFuture*, const TaskDescriptor& d, void* result) noexcept { d.fail(result, Error(Errc::invalid_argument, Op::await)); }
void b_cancel(void*, AnyFuture*, const TaskDescriptor& d, void* result) noexcept { d.fail(result, Error(Errc::invalid_argument, Op::cancel)); }

// BlockingIo never holds a group task, so GroupState::head is only ever this marker: a task that could
// not run because the backend is gone. It makes the next Group::await reach b_group_await and report
// io_gone instead of succeeding as if the task had run (group_async itself cannot report an error).
char lost_group_task;

void b_group_async(void* ctx, GroupState& g, const TaskStart& t) noexcept {
    const TaskDescriptor& d = *t.descriptor;
    BlockingState* s = state(ctx);
    if (!s) { d.discard_args(t.args); g.head = &lost_group_task; return; }
    rt::run_discarding(d, t.args, [&](void* args, void* result) { run_inline(s, d, args, result); });
}

Result<void> b_group_concurrent(void* ctx, GroupState&, const TaskStart&) noexcept {
    if (!state(ctx)) return Error(Errc::io_gone, Op::group_concurrent);
    return Error(Errc::concurrency_unavailable, Op::group_concurrent);
}
Result<void> b_group_await(void* ctx, GroupState& g) noexcept {
    g.head = nullptr;
    if (!state(ctx)) return Error(Errc::io_gone, Op::group_await);
    return {};  // every group task already ran inline
}
void b_group_cancel(void*, GroupState& g) noexcept { g.head = nullptr; }

CancelProtection b_swap(void* ctx, CancelProtection p) noexcept {
    BlockingState* s = state(ctx);
    if (!s) return CancelProtection::unblocked;
    auto old = s->cancel.protection == rt::Protection::blocked ? CancelProtection::blocked : CancelProtection::unblocked;
    s->cancel.protection = p == CancelProtection::blocked ? rt::Protection::blocked : rt::Protection::unblocked;
    return old;
}
void b_recancel(void* ctx) noexcept {
    if (BlockingState* s = state(ctx)) s->cancel.recancel();
}
Result<void> b_check_cancel(void* ctx) noexcept {
    BlockingState* s = state(ctx);
    if (!s) return Error(Errc::io_gone, Op::check_cancel);
    if (s->cancel.take()) return Error(Errc::canceled, Op::check_cancel);
    return {};
}

// Waking needs no backend state, so it works even through a stale Io (waiters may belong to others).
void b_futex_wake(void*, const std::atomic<std::uint32_t>* word, std::uint32_t n) noexcept { rt::futex_wake_os(word, n); }

extern const IoVTable blocking_table;

void b_operate(void* ctx, Operation& op) noexcept {
    // Waiting for tasks: the task-core slots (they report io_gone themselves).
    if (is_task_wait(op.code)) [[unlikely]] return perform_task_wait(ctx, blocking_table, op);
    BlockingState* s = state(ctx);
    if (!s) { op.result = Error(Errc::io_gone, op.code); return; }
    rt::perform(op, s->cancel);
}

void b_batch(void* ctx, Operation* ops, std::size_t count) noexcept {
    BlockingState* s = state(ctx);
    rt::perform_batch(ops, count, s ? &s->cancel : nullptr);
}

constexpr IoVTable blocking_table{
    .async = b_async,
    .concurrent = b_concurrent,
    .await = b_await,
    .cancel = b_cancel,
    .group_async = b_group_async,
    .group_concurrent = b_group_concurrent,
    .group_await = b_group_await,
    .group_cancel = b_group_cancel,
    .swap_cancel_protection = b_swap,
    .recancel = b_recancel,
    .check_cancel = b_check_cancel,
    .futex_wake = b_futex_wake,
    .operate = b_operate,
    .batch = b_batch,
    .task_identity = rt::thread_identity,  // inline children share their parent's thread
};
static_assert(complete_table(blocking_table), "BlockingIo: every IoVTable slot must be set");

}  // namespace

BlockingIo::BlockingIo() noexcept {
    rt::install_interrupt_handler();
    BlockingState* s = nullptr;
    io_ = Io{Pool::acquire(s), &blocking_table};
}

BlockingIo::~BlockingIo() { Pool::release(io_.ctx); }

void BlockingIo::request_cancel() noexcept {
    if (BlockingState* s = state(io_.ctx)) s->cancel.request();
}

}  // namespace zsync
