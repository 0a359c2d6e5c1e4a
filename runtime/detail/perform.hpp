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
// The dispatch is inline so a backend's operate slot jumps straight to the code's function (one level,
// not two: docs/benchmarks.md). The hot codes have their own small functions; the rest share one.
void perform_nop(Operation& op, ThreadCancelState& cs) noexcept;
void perform_read(Operation& op, ThreadCancelState& cs) noexcept;
void perform_write(Operation& op, ThreadCancelState& cs) noexcept;
void perform_pread(Operation& op, ThreadCancelState& cs) noexcept;
void perform_pwrite(Operation& op, ThreadCancelState& cs) noexcept;
void perform_futex_wait(Operation& op, ThreadCancelState& cs) noexcept;
void perform_yield(Operation& op, ThreadCancelState& cs) noexcept;
void perform_other(Operation& op, ThreadCancelState& cs) noexcept;
// read/write/readv/writev with a deadline (perform_net.cpp: readiness first, as for sockets).
void perform_rw_deadline(Operation& op, ThreadCancelState& cs) noexcept;
// The socket Operations (perform_net.cpp), reached through perform_other.
void perform_net(Operation& op, ThreadCancelState& cs) noexcept;

[[gnu::always_inline]] inline void perform(Operation& op, ThreadCancelState& cs) noexcept {
    switch (op.code) {
    case Op::nop: return perform_nop(op, cs);
    case Op::read: return perform_read(op, cs);
    case Op::write: return perform_write(op, cs);
    case Op::pread: return perform_pread(op, cs);
    case Op::pwrite: return perform_pwrite(op, cs);
    case Op::futex_wait: return perform_futex_wait(op, cs);
    case Op::yield: return perform_yield(op, cs);
    default: return perform_other(op, cs);
    }
}

// FUTEX_WAKE on `word` (process-private): reaches every OS thread waiting on it, and up to
// `max_waiters` futex_waits the reactor holds in its waiter table (runtime/reactor/futex_table.cpp).
// IoVTable::task_identity of a backend whose tasks own (or block) their OS thread: the thread.
const void* thread_identity(void* ctx) noexcept;

void futex_wake_os(const std::atomic<std::uint32_t>* word, std::uint32_t max_waiters) noexcept;
// The reactor's half of futex_wake_os (a load and nothing else while no reactor waits in the table).
void futex_wake_reactor(const void* word, std::uint32_t max_waiters) noexcept;

}  // namespace zsync::rt
