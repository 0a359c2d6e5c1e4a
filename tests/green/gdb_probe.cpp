// The program that green.gdb_fibers (gdb_fibers.py) stops in gdb. One worker, so the fibers' states at
// the stop are certain: the worker takes its deque oldest first, so when `breaker` (spawned last) runs,
// the recv fiber and the sleep fiber have parked, the yielding one waits in the deque behind it, and
// the root fiber is parked awaiting the group. Run alone, it ends in about a second.
#include <sys/socket.h>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>
import zsync;

using namespace std::chrono_literals;

extern "C" {
// The recv fiber's socket, which the listing must show.
int zsync_gdb_probe_fd = -1;
__attribute__((noinline)) void zsync_gdb_probe_break() { asm volatile("" ::: "memory"); }
}

namespace {
std::atomic<bool> stop{false};

__attribute__((noinline)) void parked_in_recv(zsync::Io io, int fd) {
    std::byte b[1];
    zsync::Operation op = zsync::Operation::recv(fd, b);
    (void)io.operate(op);
}
__attribute__((noinline)) void parked_in_sleep(zsync::Io io) { (void)io.sleep(1s); }
__attribute__((noinline)) void yielding(zsync::Io io) {
    while (!stop.load(std::memory_order_relaxed)) (void)io.yield();
}
__attribute__((noinline)) void breaker(int peer) {
    zsync_gdb_probe_break();
    stop.store(true, std::memory_order_relaxed);
    (void)::send(peer, "x", 1, MSG_NOSIGNAL);  // ends the recv
}
}  // namespace

int main() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return 2;
    zsync_gdb_probe_fd = sv[0];
    zsync::GreenThreadsIo rt(zsync::GreenThreadsIo::Options{.workers = 1});
    auto r = rt.run([&sv](zsync::Io io) -> zsync::Result<void> {
        zsync::Group g;
        if (auto s = g.concurrent(io, [fd = sv[0]](zsync::Io c) { parked_in_recv(c, fd); }); !s) return s;
        if (auto s = g.concurrent(io, [](zsync::Io c) { parked_in_sleep(c); }); !s) return s;
        if (auto s = g.concurrent(io, [](zsync::Io c) { yielding(c); }); !s) return s;
        if (auto s = g.concurrent(io, [peer = sv[1]](zsync::Io) { breaker(peer); }); !s) return s;
        return g.await(io);
    });
    if (!r) {
        std::fprintf(stderr, "gdb_probe: %s\n", r.error().message().c_str());
        return 1;
    }
    return 0;
}
