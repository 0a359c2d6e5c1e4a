// The one place runtime code takes its atomics from, so a model checker's atomics or a smaller queue
// capacity can be swapped in for tests without touching the algorithms.
#pragma once
#include <atomic>

namespace zsync::rt {

template <class T>
using Atomic = std::atomic<T>;

inline void fence_seq_cst() noexcept { std::atomic_thread_fence(std::memory_order_seq_cst); }

// A test-and-test-and-set spin lock for critical sections of a few instructions (list links).
class SpinLock {
public:
    void lock() noexcept {
        // acquire: the critical section must see the previous holder's writes.
        while (flag_.exchange(true, std::memory_order_acquire))
            while (flag_.load(std::memory_order_relaxed)) __builtin_ia32_pause();
    }
    // release: publishes the critical section's writes to the next holder.
    void unlock() noexcept { flag_.store(false, std::memory_order_release); }

private:
    Atomic<bool> flag_{false};
};

}  // namespace zsync::rt
