// A per-thread cache of freed task blocks, by size class, in front of operator new/delete.
//
// Why: a ThreadPoolIo task is one allocation (header, arguments, result) made at spawn and freed at
// await, and glibc's malloc+free took about 15 ns of a 100 ns spawn+await (perf record of bench_pool
// --mode spawn, 2 workers; with this cache 1,000,000 pairs took 0.06 s instead of 0.12-0.14 s).
// Only the pool's worker threads cache (enable()): a block freed on a worker goes to that worker's
// cache (at most `per_class` per class; beyond that, and for large or over-aligned blocks, straight to
// operator delete) and is handed out again by the next allocation of its class there. Blocks migrate
// between threads with their tasks (made on one worker, freed by the awaiter on another); each cache
// stays bounded, so nothing accumulates. Other threads (the caller of run(), BlockingIo threads) free
// at once, so the pool holds no memory once its workers have exited (the tests' leak counts).
//
// Thread-safety: each thread touches only its own cache. Thread exit returns the cached blocks to
// operator delete; a block freed after that on the same thread goes straight to operator delete.
//
// Under AddressSanitizer a cached block is poisoned, so a use after free is still reported.
#pragma once
#include <cstddef>
#include <cstdint>
#include <new>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define ZSYNC_BLOCK_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define ZSYNC_BLOCK_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#endif
#endif
#ifndef ZSYNC_BLOCK_POISON
#define ZSYNC_BLOCK_POISON(p, n) ((void)(p), (void)(n))
#define ZSYNC_BLOCK_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace zsync::rt::pool {

class BlockCache {
public:
    static constexpr std::size_t classes = 4;       // 128, 256, 512 and 1024 bytes
    static constexpr std::size_t smallest = 128;
    static constexpr std::uint32_t per_class = 64;  // blocks kept per class per thread

    // The size a request of `n` bytes is rounded up to (its class), or n itself when no class holds it.
    static inline std::size_t rounded(std::size_t n) noexcept {
        std::size_t c = smallest;
        for (std::size_t i = 0; i < classes; ++i, c <<= 1)
            if (n <= c) return c;
        return n;
    }

    // `size` from rounded(); alignment at most __STDCPP_DEFAULT_NEW_ALIGNMENT__. Null when out of memory.
    static inline void* allocate(std::size_t size) noexcept {
        std::size_t i = index(size);
        State& s = state;
        if (i < classes && s.head[i]) {
            Node* b = s.head[i];
            ZSYNC_BLOCK_UNPOISON(b, size);
            s.head[i] = b->next;
            --s.count[i];
            return b;
        }
        return ::operator new(size, std::nothrow);
    }

    // `p` from allocate(size).
    static inline void deallocate(void* p, std::size_t size) noexcept {
        std::size_t i = index(size);
        State& s = state;
        if (i < classes && s.enabled && s.count[i] < per_class) {
            Node* b = static_cast<Node*>(p);
            b->next = s.head[i];
            s.head[i] = b;
            ++s.count[i];
            ZSYNC_BLOCK_POISON(b, size);
            return;
        }
        ::operator delete(p);
    }

    // The calling thread caches from now until it exits. Call once per thread, at its start.
    static inline void enable() noexcept {
        exit_hook.arm();  // constructs this thread's hook, so that thread exit drains the cache
        state.enabled = true;
    }

private:
    struct Node {
        Node* next;
    };
    // Trivially destructible, so it stays readable until the thread ends (after ExitHook has run).
    struct State {
        Node* head[classes];
        std::uint32_t count[classes];
        bool enabled;  // enable() was called and exit_hook has not run yet
    };
    // Its destructor (thread exit) returns the cached blocks and stops caching on this thread.
    struct ExitHook {
        bool armed;
        inline ExitHook() noexcept : armed(false) {}
        inline void arm() noexcept { armed = true; }  // an access that constructs this thread's hook
        inline ~ExitHook() {
            State& s = state;
            s.enabled = false;
            std::size_t size = smallest;
            for (std::size_t i = 0; i < classes; ++i, size <<= 1) {
                while (Node* b = s.head[i]) {
                    ZSYNC_BLOCK_UNPOISON(b, size);
                    s.head[i] = b->next;
                    ::operator delete(static_cast<void*>(b));
                }
                s.count[i] = 0;
            }
        }
    };

    static inline std::size_t index(std::size_t size) noexcept {
        std::size_t c = smallest;
        for (std::size_t i = 0; i < classes; ++i, c <<= 1)
            if (size == c) return i;
        return classes;
    }

    static constinit inline thread_local State state{};
    static inline thread_local ExitHook exit_hook;
};

}  // namespace zsync::rt::pool
