// zsync:event — Event: a flag tasks can wait for (Zig's Io.ResetEvent), over one futex word.
//
// Protocol:
//   state_  0 = unset, 1 = unset and someone may sleep, 2 = set.
//   1. wait: if the word is 2, return. Otherwise move 0 -> 1 (announce a sleeper) and sleep while it
//      is 1; the kernel re-checks the word, so a set() landing between the CAS and the sleep makes the
//      sleep return at once.
//   2. set: exchange(2); only if it read 1 can anybody sleep, so only then wake them all.
//   3. reset: 2 -> 0. A reset while waiters sleep (state 1) changes nothing; they keep waiting.
//   A waiter that leaves early (canceled, timeout) leaves state 1 behind: the next set makes one
//   surplus wake syscall. Every wake is a broadcast, so no waiter can swallow another's wake-up.
module;
#include <atomic>
#include <cstdint>
#include <limits>
export module zsync:event;
import :error;
import :result;
import :time;
import :io;
import :mutex;

export namespace zsync {

// A set/unset flag. Thread-safe. Cancel points: wait and wait_until, only when the event is not set.
class Event {
public:
    Event() noexcept = default;
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;

    // Sets the event and wakes every waiter. Never waits. What the setter wrote before set() is visible
    // to every task that sees the event set.
    inline void set(Io io) noexcept {
        // release: publishes the setter's writes to waiters that acquire the word.
        if (state_.exchange(2, std::memory_order_release) == 1) io.futex_wake(state_, std::numeric_limits<std::uint32_t>::max());
    }
    // Unsets a set event. Never waits.
    inline void reset() noexcept {
        std::uint32_t expected = 2;
        // relaxed: no data is published by unsetting.
        state_.compare_exchange_strong(expected, 0, std::memory_order_relaxed);
    }
    inline bool is_set() const noexcept {
        // acquire: a true answer must come with the setter's writes.
        return state_.load(std::memory_order_acquire) == 2;
    }

    // Waits until the event is set. Errors: canceled (op wait).
    inline Result<void> wait(Io io) noexcept { return wait_until(io, Deadline::never()); }
    // As wait, or Errc::timeout (op wait) at `deadline`.
    Result<void> wait_until(Io io, Deadline deadline) noexcept {
        for (;;) {
            // acquire: as in is_set.
            std::uint32_t s = state_.load(std::memory_order_acquire);
            if (s == 2) return {};
            // relaxed: announcing a sleeper publishes nothing; the acquire load above re-runs.
            if (s == 0 && !state_.compare_exchange_weak(s, 1, std::memory_order_relaxed)) continue;
            if (Result<void> r = io.futex_wait(state_, 1, deadline); !r) return detail::sync_error(r.error(), Op::wait);
        }
    }

private:
    std::atomic<std::uint32_t> state_{0};
};

}  // namespace zsync
