#include "fiber/guard.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>

namespace zsync::rt::fiber {
namespace {

// Read by the handler on the faulting thread: a plain thread_local pointer is async-signal-safe to read.
thread_local const GuardInfo* tl_guard = nullptr;
struct sigaction g_previous {};

// async-signal-safe text building: no stdio, no allocation.
struct Line {
    char buf[512];
    std::size_t n = 0;
    void put(const char* s) {
        while (s && *s && n < sizeof buf - 1) buf[n++] = *s++;
    }
    void hex(std::uintptr_t v) {
        put("0x");
        char t[16];
        int k = 0;
        do {
            t[k++] = "0123456789abcdef"[v & 15];
            v >>= 4;
        } while (v && k < 16);
        while (k && n < sizeof buf - 1) buf[n++] = t[--k];
    }
    void dec(std::uint64_t v) {
        char t[20];
        int k = 0;
        do {
            t[k++] = static_cast<char>('0' + v % 10);
            v /= 10;
        } while (v && k < 20);
        while (k && n < sizeof buf - 1) buf[n++] = t[--k];
    }
};

void on_segv(int sig, siginfo_t* info, void* uctx) {
    const GuardInfo* g = tl_guard;
    auto addr = static_cast<const std::byte*>(info->si_addr);
    if (g && addr >= g->guard_lo && addr < g->guard_hi) {
        Line l;
        l.put("zsync: fiber stack overflow: fiber #");
        l.dec(g->id);
        l.put(" '");
        l.put(g->name ? g->name : "?");
        l.put("' hit its guard page at ");
        l.hex(reinterpret_cast<std::uintptr_t>(addr));
        l.put(" (stack ");
        l.hex(reinterpret_cast<std::uintptr_t>(g->guard_hi));
        l.put("..");
        l.hex(reinterpret_cast<std::uintptr_t>(g->stack_hi));
        l.put(", ");
        l.dec(static_cast<std::uint64_t>(g->stack_hi - g->guard_hi));
        l.put(" bytes); aborting\n");
        [[maybe_unused]] auto w = ::write(2, l.buf, l.n);
        // abort() with SIGABRT's default action: the fault must not be retried or ignored.
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        ::sigaction(SIGABRT, &dfl, nullptr);
        std::abort();
    }
    // Not ours: hand it to whoever handled SIGSEGV before us (a sanitizer, a crash reporter) or the default.
    if (g_previous.sa_flags & SA_SIGINFO) {
        if (g_previous.sa_sigaction) return g_previous.sa_sigaction(sig, info, uctx);
    } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
        return g_previous.sa_handler(sig);
    }
    ::sigaction(SIGSEGV, &g_previous, nullptr);  // returning re-executes the fault under the old action
    if (g_previous.sa_handler == SIG_IGN) {
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        ::sigaction(SIGSEGV, &dfl, nullptr);
    }
}

}  // namespace

void install_guard_handler() noexcept {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction sa {};
        sa.sa_sigaction = &on_segv;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        ::sigaction(SIGSEGV, &sa, &g_previous);
    });
}

void ensure_alt_stack() noexcept {
    thread_local bool done = false;
    if (done) return;
    done = true;
    stack_t old{};
    if (::sigaltstack(nullptr, &old) == 0 && !(old.ss_flags & SS_DISABLE) && old.ss_size >= 32 * 1024) return;
    // 64 KiB: the handler itself needs little, but a sanitizer's handler chained from it needs more. Never
    // freed: a signal may arrive at any time until the thread is gone.
    const std::size_t size = 64 * 1024;
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;  // no report then, but still no silent corruption: the fault kills the process
    stack_t ss{};
    ss.ss_sp = p;
    ss.ss_size = size;
    ss.ss_flags = 0;
    if (::sigaltstack(&ss, nullptr) != 0) ::munmap(p, size);
}

void set_current_guard(const GuardInfo* g) noexcept { tl_guard = g; }

}  // namespace zsync::rt::fiber
