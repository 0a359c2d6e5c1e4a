// FaultIo: forwards everything to the wrapped Io, except the operation the plan names.
module;
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>
module zsync.testing;

namespace zsync::testing {

namespace {
FaultIo& self(void* ctx) noexcept { return *static_cast<FaultIo*>(ctx); }
}  // namespace

const IoVTable FaultIo::table{
    .async = t_async,
    .concurrent = t_concurrent,
    .await = t_await,
    .cancel = t_cancel,
    .group_async = t_group_async,
    .group_concurrent = t_group_concurrent,
    .group_await = t_group_await,
    .group_cancel = t_group_cancel,
    .swap_cancel_protection = t_swap,
    .recancel = t_recancel,
    .check_cancel = t_check_cancel,
    .futex_wake = t_futex_wake,
    .operate = t_operate,
    .batch = t_batch,
    .task_identity = t_identity,
};

FaultIo::FaultIo(Io inner) noexcept : inner_(inner) {}

void FaultIo::fail_at(std::uint64_t k, Errc code, int os_error) noexcept {
    at_ = k; plan_ = Plan::fail; code_ = code; os_error_ = os_error;
}
void FaultIo::cancel_at(std::uint64_t k) noexcept { at_ = k; plan_ = Plan::cancel; }

void FaultIo::reset() noexcept {
    count_.store(0, std::memory_order_relaxed);
    fired_.store(false, std::memory_order_relaxed);
    at_ = 0; plan_ = Plan::none; code_ = Errc::ok; os_error_ = 0;
    pending_cancel_ = delivered_cancel_ = false;
    while (trace_lock_.test_and_set(std::memory_order_acquire)) {}
    trace_.clear();
    trace_lock_.clear(std::memory_order_release);
}

std::vector<TraceEntry> FaultIo::trace() const {
    auto& lock = const_cast<std::atomic_flag&>(trace_lock_);
    while (lock.test_and_set(std::memory_order_acquire)) {}
    std::vector<TraceEntry> out = trace_;
    lock.clear(std::memory_order_release);
    return out;
}

void FaultIo::record(const Operation& op, bool injected) noexcept {
    TraceEntry e{op.code, op.result ? Errc::ok : op.result.error().code(), op.result ? 0 : op.result.error().os_error(), injected};
    // acquire/release: the flag is the lock around trace_.
    while (trace_lock_.test_and_set(std::memory_order_acquire)) {}
    trace_.push_back(e);
    trace_lock_.clear(std::memory_order_release);
}

bool FaultIo::deliver_pending(Operation& op) noexcept {
    if (!pending_cancel_ || protection_ == CancelProtection::blocked || op.code == Op::close) return false;
    pending_cancel_ = false;
    delivered_cancel_ = true;
    fired_.store(true, std::memory_order_relaxed);
    op.result = Error(Errc::canceled, op.code);
    return true;
}

bool FaultIo::intercept(Operation& op) noexcept {
    std::uint64_t k = count_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (plan_ != Plan::none && k == at_) {
        if (plan_ == Plan::fail) {
            fired_.store(true, std::memory_order_relaxed);
            if (op.code == Op::close) inner_.vtable->operate(inner_.ctx, op);  // the handle is released anyway
            op.result = code_ == Errc::system ? Error::system(os_error_, op.code) : Error(code_, op.code);
            return true;
        }
        pending_cancel_ = true;
    }
    return deliver_pending(op);
}

void FaultIo::t_operate(void* ctx, Operation& op) noexcept {
    FaultIo& f = self(ctx);
    // Waiting for a task or a group is a task-core call, not an operation with a fault of its own: it
    // is neither counted nor traced, and always reaches the wrapped Io (it must construct the task's
    // result), exactly as the await/cancel slots always were.
    if (is_task_wait(op.code)) return f.inner_.vtable->operate(f.inner_.ctx, op);
    if (f.intercept(op)) return f.record(op, true);
    f.inner_.vtable->operate(f.inner_.ctx, op);
    f.record(op, false);
}

void FaultIo::t_batch(void* ctx, Operation* ops, std::size_t count) noexcept {
    // Each operation is counted on its own; the planted one is completed here and the rest forwarded.
    for (std::size_t i = 0; i < count; ++i) t_operate(ctx, ops[i]);
}

const void* FaultIo::t_identity(void* ctx) noexcept {
    FaultIo& f = self(ctx);
    return f.inner_.vtable->task_identity(f.inner_.ctx);
}

Result<void> FaultIo::t_check_cancel(void* ctx) noexcept {
    FaultIo& f = self(ctx);
    if (f.pending_cancel_ && f.protection_ == CancelProtection::unblocked) {
        f.pending_cancel_ = false;
        f.delivered_cancel_ = true;
        f.fired_.store(true, std::memory_order_relaxed);
        return Error(Errc::canceled, Op::check_cancel);
    }
    return f.inner_.vtable->check_cancel(f.inner_.ctx);
}

void FaultIo::t_recancel(void* ctx) noexcept {
    FaultIo& f = self(ctx);
    if (f.delivered_cancel_) {
        f.delivered_cancel_ = false;
        f.pending_cancel_ = true;
        return;
    }
    f.inner_.vtable->recancel(f.inner_.ctx);
}

CancelProtection FaultIo::t_swap(void* ctx, CancelProtection p) noexcept {
    FaultIo& f = self(ctx);
    f.protection_ = p;
    return f.inner_.vtable->swap_cancel_protection(f.inner_.ctx, p);
}

AnyFuture* FaultIo::t_async(void* ctx, const TaskStart& t, void* r) noexcept { return self(ctx).inner_.vtable->async(self(ctx).inner_.ctx, t, r); }
Result<AnyFuture*> FaultIo::t_concurrent(void* ctx, const TaskStart& t) noexcept { return self(ctx).inner_.vtable->concurrent(self(ctx).inner_.ctx, t); }
void FaultIo::t_await(void* ctx, AnyFuture* a, const TaskDescriptor& d, void* r) noexcept { self(ctx).inner_.vtable->await(self(ctx).inner_.ctx, a, d, r); }
void FaultIo::t_cancel(void* ctx, AnyFuture* a, const TaskDescriptor& d, void* r) noexcept { self(ctx).inner_.vtable->cancel(self(ctx).inner_.ctx, a, d, r); }
void FaultIo::t_group_async(void* ctx, GroupState& g, const TaskStart& t) noexcept { self(ctx).inner_.vtable->group_async(self(ctx).inner_.ctx, g, t); }
Result<void> FaultIo::t_group_concurrent(void* ctx, GroupState& g, const TaskStart& t) noexcept { return self(ctx).inner_.vtable->group_concurrent(self(ctx).inner_.ctx, g, t); }
Result<void> FaultIo::t_group_await(void* ctx, GroupState& g) noexcept { return self(ctx).inner_.vtable->group_await(self(ctx).inner_.ctx, g); }
void FaultIo::t_group_cancel(void* ctx, GroupState& g) noexcept { self(ctx).inner_.vtable->group_cancel(self(ctx).inner_.ctx, g); }
void FaultIo::t_futex_wake(void* ctx, const std::atomic<std::uint32_t>* w, std::uint32_t n) noexcept { self(ctx).inner_.vtable->futex_wake(self(ctx).inner_.ctx, w, n); }

}  // namespace zsync::testing
