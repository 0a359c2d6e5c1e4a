// zsync.testing — FaultIo: an Io that wraps any Io and makes its k-th operation fail or be cancelled.
//
// The conformance suite uses it to walk every error path of a function (k = 1, 2, ... until the function
// runs without reaching k), and zsync-gen's differential tests compare a function on BlockingIo with its
// frame under the same faults. It counts every Operation passed to operate or batch, in arrival order,
// and records a trace of them (waiting for a task or a group, Op::wait_task / wait_group, is forwarded
// untouched: not counted, never faulted). Deterministic when one task at a time uses it (BlockingIo); thread-safe
// otherwise (the count and trace are shared, the order is then the arrival order).
module;
#include <atomic>
#include <cstdint>
#include <vector>
export module zsync.testing;
import zsync;

export namespace zsync::testing {

struct TraceEntry {
    Op op;
    Errc outcome;        // Errc::ok on success
    int os_error;        // for Errc::system
    bool injected;       // the outcome was planted by FaultIo
    friend bool operator==(const TraceEntry&, const TraceEntry&) = default;
};

class FaultIo {
public:
    explicit FaultIo(Io inner) noexcept;
    FaultIo(const FaultIo&) = delete;
    FaultIo& operator=(const FaultIo&) = delete;

    inline Io io() noexcept { return Io{this, &table}; }
    inline Io inner() const noexcept { return inner_; }

    // The k-th operation (1-based) fails with `code` (and `os_error` for Errc::system) instead of being
    // performed; its Error names that operation. A close still closes (as Linux does), then fails.
    void fail_at(std::uint64_t k, Errc code, int os_error = 0) noexcept;
    // A cancellation request arrives at the k-th operation: if the task's protection is unblocked the
    // operation is not performed and reports canceled; otherwise the request stays pending and is
    // delivered at the first later unprotected cancel point. recancel() after an injected delivery
    // re-arms it, as on a real backend. Close is not a cancel point: it runs, and the request waits.
    void cancel_at(std::uint64_t k) noexcept;
    // Forgets the plan, the count and the trace.
    void reset() noexcept;

    inline std::uint64_t operations() const noexcept { return count_.load(std::memory_order_relaxed); }
    // True once the planted fault has been delivered.
    inline bool fired() const noexcept { return fired_.load(std::memory_order_relaxed); }
    std::vector<TraceEntry> trace() const;

    static const IoVTable table;

private:
    enum class Plan : std::uint8_t { none, fail, cancel };
    // Decides the fate of the next operation; returns true if `op` was completed by the plan.
    bool intercept(Operation& op) noexcept;
    bool deliver_pending(Operation& op) noexcept;
    void record(const Operation& op, bool injected) noexcept;

    static AnyFuture* t_async(void*, const TaskStart&, void*) noexcept;
    static Result<AnyFuture*> t_concurrent(void*, const TaskStart&) noexcept;
    static void t_await(void*, AnyFuture*, const TaskDescriptor&, void*) noexcept;
    static void t_cancel(void*, AnyFuture*, const TaskDescriptor&, void*) noexcept;
    static void t_group_async(void*, GroupState&, const TaskStart&) noexcept;
    static Result<void> t_group_concurrent(void*, GroupState&, const TaskStart&) noexcept;
    static Result<void> t_group_await(void*, GroupState&) noexcept;
    static void t_group_cancel(void*, GroupState&) noexcept;
    static CancelProtection t_swap(void*, CancelProtection) noexcept;
    static void t_recancel(void*) noexcept;
    static Result<void> t_check_cancel(void*) noexcept;
    static void t_futex_wake(void*, const std::atomic<std::uint32_t>*, std::uint32_t) noexcept;
    static void t_operate(void*, Operation&) noexcept;
    static void t_batch(void*, Operation*, std::size_t) noexcept;
    static const void* t_identity(void*) noexcept;

    Io inner_;
    std::atomic<std::uint64_t> count_{0};
    std::atomic<bool> fired_{false};
    std::uint64_t at_ = 0;
    Plan plan_ = Plan::none;
    Errc code_ = Errc::ok;
    int os_error_ = 0;
    // The injected cancellation's state: requested and not yet delivered; delivered (so recancel re-arms).
    bool pending_cancel_ = false;
    bool delivered_cancel_ = false;
    CancelProtection protection_ = CancelProtection::unblocked;
    std::atomic_flag trace_lock_;
    std::vector<TraceEntry> trace_;
};

}  // namespace zsync::testing
