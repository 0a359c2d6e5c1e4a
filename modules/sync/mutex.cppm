// zsync:mutex — Mutex: mutual exclusion over one futex word (library code, DESIGN.md §3).
//
// Protocol (Drepper's "futexes are tricky", mutex #2, plus the cancellation steps):
//   state_  0 = unlocked, 1 = locked and nobody sleeps, 2 = locked and someone may sleep.
//   1. lock, fast path: CAS 0 -> 1. Uncontended lock + unlock is this CAS and unlock's exchange: no
//      futex syscall.
//   2. lock, slow path: exchange(2). Reading 0 means we took the lock (marked 2 because others may
//      still sleep: over-marking costs one useless wake, under-marking loses one). Otherwise sleep
//      while the word is 2 (the kernel re-checks it, which closes the race with an unlock that lands
//      between our exchange and the sleep), then repeat step 2.
//   3. unlock: exchange(0); if it read 2, wake one sleeper. The woken one repeats step 2 and so
//      re-marks 2 if anybody else is still asleep.
//   4. A sleeper that leaves without the lock (canceled, timeout) may have consumed the one wake of
//      step 3 meant to hand the lock on; it passes that wake on (wake one) before returning, so the
//      other sleepers never sleep on an unlocked mutex. A surplus wake is only a spurious wake-up.
//   5. Deadlock detection: owner_ holds the holder's task identity (IoVTable::task_identity: the OS
//      thread on BlockingIo and ThreadPoolIo, the fiber on GreenThreadsIo; cleared before the release
//      in unlock). A lock that must wait while owner_ is the caller's identity can never succeed: on
//      the thread-blocking backends the holder is below us on this thread's stack (an inline child, or
//      a task the worker ran while the holder awaited); on fibers it is the same fiber. It returns
//      Errc::would_deadlock instead of hanging. A unit only reads its own identity back if it wrote it
//      last (it clears it before unlocking), so there are no false positives — two fibers on one worker
//      thread never look alike. try_lock() without an Io records no owner (the check then cannot fire).
//
// The rule for every primitive of modules/sync/ on BlockingIo (one task tree per thread, children run
// inline): a wait that nobody can end is reported where it can be detected — a Mutex lock by the
// thread that holds it returns Errc::would_deadlock (step 5). Elsewhere (a Queue get on an empty queue,
// a Semaphore, Event or Condition wait, an RwLock waiting for its own holder) another OS thread using
// another backend may still end the wait (the cross-backend futex rule), so it is not an error: such a
// wait ends by its deadline (the *_until forms, Errc::timeout), by a wake from another thread, or by
// request_cancel (Errc::canceled). Without a deadline and without another thread it blocks.
module;
#include <atomic>
#include <cstdint>
#include <thread>
export module zsync:mutex;
import :error;
import :result;
import :time;
import :io;

namespace zsync::detail {

// Relabels an error of the futex wait inside a primitive as the primitive's own cancel point, so that
// e.g. a cancelled Mutex::lock reports `lock: canceled` (op names the cancel point, architecture.md).
inline Error sync_error(Error e, Op op) noexcept {
    return e.code() == Errc::system ? e : Error(e.code(), op);
}

}  // namespace zsync::detail

export namespace zsync {

// A mutual-exclusion lock for tasks of any backend (and across backends: it is a futex word).
// Thread-safe. Not recursive: the task that locked it must unlock it. Not fair.
// Cancel points: lock / lock_until, only when they have to wait (an uncontended lock never observes
// cancellation, as in Zig). try_lock and unlock never wait.
class Mutex {
public:
    Mutex() noexcept = default;
    Mutex(const Mutex&) = delete;
    Mutex& operator=(const Mutex&) = delete;

    // Locks, waiting as long as needed. Errors: canceled (op lock) — the mutex is then not held;
    // would_deadlock when the calling task (IoVTable::task_identity) holds it (see the protocol, step 5).
    inline Result<void> lock(Io io) noexcept { return lock_until(io, Deadline::never()); }

    // As lock, giving up with Errc::timeout at `deadline`. On BlockingIo this is how to wait for a
    // mutex that only another OS thread could release.
    inline Result<void> lock_until(Io io, Deadline deadline) noexcept {
        std::uint32_t expected = 0;
        // acquire: the critical section must see everything the previous holder wrote.
        if (state_.compare_exchange_strong(expected, 1, std::memory_order_acquire, std::memory_order_relaxed)) [[likely]] {
            note_owner(io);
            return {};
        }
        return lock_slow(io, deadline);
    }

