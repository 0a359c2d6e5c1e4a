// The one place runtime code takes its atomics from, so a model checker's atomics or a smaller queue
// capacity can be swapped in for tests without touching the algorithms.
#pragma once
#include <atomic>

namespace zsync::rt {

template <class T>
using Atomic = std::atomic<T>;

// A full (seq_cst) fence. On x86-64 a locked read-modify-write of the stack top is a full barrier, as
// `mfence` is, and costs 2 ns here against 16 ns for mfence (docs/benchmarks.md, ThreadPoolIo); GCC
// emits the same for its seq_cst fences. ThreadSanitizer does not see inline assembly, so under it
// (and elsewhere) the standard fence is used.
inline void fence_seq_cst() noexcept {
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__) && !(defined(__has_feature) && __has_feature(thread_sanitizer))
    __asm__ volatile("lock orq $0, (%%rsp)" ::: "memory", "cc");
#else
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

// A spin-wait hint to the CPU (lets the sibling hyper-thread run, saves power); a no-op where the
// architecture has none we know of.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield" ::: "memory");
#endif
}

// A test-and-test-and-set spin lock for critical sections of a few instructions (list links).
class SpinLock {
public:
    void lock() noexcept {
        // acquire: the critical section must see the previous holder's writes.
        while (flag_.exchange(true, std::memory_order_acquire))
            while (flag_.load(std::memory_order_relaxed)) cpu_relax();  // relaxed: only a spin hint
    }
    // release: publishes the critical section's writes to the next holder.
    void unlock() noexcept { flag_.store(false, std::memory_order_release); }

private:
    Atomic<bool> flag_{false};
};

}  // namespace zsync::rt
