// See cancel_state.hpp for the protocol.
#include "cancel_state.hpp"

#include <csignal>
#include <ctime>
#include <mutex>
#include <sys/syscall.h>
#include <unistd.h>

namespace zsync::rt {

namespace {
constexpr int interrupt_signal = SIGURG;
extern "C" void on_interrupt(int) {}
}  // namespace

constinit thread_local std::int32_t cached_tid = 0;

[[clang::preserve_most]] std::int32_t current_tid_slow() noexcept {
    cached_tid = static_cast<std::int32_t>(::gettid());
    return cached_tid;
}

void install_interrupt_handler() noexcept {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction sa {};
        sa.sa_handler = on_interrupt;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;  // no SA_RESTART: the blocked syscall must return EINTR
        ::sigaction(interrupt_signal, &sa, nullptr);
        // A write to a socket or pipe whose reader is gone must be an EPIPE error, not the death of
        // the process (File::write or sendfile on a socket cannot pass MSG_NOSIGNAL). As Go and Rust
        // do, SIGPIPE is ignored, but only while it still has its default action: a program that set
        // its own handler keeps it.
        struct sigaction pipe {};
        if (::sigaction(SIGPIPE, nullptr, &pipe) == 0 && pipe.sa_handler == SIG_DFL) ::signal(SIGPIPE, SIG_IGN);
    });
}

// enter_blocking (inline, in the header) saw a request pending after its seq_cst store of blocked_tid.
bool ThreadCancelState::enter_blocking_requested() noexcept {
    blocked_tid.store(0, std::memory_order_relaxed);  // relaxed: undoing our own store; nobody waits on it
    return !take();
}

void ThreadCancelState::request_async() noexcept {
    requested.store(1, std::memory_order_seq_cst);  // seq_cst: the Dekker pair with enter_blocking (header)
    std::int32_t tid = blocked_tid.load(std::memory_order_seq_cst);  // seq_cst: the other half of the pair
    if (tid != 0) ::syscall(SYS_tgkill, ::getpid(), tid, interrupt_signal);
}

bool ThreadCancelState::nudge() noexcept {
    // seq_cst: as request_async (a nudge is a repeated step 2).
    std::int32_t tid = blocked_tid.load(std::memory_order_seq_cst);
    if (tid == 0 || requested.load(std::memory_order_seq_cst) == 0) return false;
    ::syscall(SYS_tgkill, ::getpid(), tid, interrupt_signal);
    return true;
}

void ThreadCancelState::request() noexcept {
    request_async();
    for (long backoff_ns = 1000; unacknowledged();) {
        timespec ts{0, backoff_ns};
        ::nanosleep(&ts, nullptr);
        if (!nudge()) return;
        if (backoff_ns < 10'000'000) backoff_ns *= 2;
    }
}

}  // namespace zsync::rt
