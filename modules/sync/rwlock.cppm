// zsync:rwlock — RwLock: one writer or many readers, over one futex word.
//
// Protocol:
//   state_  bit 31 WRITER (a writer holds it), bit 30 WAIT (someone may sleep), bits 0..29 the number
//           of readers holding it. WRITER and a non-zero reader count never coexist.
//   1. lock (writer): when nothing but WAIT is set, CAS s -> s|WRITER (keeping WAIT, so our unlock
//      wakes the others). Otherwise CAS s -> s|WAIT and sleep while the word is s|WAIT; the kernel
//      re-checks it, so a release that changed the word in between makes the sleep return at once.
//   2. lock_shared: when WRITER is clear, CAS s -> s+1. Otherwise set WAIT and sleep, as in 1.
//   3. unlock: CAS WRITER|x -> 0; if WAIT was set, wake every sleeper. unlock_shared: CAS s -> s-1; the
//      last reader, if WAIT is set, clears it (CAS WAIT -> 0; if that fails a new holder kept WAIT and
//      will wake at its own release) and wakes every sleeper.
//   4. Every wake is a broadcast and every woken task re-runs 1 or 2 (re-setting WAIT if it must sleep
//      again), so a sleeper that leaves early (canceled, timeout) can swallow nobody's wake-up.
//   Readers are preferred: a steady stream of readers can starve a writer (documented, not fair).
module;
#include <atomic>
#include <cstdint>
#include <limits>
export module zsync:rwlock;
import :error;
import :result;
import :time;
import :io;
import :mutex;

export namespace zsync {

// A readers-writer lock. Thread-safe; not recursive; not fair (readers preferred). Cancel points:
// lock, lock_until, lock_shared, lock_shared_until, only when they have to wait. try_* and unlock*
// never wait. On BlockingIo a task that waits for itself (e.g. lock while holding lock_shared) blocks
// until the deadline: use the *_until forms there.
class RwLock {
public:
    RwLock() noexcept = default;
    RwLock(const RwLock&) = delete;
    RwLock& operator=(const RwLock&) = delete;

    inline bool try_lock() noexcept {
        // relaxed: the CAS below synchronises.
        std::uint32_t s = state_.load(std::memory_order_relaxed);
        // acquire: the writer must see what earlier holders wrote.
        return (s & ~wait_bit) == 0 && state_.compare_exchange_strong(s, s | writer_bit, std::memory_order_acquire, std::memory_order_relaxed);
    }
    inline bool try_lock_shared() noexcept {
        // relaxed: the CAS below synchronises.
        std::uint32_t s = state_.load(std::memory_order_relaxed);
        while (!(s & writer_bit) && (s & readers_mask) != readers_mask) {
            // acquire: a reader must see what the last writer wrote.
            if (state_.compare_exchange_weak(s, s + 1, std::memory_order_acquire, std::memory_order_relaxed)) return true;
        }
        return false;
    }

    // Exclusive lock. Errors: canceled / timeout (op lock), with nothing held.
    inline Result<void> lock(Io io) noexcept { return lock_until(io, Deadline::never()); }
    Result<void> lock_until(Io io, Deadline deadline) noexcept {
        for (;;) {
            if (try_lock()) return {};
            if (Result<void> r = sleep_unless(io, writer_bit | readers_mask, deadline); !r) return r;
        }
    }
    // Shared lock. Errors: canceled / timeout (op lock), with nothing held.
    inline Result<void> lock_shared(Io io) noexcept { return lock_shared_until(io, Deadline::never()); }
    Result<void> lock_shared_until(Io io, Deadline deadline) noexcept {
        for (;;) {
            if (try_lock_shared()) return {};
            if (Result<void> r = sleep_unless(io, writer_bit, deadline); !r) return r;
        }
    }

    // Releases the exclusive lock. Errc::not_locked (op unlock) if no writer holds it. Never waits.
    Result<void> unlock(Io io) noexcept {
        // relaxed: the CAS below synchronises.
        std::uint32_t s = state_.load(std::memory_order_relaxed);
        do {
            if (!(s & writer_bit)) return Error(Errc::not_locked, Op::unlock);
            // release: publishes the writer's critical section to the next holder.
        } while (!state_.compare_exchange_weak(s, 0, std::memory_order_release, std::memory_order_relaxed));
        if (s & wait_bit) io.futex_wake(state_, std::numeric_limits<std::uint32_t>::max());
        return {};
    }
    // Releases one shared lock. Errc::not_locked (op unlock) if no reader holds it. Never waits.
    Result<void> unlock_shared(Io io) noexcept {
        // relaxed: the CAS below synchronises.
        std::uint32_t s = state_.load(std::memory_order_relaxed);
        do {
            if ((s & writer_bit) || (s & readers_mask) == 0) return Error(Errc::not_locked, Op::unlock);
            // release: the reader's reads happen before the next writer's writes.
        } while (!state_.compare_exchange_weak(s, s - 1, std::memory_order_release, std::memory_order_relaxed));
        if (s - 1 == wait_bit) {
            std::uint32_t expected = wait_bit;
            // relaxed: clearing the flag publishes nothing; the wake follows.
            if (state_.compare_exchange_strong(expected, 0, std::memory_order_relaxed))
                io.futex_wake(state_, std::numeric_limits<std::uint32_t>::max());
        }
        return {};
    }

private:
    static constexpr std::uint32_t writer_bit = 1u << 31;
    static constexpr std::uint32_t wait_bit = 1u << 30;
    static constexpr std::uint32_t readers_mask = wait_bit - 1;

    // Sleeps while any bit of `busy` is set (steps 1 and 2); returns early when the word changes.
    Result<void> sleep_unless(Io io, std::uint32_t busy, Deadline deadline) noexcept {
        // relaxed: the value is only compared; the retry's CAS synchronises.
        std::uint32_t s = state_.load(std::memory_order_relaxed);
        if (!(s & busy)) return {};
        // relaxed: announcing a sleeper publishes nothing.
        if (!(s & wait_bit) && !state_.compare_exchange_strong(s, s | wait_bit, std::memory_order_relaxed)) return {};
        if (Result<void> r = io.futex_wait(state_, s | wait_bit, deadline); !r) return detail::sync_error(r.error(), Op::lock);
        return {};
    }

    std::atomic<std::uint32_t> state_{0};
};

}  // namespace zsync
