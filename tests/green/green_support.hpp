// Helpers of the GreenThreadsIo tests: a pipe, leak-measured runs on a fresh backend, the thread count.
#pragma once
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <thread>
#include <vector>
#include "leak_check.hpp"
import zsync;

namespace zsync::test {

struct ErrInfoLite {
    bool failed = false;
    Errc code = Errc::ok;
    Op op = Op::none;
};

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
};

// fds and allocations before and after `work` (a first backend of the kind is made and destroyed
// before, as conformance.hpp's measure does: its context node stays for reuse).
template <class F>
bool no_leak(F&& work) {
    { GreenThreadsIo w1(GreenThreadsIo::Options{.workers = 1}), w2(GreenThreadsIo::Options{.workers = 1}); }
    Usage before = usage_now();
    work();
    Usage after = usage_now();
    return before == after;
}

// Threads of this process (entries of /proc/self/task).
inline int thread_count() {
    int n = 0;
    if (DIR* d = ::opendir("/proc/self/task")) {
        while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
        ::closedir(d);
    }
    return n;
}

inline double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace zsync::test
