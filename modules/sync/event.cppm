// zsync:event — Event: a flag tasks can wait for (Zig's Io.ResetEvent), over one futex word.
//
// Protocol:
//   state_ = (generation << 2) | state; state 0 = unset, 1 = unset and someone may sleep, 2 = set.
//   set() bumps the generation, so a waiter can tell that a set happened while it slept even when a
//   reset() has already unset the event again (set(); reset(); must still release every waiter that
//   was asleep before the set).
//   1. wait: if the state is 2, return. Otherwise remember the generation, move state 0 -> 1 (announce
//      a sleeper) and sleep while the word is (generation, 1); the kernel re-checks the word, so a
//      set() landing between the CAS and the sleep makes the sleep return at once. On waking, return
//      if the state is 2 or the generation moved; else sleep again.
//   2. set: CAS to (generation + 1, 2); only if the state was 1 can anybody sleep, so only then wake
//      them all.
//   3. reset: (g, 2) -> (g, 0). A reset while waiters sleep (state 1) changes nothing.
//   A waiter that leaves early (canceled, timeout) leaves state 1 behind: the next set makes one
//   surplus wake syscall. Every wake is a broadcast, so no waiter can swallow another's wake-up. The
//   generation wraps after 2^30 sets; a waiter would have to sleep through exactly that many to miss one.
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
        std::uint32_t w = state_.load(std::memory_order_relaxed);
        // release: publishes the setter's writes to waiters that acquire the word; relaxed on failure:
        // the loop retries with the fresh value.
        while (!state_.compare_exchange_weak(w, next_generation(w) | set_state, std::memory_order_release, std::memory_order_relaxed)) {}
        if ((w & state_mask) == sleeping) io.futex_wake(state_, std::numeric_limits<std::uint32_t>::max());
    }
    // Unsets a set event. Never waits.
    inline void reset() noexcept {
        std::uint32_t w = state_.load(std::memory_order_relaxed);
        // relaxed: no data is published by unsetting.
        while ((w & state_mask) == set_state && !state_.compare_exchange_weak(w, w & ~state_mask, std::memory_order_relaxed)) {}
    }
    inline bool is_set() const noexcept {
        // acquire: a true answer must come with the setter's writes.
        return (state_.load(std::memory_order_acquire) & state_mask) == set_state;
    }

    // Waits until the event is set (or was set since the wait began). Errors: canceled (op wait).
    inline Result<void> wait(Io io) noexcept { return wait_until(io, Deadline::never()); }
    // As wait, or Errc::timeout (op wait) at `deadline`.
    Result<void> wait_until(Io io, Deadline deadline) noexcept {
        // acquire: as in is_set.
        std::uint32_t w = state_.load(std::memory_order_acquire);
        if ((w & state_mask) == set_state) return {};
        const std::uint32_t gen = w & ~state_mask;
        for (;;) {
            if ((w & state_mask) == 0) {
                // relaxed: announcing a sleeper publishes nothing; acquire on failure: the new value
                // may be a set, whose writes must then be visible.
                if (!state_.compare_exchange_weak(w, gen | sleeping, std::memory_order_relaxed, std::memory_order_acquire)) {
                    if ((w & state_mask) == set_state || (w & ~state_mask) != gen) return {};
                    continue;
                }
            }
            if (Result<void> r = io.futex_wait(state_, gen | sleeping, deadline); !r) return detail::sync_error(r.error(), Op::wait);
            w = state_.load(std::memory_order_acquire);  // acquire: as in is_set
            if ((w & state_mask) == set_state || (w & ~state_mask) != gen) return {};
        }
    }

private:
    static constexpr std::uint32_t state_mask = 3, sleeping = 1, set_state = 2;
    static constexpr std::uint32_t next_generation(std::uint32_t w) noexcept { return (w & ~state_mask) + 4; }
    std::atomic<std::uint32_t> state_{0};
};

}  // namespace zsync
