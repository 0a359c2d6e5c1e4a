// Helpers of the networking tests. Include after <catch2/catch.hpp>.
#pragma once
#include <sys/resource.h>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <unistd.h>
#include "conformance.hpp"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ZSYNC_NET_TSAN 1
#endif
#endif

// Early return of a Result's error from a function that returns a Result (tests only).
#define NET_TRY(var, expr)                      \
    auto var##_r = (expr);                      \
    if (!var##_r) return var##_r.error();       \
    auto var = std::move(*var##_r)
#define NET_TRY_VOID(expr)                      \
    do {                                        \
        auto r_ = (expr);                       \
        if (!r_) return r_.error();             \
    } while (0)

namespace zsync::test::net {

// A path under /tmp for a Unix socket, unlinked with the object.
struct SocketPath {
    std::string path;
    SocketPath() {
        static std::atomic<int> counter{0};
        path = "/tmp/zsync-net-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".sock";
        ::unlink(path.c_str());
    }
    ~SocketPath() { ::unlink(path.c_str()); }
    SocketPath(const SocketPath&) = delete;
    SocketPath& operator=(const SocketPath&) = delete;
};

// True when ::1 can be bound here (IPv6 loopback configured).
inline bool ipv6_available() {
    BlockingIo rt;
    auto l = TcpListener::listen(rt.io(), IpAddress::v6_loopback(0));
    if (!l) return false;
    (void)l->close(rt.io());
    return true;
}

// Raises the soft RLIMIT_NOFILE to at least `want` (up to the hard limit); returns the new soft limit.
inline rlim_t raise_fd_limit(rlim_t want) {
    rlimit rl{};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
        ::getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur;
}

inline std::span<std::byte> wbytes(char* p, std::size_t n) noexcept { return std::as_writable_bytes(std::span(p, n)); }

}  // namespace zsync::test::net
