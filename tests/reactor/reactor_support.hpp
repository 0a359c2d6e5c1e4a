// Helpers of the reactor tests: both kinds, a completion that counts, and the small loop that drives a
// driver until a submission completes. Include after <catch2/catch.hpp>.
#pragma once
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <span>
#include <utility>
import zsync;

namespace zsync::test::reactor {

using zsync::reactor::Completion;
using zsync::reactor::Driver;
using zsync::reactor::Kind;
using namespace std::chrono_literals;

// Every test runs on both implementations.
#define REACTOR_KINDS GENERATE(zsync::reactor::Kind::uring, zsync::reactor::Kind::epoll)

// Counts the completions of one submission (a test fails if it is not exactly one).
struct Counter {
    int count = 0;
    static void fn(std::uintptr_t w, Operation&) noexcept { ++reinterpret_cast<Counter*>(w)->count; }
    Completion completion() { return {&Counter::fn, reinterpret_cast<std::uintptr_t>(this)}; }
};

// Turns the driver until `done()` or the time limit; false when the limit passed.
template <class Done>
bool drive(Driver& d, Done&& done, Duration limit = 10s) {
    Deadline end = Deadline::after(limit);
    while (!done()) {
        if (end.passed()) return false;
        d.run_until(Deadline::after(50ms));
    }
    return true;
}

// Submits op, drives until it completes; checks exactly one completion and returns its result.
inline Result<std::uint64_t> run_one(Driver& d, Operation& op, Duration limit = 10s) {
    Counter c;
    d.submit(op, c.completion());
    bool ok = drive(d, [&] { return c.count > 0; }, limit);
    d.poll();
    if (!ok || c.count != 1) return Error(Errc::invalid_argument, Op::none);  // the test's REQUIRE fails on it
    return op.result;
}

// A non-blocking TCP socket whose connect to a loopback port nobody listens on is refused (pending:
// the connect returned EINPROGRESS); its pending error is what poll reports as PollEvents::error.
inline int refused_socket() {
    int probe = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(probe, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(probe, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(probe);  // the port is free again: nothing listens there
    int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int r = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    REQUIRE(r == -1);
    REQUIRE(errno == EINPROGRESS);
    return s;
}

// A listening TCP socket on 127.0.0.1 (port chosen by the kernel), blocking, and its address.
struct Listener {
    int fd = -1;
    SocketAddress addr;
    explicit Listener(int backlog = 128) {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::listen(fd, backlog);
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        addr.family = AddressFamily::ipv4;
        addr.port = ntohs(a.sin_port);
        std::memcpy(addr.ip, &a.sin_addr, 4);
    }
    ~Listener() { if (fd >= 0) ::close(fd); }
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;
};

// A connected pair of loopback TCP sockets made with plain syscalls.
inline std::pair<int, int> tcp_pair(const Listener& l) {
    int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(l.addr.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
    int s = ::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC);
    int one = 1;
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return {c, s};
}

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit.
inline rlim_t raise_fd_limit_to_hard() {
    rlimit rl{};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur;
}

inline std::span<std::byte> bytes(void* p, std::size_t n) { return {static_cast<std::byte*>(p), n}; }

}  // namespace zsync::test::reactor