    // Takes the lock if it is free; never waits, never a cancel point. Records no owner: a later lock
    // by the same task then waits instead of reporting would_deadlock (use try_lock(io) for that).
    inline bool try_lock() noexcept {
        std::uint32_t expected = 0;
        // acquire: as in lock.
        return state_.compare_exchange_strong(expected, 1, std::memory_order_acquire, std::memory_order_relaxed);
    }
    // As try_lock, recording the calling task as the owner (for the deadlock check).
    inline bool try_lock(Io io) noexcept {
        if (!try_lock()) return false;
        note_owner(io);
        return true;
    }

    // Unlocks. Errc::not_locked (op unlock) if the mutex was not locked; the state is then unchanged.
    // Never waits. `io` is used only to wake a sleeper.
    inline Result<void> unlock(Io io) noexcept {
        // relaxed: a token only its own thread compares with itself (protocol step 5); the release
        // below orders it before the next holder's write anyway.
        owner_.store(nullptr, std::memory_order_relaxed);
        // release: publishes the critical section to the next holder (who acquires this word).
        std::uint32_t prev = state_.exchange(0, std::memory_order_release);
        if (prev == 2) [[unlikely]] io.futex_wake(state_, 1);
        else if (prev == 0) [[unlikely]] return Error(Errc::not_locked, Op::unlock);
        return {};
    }

    // The steps of the slow path, for zsync::lock (the frame-capable lock, below): whether the calling
    // task holds the lock (protocol step 5), one attempt of step 2, and the futex word to sleep on.
    inline bool held_by_caller(Io io) const noexcept {
        // relaxed: only our own earlier store can equal our id (step 5).
        return owner_.load(std::memory_order_relaxed) == io.vtable->task_identity(io.ctx);
    }
    inline bool take_contended(Io io) noexcept {
        // acquire: when it reads 0 we hold the lock and must see the previous holder's writes.
        if (state_.exchange(2, std::memory_order_acquire) != 0) return false;
        note_owner(io);
        return true;
    }
    inline const std::atomic<std::uint32_t>& word() const noexcept { return state_; }

    // True while some task holds the lock (a snapshot, for assertions and tests).
    inline bool is_locked() const noexcept {
        // relaxed: a snapshot; callers synchronise by other means.
        return state_.load(std::memory_order_relaxed) != 0;
    }

private:
    inline void note_owner(Io io) noexcept {
        // relaxed: read only by this same task's deadlock check (protocol step 5).
        owner_.store(io.vtable->task_identity(io.ctx), std::memory_order_relaxed);
    }

    Result<void> lock_slow(Io io, Deadline deadline) noexcept {
        // relaxed: only our own earlier store can equal our id, and program order makes it visible.
        if (owner_.load(std::memory_order_relaxed) == io.vtable->task_identity(io.ctx)) return Error(Errc::would_deadlock, Op::lock);
        for (;;) {
            // acquire: when it reads 0 we hold the lock and must see the previous holder's writes.
            if (state_.exchange(2, std::memory_order_acquire) == 0) {
                note_owner(io);
                return {};
            }
            Result<void> r = io.futex_wait(state_, 2, deadline);
            if (!r) {
                io.futex_wake(state_, 1);  // step 4: pass on a hand-over wake we may have consumed
                return detail::sync_error(r.error(), Op::lock);
            }
        }
    }

    std::atomic<std::uint32_t> state_{0};
    std::atomic<const void*> owner_{nullptr};
};

// Locks `m` as m.lock_until(io, deadline) does (the same protocol, the same errors and cancel points),
// written over one futex_wait so that zsync-gen embeds it in a frame: in an annotated function call
// zsync::lock(io, m) (or with a deadline) instead of m.lock(io). Thread-safe as Mutex::lock. Its
// body is printed into the caller's file by zsync-gen: it names only exported declarations, and its
// default argument is fully qualified.
[[clang::annotate("zsync::stackless")]]
inline Result<void> lock(Io io, Mutex& m, Deadline deadline = ::zsync::Deadline::never()) noexcept {
    if (m.try_lock(io)) return {};
    if (m.held_by_caller(io)) return Error(Errc::would_deadlock, Op::lock);
    for (;;) {
        if (m.take_contended(io)) return {};
        auto r = io.futex_wait(m.word(), 2, deadline);
        if (!r) {
            io.futex_wake(m.word(), 1);  // step 4: pass on a hand-over wake we may have consumed
            // (detail::sync_error, spelled out: this body is printed into the caller's file)
            if (r.error().code() == Errc::system) return r.error();
            return Error(r.error().code(), Op::lock);
        }
    }
}

}  // namespace zsync
