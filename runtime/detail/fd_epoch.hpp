// A process-wide count per descriptor number of the births and deaths the reactors saw, so that a
// driver's cache about a descriptor (the epoll backend's kind and registration) notices that the
// number now names another file.
//
// Why: each driver (a GreenThreadsIo worker, a reactor thread) has its own epoll instance and its own
// table indexed by descriptor number. A fiber migrates: worker B closes connection 7 that worker A
// had registered; the kernel drops it from A's epoll set, but A's table still says "registered". The
// next connection that gets number 7 and is read on A parked without EPOLL_CTL_ADD and was never
// woken (seen as an idle timeout in samples.http_server.green.epoll, ~1 request in 30).
//
// Protocol: the code that makes the syscall bumps, right after it, before the result is returned to
// anyone: perform() (every backend's blocking path, the offload pool, GreenThreadsIo's inline socket
// calls) after open, accept, socket, socketpair and close; the epoll backend after its own accept4; the
// io_uring backend when an open, accept, socket or close completes. A close is counted whatever it
// returned (Linux frees the number even on EIO; an extra count only costs a revalidation). A driver
// remembers the count with what it cached and revalidates when the count moved. Descriptors made and
// closed by the program's own syscalls are not seen (docs/reactor.md).
//
// Thread-safety: any thread. Numbers at or past `limit` are not tracked (count always 0): the table is
// 4 MiB of zero pages in .bss, resident only where descriptors are used.
#pragma once
#include <atomic>
#include <cstdint>

namespace zsync::rt::fd_epoch {

inline constexpr int limit = 1 << 20;

inline std::atomic<std::uint32_t>* table() noexcept {
    static std::atomic<std::uint32_t> counts[limit];  // constant-initialised: no guard, no allocation
    return counts;
}

// The current count of `fd` (0 when untracked).
inline std::uint32_t get(int fd) noexcept {
    if (fd < 0 || fd >= limit) return 0;
    return table()[fd].load(std::memory_order_acquire);
}

// `fd` was born or died.
inline void bump(int fd) noexcept {
    if (fd < 0 || fd >= limit) return;
    table()[fd].fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace zsync::rt::fd_epoch
