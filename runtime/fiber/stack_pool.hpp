// Fiber stacks: mmap'd, with a PROT_NONE guard page below each, kept in a pool so that a warm pool hands
// out and takes back stacks with no system call.
//
// Memory: a stack is reserved (MAP_NORESERVE) and only the pages a fiber touches become resident, so the
// default size is about address space, not memory. Each stack is two mappings (guard + stack): a process
// needs vm.max_map_count above twice the number of live stacks (Linux's default 65530 allows ~32k).
//
// Thread-safety: a StackPool's acquire/release may be called from any thread (a mutex; uncontended it
// costs no system call). StackPool::this_thread() is the calling thread's pool with the default
// configuration; destroy the fibers made from it before that thread exits.
#pragma once
#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <mutex>
#include <vector>

#include "fiber/error.hpp"

namespace zsync::rt::fiber {

struct Stack {
    std::byte* base = nullptr;     // lowest address: the guard page(s) start here
    std::size_t guard_bytes = 0;   // PROT_NONE bytes at base
    std::size_t usable_bytes = 0;  // read-write bytes above the guard

    std::byte* bottom() const noexcept { return base + guard_bytes; }
    std::byte* top() const noexcept { return base + guard_bytes + usable_bytes; }
    explicit operator bool() const noexcept { return base != nullptr; }
};

struct StackConfig {
    // Usable bytes per stack, rounded up to whole pages. The default leaves room for ordinary C++ code;
    // sanitizer builds get more (ASan's redzones and TSan's frames are larger).
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
    std::size_t stack_bytes = 512 * 1024;
#else
    std::size_t stack_bytes = 128 * 1024;
#endif
#else
    std::size_t stack_bytes = 128 * 1024;
#endif
    std::size_t guard_bytes = 4096;  // rounded up to whole pages; at least one page
    std::size_t max_cached = 4096;   // stacks kept for reuse; releases beyond this unmap
};

class StackPool {
public:
    // A pool of stacks of config.stack_bytes; EINVAL when stack_bytes or max_cached makes no sense.
    static std::expected<std::unique_ptr<StackPool>, FiberError> make(const StackConfig& config);

    // The calling thread's pool (default configuration), made on first use.
    static StackPool& this_thread();

    ~StackPool();
    StackPool(const StackPool&) = delete;
    StackPool& operator=(const StackPool&) = delete;

    // A stack from the cache, or a new mapping: ENOMEM when the OS has no memory or address space
    // (or mappings: vm.max_map_count). Thread-safe.
    std::expected<Stack, FiberError> acquire();

    // Gives a stack back (it must have come from this pool). Its pages stay resident while cached.
    // Thread-safe; never fails.
    void release(Stack s) noexcept;

    std::size_t stack_bytes() const noexcept { return stack_bytes_; }
    std::size_t guard_bytes() const noexcept { return guard_bytes_; }
    // Counters for tests and benchmarks: mmap calls made, stacks cached now, stacks handed out now.
    std::uint64_t maps() const noexcept;
    std::size_t cached() const noexcept;
    std::size_t outstanding() const noexcept;

private:
    StackPool(std::size_t stack_bytes, std::size_t guard_bytes, std::size_t max_cached);

    std::size_t stack_bytes_;
    std::size_t guard_bytes_;
    std::size_t max_cached_;
    mutable std::mutex mutex_;
    std::vector<Stack> cache_;  // reserved to max_cached at construction: release never allocates
    std::uint64_t maps_ = 0;
    std::size_t outstanding_ = 0;
};

}  // namespace zsync::rt::fiber
