// Replaces global operator new/delete in test binaries to count live allocations (see leak_check.hpp).
#include <atomic>
#include <cstdlib>
#include <new>
#include "leak_check.hpp"

namespace zsync::test {
std::atomic<long> live_allocations{0};
std::atomic<long> total_allocations{0};
}  // namespace zsync::test

using zsync::test::live_allocations;
using zsync::test::total_allocations;

// ThreadSanitizer's runtime defines the global operator new/delete itself (a second definition does not
// link), so under TSan allocations are not counted: the tsan preset checks races, the dev and asan
// presets check leaks.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ZSYNC_NO_ALLOC_COUNTING 1
#endif
#endif
#ifndef ZSYNC_NO_ALLOC_COUNTING

void* operator new(std::size_t n) {
    void* p = std::malloc(n ? n : 1);
    if (!p) throw std::bad_alloc();
    live_allocations.fetch_add(1, std::memory_order_relaxed);
    total_allocations.fetch_add(1, std::memory_order_relaxed);
    return p;
}
void* operator new(std::size_t n, std::align_val_t a) {
    std::size_t al = static_cast<std::size_t>(a);
    void* p = std::aligned_alloc(al, (n + al - 1) / al * al);
    if (!p) throw std::bad_alloc();
    live_allocations.fetch_add(1, std::memory_order_relaxed);
    total_allocations.fetch_add(1, std::memory_order_relaxed);
    return p;
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    try { return operator new(n); } catch (...) { return nullptr; }
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    try { return operator new(n, a); } catch (...) { return nullptr; }
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* p) noexcept {
    if (!p) return;
    live_allocations.fetch_sub(1, std::memory_order_relaxed);
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
void operator delete(void* p, std::align_val_t) noexcept { operator delete(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { operator delete(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { operator delete(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { operator delete(p); }
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { operator delete(p); }
void operator delete[](void* p, std::align_val_t) noexcept { operator delete(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { operator delete(p); }
#endif  // ZSYNC_NO_ALLOC_COUNTING

#include <dirent.h>

int zsync::test::open_fd_count() {
    DIR* d = ::opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    while (::readdir(d)) ++n;
    ::closedir(d);
    return n - 3;  // ".", ".." and the descriptor of `d` itself
}
