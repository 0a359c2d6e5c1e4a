// Two drivers, one descriptor number: what GreenThreadsIo does when a fiber migrates. A number that one
// driver waited on, closed through another and given to a new file, must be waited on again correctly
// by the first (runtime/reactor/fd_epoch.hpp). Found as ~1 request in 30 lost until the idle timeout in
// samples.http_server.green.epoll.
#include <catch2/catch.hpp>
#include "reactor_support.hpp"

using namespace zsync;
using namespace zsync::test::reactor;

namespace {
// A socket pair made through `d`, so that the reactor saw it born.
std::pair<Handle, Handle> pair_through(Driver& d) {
    Handle fds[2] = {-1, -1};
    Operation sp = Operation::socketpair(fds);
    auto r = run_one(d, sp);
    REQUIRE(r);
    return {fds[0], fds[1]};
}

// Ends a submission still in flight when a REQUIRE fails, before its Operation and buffer go.
struct EndIfPending {
    Driver& d;
    zsync::reactor::Ticket t;
    Counter& c;
    ~EndIfPending() {
        if (c.count == 0) {
            d.cancel(t);
            drive(d, [&] { return c.count > 0; });
        }
    }
};

// A recv of `fd` submitted to `waiter`, then bytes sent on `peer` through `other`: the recv must end.
void recv_after_send(Driver& waiter, Driver& other, Handle fd, Handle peer, char tag) {
    char in[4] = {};
    Operation rv = Operation::recv(fd, bytes(in, sizeof in));
    Counter c;
    EndIfPending guard{waiter, waiter.submit(rv, c.completion()), c};
    waiter.poll();
    REQUIRE(c.count == 0);  // parked: nothing sent yet
    char out[1] = {tag};
    Operation sd = Operation::send(peer, bytes(out, 1));
    auto s = run_one(other, sd);
    REQUIRE(s);
    // Two seconds: a lost wake-up would never end (the recv has no deadline).
    REQUIRE(drive(waiter, [&] { return c.count > 0; }, std::chrono::seconds(2)));
    REQUIRE(rv.result);
    CHECK(*rv.result == 1);
    CHECK(in[0] == tag);
}

void close_through(Driver& d, Handle fd) {
    Operation cl = Operation::close(fd);
    REQUIRE(run_one(d, cl));
}
}  // namespace

TEST_CASE("reactor: a number closed on one driver and reborn is waited on again on another", "[reactor][fds]") {
    Kind k = REACTOR_KINDS;
    Driver a({.kind = k}), b({.kind = k});
    auto [x, y] = pair_through(a);
    recv_after_send(a, b, x, y, 'a');  // x is now known to (registered with) driver a
    close_through(b, x);
    close_through(b, y);

    // Born through b: the same (lowest free) numbers, a new file.
    auto [x2, y2] = pair_through(b);
    REQUIRE(x2 == x);  // POSIX gives the lowest free number; else this test tests nothing
    recv_after_send(a, b, x2, y2, 'b');

    // Born outside any reactor after a close through b: also noticed (the close counted).
    close_through(b, x2);
    close_through(b, y2);
    int p[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) == 0);
    REQUIRE(p[0] == x);
    recv_after_send(a, b, p[0], p[1], 'c');
    close_through(a, p[0]);
    close_through(a, p[1]);
    CHECK(a.in_flight() == 0);
    CHECK(b.in_flight() == 0);
}

TEST_CASE("reactor: a recv parked on a number closed through another driver fails, not reads the next file", "[reactor][fds]") {
    Kind k = REACTOR_KINDS;
    Driver a({.kind = k}), b({.kind = k});
    auto [x, y] = pair_through(a);
    char stale_in[4] = {};
    Operation stale = Operation::recv(x, bytes(stale_in, sizeof stale_in));
    Counter sc;
    EndIfPending guard{a, a.submit(stale, sc.completion()), sc};
    a.poll();
    REQUIRE(sc.count == 0);
    close_through(b, x);  // under the parked recv: the caller's bug, but nothing may be misdelivered
    close_through(b, y);
    auto [x2, y2] = pair_through(b);
    REQUIRE(x2 == x);
    recv_after_send(a, b, x2, y2, 'n');  // the new file's byte goes to the new recv
    REQUIRE(drive(a, [&] { return sc.count > 0; }, std::chrono::seconds(2)));
    if (k == Kind::epoll) {
        // epoll: the stale waiter was failed when a's table saw the number reborn.
        REQUIRE(!stale.result);
        CHECK(stale.result.error() == Error::system(EBADF, Op::recv));
    } else {
        // io_uring: the kernel's recv holds the old file, whose peer closed: end of stream.
        REQUIRE(stale.result);
        CHECK(*stale.result == 0);
    }
    CHECK(stale_in[0] == 0);
    close_through(b, x2);
    close_through(b, y2);
}
