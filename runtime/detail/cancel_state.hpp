// The cancellation state of a task that runs on an OS thread, and the interrupt protocol that gets a
// cancellation request into a syscall the task is blocked in.
//
// A plain header (no module dependencies): module units include it in their global module fragment.
//
// Protocol (one requester thread R, the task's thread T; both words seq_cst so that of R's
// "store requested, load blocked_tid" and T's "store blocked_tid, load requested" at least one side sees
// the other's store — the Dekker pattern):
//   1. T, before an interruptible syscall: blocked_tid = its tid; if requested: undo, deliver canceled.
//   2. R: requested = 1; then if blocked_tid != 0, send SIGURG to blocked_tid (request_async).
//      request() then waits for the acknowledgement itself: while blocked_tid != 0 and requested is
//      still 1, back off (1 us doubling to 10 ms) and re-send (nudge).
//   3. T's syscall fails with EINTR (the handler does nothing and is installed without SA_RESTART);
//      T sees requested, clears it (delivery: exactly once), sets blocked_tid = 0, reports canceled.
// The signal can land after T's check in step 1 and before it enters the kernel; that signal is lost,
// which is why someone re-sends until T acknowledges by clearing `requested` or leaving the syscall.
// A requester of many cancellations (a group, a shutdown) must not wait for each acknowledgement in
// turn: each wait needs the target thread scheduled, so N serial waits cost N scheduling round trips
// (and quadratic time when the acknowledged targets then compete for the CPU). It sends every request
// with request_async and leaves the re-sending to whoever waits for the tasks to end (nudge, on a
// timeout of that wait): the common path has no back-off at all.
// EINTR without a request (another signal) restarts the syscall.
#pragma once
#include <atomic>
#include <cstdint>

namespace zsync::rt {

enum class Protection : std::uint8_t { unblocked, blocked };

struct ThreadCancelState {
    // 1 while a request is pending (set by any thread, cleared by the owner when delivered).
    std::atomic<std::uint32_t> requested{0};
    // The owner's tid while it is inside an interruptible syscall, else 0.
    std::atomic<std::int32_t> blocked_tid{0};
    // Owner-only: a request was delivered (recancel re-arms it) / the protection state.
    bool delivered = false;
    std::uint32_t deliveries = 0;  // owner-only: how many requests were delivered (BlockingIo's inline children)
    Protection protection = Protection::unblocked;

    // Owner: make the state as new (a reused backend context).
    void reset() noexcept {
        // relaxed: a context being reset is not shared yet (acquire() hands it out afterwards).
        requested.store(0, std::memory_order_relaxed);
        blocked_tid.store(0, std::memory_order_relaxed);
        delivered = false;
        protection = Protection::unblocked;
    }
    // Owner: a cancel point. True (and the request consumed) if canceled must be reported now.
    bool take() noexcept {
        if (protection == Protection::blocked) return false;
        // relaxed first: the common case (no request) costs one plain load; exchange consumes it.
        if (requested.load(std::memory_order_relaxed) == 0) return false;
        // acq_rel: consumes the request exactly once against concurrent requesters.
        if (requested.exchange(0, std::memory_order_acq_rel) == 0) return false;
        delivered = true;
        ++deliveries;
        return true;
    }
    // Owner: re-arm a delivered request.
    void recancel() noexcept {
        if (!delivered) return;
        delivered = false;
        // release: nothing to publish beyond the flag itself; the owner reads it at its next cancel point.
        requested.store(1, std::memory_order_release);
    }
    // Any thread: request cancellation and interrupt the owner's syscall until it acknowledges.
    void request() noexcept;
    // Any thread: request cancellation and send the interrupt once if the owner is in a syscall; does
    // not wait. The caller (or whoever waits for the owner) must nudge() until the owner acknowledges.
    void request_async() noexcept;
    // Any thread: if a request is still unacknowledged by an owner inside a syscall (its interrupt may
    // have been lost), send the interrupt again. True if it did (the request is still unacknowledged).
    bool nudge() noexcept;
    // Any thread: a request is pending and the owner is inside an interruptible syscall.
    bool unacknowledged() const noexcept {
        // seq_cst: as request_async.
        return blocked_tid.load(std::memory_order_seq_cst) != 0 && requested.load(std::memory_order_seq_cst) != 0;
    }
    // Owner, step 1: enter an interruptible syscall. Returns false (and leaves) if a request is
    // deliverable, in which case the caller reports canceled (already consumed). Inline: it is on the
    // path of every blocking Operation (docs/benchmarks.md); only the rare pending-request case is not.
    bool enter_blocking() noexcept;
    // The rest of step 1 when a request was seen pending: undo blocked_tid and deliver it if allowed.
    bool enter_blocking_requested() noexcept;
    // Owner, step 3: leave the syscall.
    void leave_blocking() noexcept { blocked_tid.store(0, std::memory_order_release); }
};

// The calling thread's kernel tid, cached per thread (0 until first asked). constinit: no dynamic
// initialisation, so other translation units read it directly instead of through a TLS wrapper call.
extern constinit thread_local std::int32_t cached_tid;
[[clang::preserve_most]] std::int32_t current_tid_slow() noexcept;
// The calling thread's kernel tid (cached).
inline std::int32_t current_tid() noexcept {
    std::int32_t tid = cached_tid;
    return tid != 0 ? tid : current_tid_slow();
}

inline bool ThreadCancelState::enter_blocking() noexcept {
    if (protection == Protection::blocked) return true;  // not interruptible: leave blocked_tid at 0
    // seq_cst store then seq_cst load: the Dekker pair with request() (see the top of this file).
    blocked_tid.store(current_tid(), std::memory_order_seq_cst);
    if (requested.load(std::memory_order_seq_cst) == 0) [[likely]] return true;
    return enter_blocking_requested();
}
// Installs the do-nothing SIGURG handler (once per process; thread-safe).
void install_interrupt_handler() noexcept;

}  // namespace zsync::rt
