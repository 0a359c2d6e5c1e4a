// Helpers of the ThreadPoolIo tests: leak-measured scenarios, pipes and listening sockets that close
// themselves, and the stress scale (smaller under TSan). Include after <catch2/catch.hpp>.
#pragma once
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <thread>
#include "conformance.hpp"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ZSYNC_POOL_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) && !defined(ZSYNC_POOL_TSAN)
#define ZSYNC_POOL_TSAN 1
#endif

namespace zsync::test::pool {

#ifdef ZSYNC_POOL_TSAN
inline constexpr int scale_div = 4;  // tiny-task counts under TSan (full size passes too, in ~13 s instead of ~3)
inline constexpr bool under_tsan = true;
#else
inline constexpr int scale_div = 1;
inline constexpr bool under_tsan = false;
#endif

// Runs `work` between two usage snapshots, after making and destroying `warm` pools at once (the
// first backends of a kind allocate context nodes that are kept for the process lifetime; two
// BlockingIos are warmed too).
template <class F>
Leak measure_pool(F&& work, int warm = 2) {
    {
        std::vector<std::unique_ptr<ThreadPoolIo>> w;
        for (int i = 0; i < warm; ++i) w.push_back(std::make_unique<ThreadPoolIo>(ThreadPoolIo::Options{.workers = 1}));
        BlockingIo b1, b2;  // the cross-backend cases make BlockingIos too
        (void)b1.io();
        (void)b2.io();
    }
    Leak l;
    l.before = usage_now();
    std::forward<F>(work)();
    l.after = usage_now();
    return l;
}

// A pipe whose ends close with the object.
struct Pipe {
    int r = -1, w = -1;
    Pipe() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) std::abort();
        r = fds[0];
        w = fds[1];
    }
    ~Pipe() {
        if (r >= 0) ::close(r);
        if (w >= 0) ::close(w);
    }
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    void put(char c = 'x') const {
        if (::write(w, &c, 1) != 1) std::abort();
    }
};

// A TCP socket listening on 127.0.0.1 on a port the kernel chose; nobody connects to it.
struct Listener {
    int fd = -1;
    Listener() {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) std::abort();
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = 0;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) std::abort();
        if (::listen(fd, 16) != 0) std::abort();
    }
    ~Listener() { ::close(fd); }
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;
};

// Spins (with short sleeps) until `flag` is set or `limit` passes; true if it was set.
inline bool wait_flag(const std::atomic<bool>& flag, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    auto end = SteadyClock::now() + limit;
    while (!flag.load()) {
        if (SteadyClock::now() > end) return false;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return true;
}

// An argument whose destruction is counted: a unique_ptr to this must be destroyed exactly once.
struct Tracked {
    static inline std::atomic<int> alive{0};
    static inline std::atomic<int> destroyed{0};
    static void reset() { alive = 0; destroyed = 0; }
    Tracked() { ++alive; }
    ~Tracked() { --alive; ++destroyed; }
    Tracked(const Tracked&) = delete;
    Tracked& operator=(const Tracked&) = delete;
};

}  // namespace zsync::test::pool
