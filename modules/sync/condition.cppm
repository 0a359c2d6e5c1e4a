// zsync:condition — Condition: wait for a predicate guarded by a Mutex (library code over a futex word).
//
// Protocol:
//   seq_      a sequence number; every signal/broadcast adds one. Waiters sleep on "seq_ is still the
//             value I read before unlocking the mutex", so a signal that lands after the unlock but
//             before the sleep changes the word and the kernel refuses the sleep (no lost wake-up).
//   waiters_  how many tasks are between step 1 and step 4; signal skips the syscall when it is 0.
//   1. wait: waiters_ += 1, then read s = seq_ (both seq_cst), then unlock the mutex.
//   2. sleep while seq_ == s (until deadline / cancellation; may wake spuriously).
//   3. waiters_ -= 1. If the sleep failed (canceled, timeout) and seq_ moved, a signal may have woken
//      us instead of another waiter: wake one more (a surplus wake is just a spurious wake-up).
//   4. re-lock the mutex with cancellation blocked (a request stays pending for the next cancel
//      point), so the mutex is held on every return path, including canceled and timeout.
//   signal: seq_ += 1, then read waiters_ (both seq_cst: either the signaller sees the waiter's
//   increment, or the waiter reads the new seq_ and does not sleep on the old one); wake 1 / all.
module;
#include <atomic>
#include <cstdint>
#include <limits>
export module zsync:condition;
import :error;
import :result;
import :time;
import :io;
import :mutex;

export namespace zsync {

// A condition variable for tasks of any backend. Thread-safe. Waits may return spuriously (re-check
// the predicate in a loop). Cancel points: wait and wait_until. signal and broadcast never wait.
class Condition {
public:
    Condition() noexcept = default;
    Condition(const Condition&) = delete;
    Condition& operator=(const Condition&) = delete;

    // Atomically unlocks `m` (which the calling task must hold) and waits for a signal, then re-locks
    // `m`. The mutex is held again on every return, including canceled (op wait). Errc::not_locked if
    // `m` was not locked (then nothing waited and nothing is held).
    inline Result<void> wait(Io io, Mutex& m) noexcept { return wait_until(io, m, Deadline::never()); }

    // As wait, returning Errc::timeout (op wait) at `deadline`, with `m` held again.
    Result<void> wait_until(Io io, Mutex& m, Deadline deadline) noexcept {
        // seq_cst (with the load below and signal's two): the store-load handshake of the header.
        waiters_.fetch_add(1, std::memory_order_seq_cst);
        const std::uint32_t s = seq_.load(std::memory_order_seq_cst);
        if (Result<void> u = m.unlock(io); !u) {
            // relaxed: only a counter for skipping syscalls; a stale higher value costs one wake.
            waiters_.fetch_sub(1, std::memory_order_relaxed);
            return Error(Errc::not_locked, Op::wait);
        }
        Result<void> r = io.futex_wait(seq_, s, deadline);
        // relaxed: as above.
        waiters_.fetch_sub(1, std::memory_order_relaxed);
        // relaxed: only decides whether to pass on a wake; the wake itself is what matters.
        if (!r && seq_.load(std::memory_order_relaxed) != s) io.futex_wake(seq_, 1);
        {
            CancelShield shield(io);
            Result<void> l = m.lock(io);  // cannot be canceled; cannot time out
            (void)l;                      // only io_gone could fail it (the backend is gone)
        }
        if (!r) return detail::sync_error(r.error(), Op::wait);
        return {};
    }

    // Wakes one waiter (if any). Never waits. Callable with or without the mutex held.
    inline void signal(Io io) noexcept { notify(io, 1); }
    // Wakes every waiter. Never waits.
    inline void broadcast(Io io) noexcept { notify(io, std::numeric_limits<std::uint32_t>::max()); }

private:
    inline void notify(Io io, std::uint32_t n) noexcept {
        // seq_cst: the signaller half of the handshake (see the header); also a release of the
        // predicate's writes for waiters that read seq_ afterwards.
        seq_.fetch_add(1, std::memory_order_seq_cst);
        if (waiters_.load(std::memory_order_seq_cst) != 0) io.futex_wake(seq_, n);
    }

    std::atomic<std::uint32_t> seq_{0};
    std::atomic<std::uint32_t> waiters_{0};
};

}  // namespace zsync
