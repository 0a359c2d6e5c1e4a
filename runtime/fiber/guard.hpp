// Stack overflow into a fiber's guard page: reported on stderr with the fiber's identity, then abort.
//
// A process-wide SIGSEGV handler (installed once, by the first StackPool) runs on an alternate signal stack
// (one per thread that runs fibers, set up by ensure_alt_stack() before its first switch into a fiber).
// It reads the running fiber's guard range from a thread-local GuardInfo; a fault outside it goes to the
// handler that was installed before ours (or the default action).
#pragma once
#include <cstddef>
#include <cstdint>

namespace zsync::rt::fiber {

struct GuardInfo {
    const std::byte* guard_lo = nullptr;  // [guard_lo, guard_hi): the PROT_NONE page(s)
    const std::byte* guard_hi = nullptr;
    const std::byte* stack_hi = nullptr;
    const char* name = nullptr;  // the fiber's name (static or outliving the fiber)
    std::uint64_t id = 0;
};

// Installs the SIGSEGV handler once per process (thread-safe, idempotent).
void install_guard_handler() noexcept;

// Gives the calling thread an alternate signal stack if it has none (idempotent per thread).
void ensure_alt_stack() noexcept;

// The guard of whatever runs on this thread now (nullptr: the thread's own stack). Set by every switch.
void set_current_guard(const GuardInfo* g) noexcept;

}  // namespace zsync::rt::fiber
