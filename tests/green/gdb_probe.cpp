// The program that green.gdb_fibers (gdb_fibers.py) stops in gdb. One worker, so the fibers' states at
// the stop are certain whatever order the scheduler starts them in: `breaker` yields until the recv
// and sleep fibers have said they are about to park (on one worker they then park before anything
// else runs) and the yielding one has started (it is then in the run queue whenever breaker runs);
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
std::atomic<int> in_place{0};  // the recv, sleep and yielding fibers, once each is where the listing expects it

__attribute__((noinline)) void parked_in_recv(zsync::Io io, int fd) {
    std::byte b[1];
    zsync::Operation op = zsync::Operation::recv(fd, b);
    in_place.fetch_add(1);
    (void)io.operate(op);
}
__attribute__((noinline)) void parked_in_sleep(zsync::Io io) {
    in_place.fetch_add(1);
    (void)io.sleep(1s);
}
__attribute__((noinline)) void yielding(zsync::Io io) {
    in_place.fetch_add(1);
    while (!stop.load(std::memory_order_relaxed)) (void)io.yield();
}
__attribute__((noinline)) void breaker(zsync::Io io, int peer) {
    while (in_place.load() < 3) (void)io.yield();
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
        if (auto s = g.concurrent(io, [peer = sv[1]](zsync::Io c) { breaker(c, peer); }); !s) return s;
        return g.await(io);
    });
    if (!r) {
        std::fprintf(stderr, "gdb_probe: %s\n", r.error().message().c_str());
        return 1;
    }
    return 0;
}
