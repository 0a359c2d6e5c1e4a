// Performing an Operation as blocking syscalls on the calling thread: BlockingIo's operate, and later
// the pool workers' and the offload pool's.
//
// Include this in the purview of a `module zsync;` unit (after the module declaration): it declares
// module-attached functions over module types. cancel_state.hpp must be in the global module fragment.
#pragma once

namespace zsync::rt {

// Performs `op` and fills op.result. A cancel point (delivering cs's request as Errc::canceled) except
// for Op::close; blocking syscalls are interruptible by cs.request(). errno is captured here, on the
// thread that made the call.
void perform(Operation& op, ThreadCancelState& cs) noexcept;

// FUTEX_WAKE on `word` (process-private): reaches every OS thread waiting on it.
void futex_wake_os(const std::atomic<std::uint32_t>* word, std::uint32_t max_waiters) noexcept;

}  // namespace zsync::rt
