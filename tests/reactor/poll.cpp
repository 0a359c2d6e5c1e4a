// Op::poll on both reactors: readiness reported without transferring, a parked poll woken by data or
// by the peer's close, deadlines, cancellation exactly once, and bad descriptors failing as BlockingIo
// fails them. Each case checks the exact events, so a backend that reported too much or too little fails.
#include <catch2/catch.hpp>
#include <cerrno>
#include <sys/socket.h>
#include <thread>
#include "reactor_support.hpp"
#include "socket_pair.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace zsync::test::reactor;
using zsync::reactor::Ticket;

namespace {

PollEvents events_of(const Result<std::uint64_t>& r) { return poll_events_of(*r); }

}  // namespace

TEST_CASE("reactor: poll for readable parks until a write, and transfers nothing", "[reactor][poll]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    SocketPair sp;
    Operation pr = Operation::poll(sp.b, PollEvents::readable);
    Counter pc;
    d.submit(pr, pc.completion());
    d.poll();
    d.run_until(Deadline::after(20ms));
    CHECK(pc.count == 0);  // nothing to read yet
    REQUIRE(::write(sp.a, "abc", 3) == 3);
    REQUIRE(drive(d, [&] { return pc.count > 0; }));
    CHECK(pc.count == 1);
    REQUIRE(pr.result);
    CHECK(events_of(pr.result) == PollEvents::readable);  // writable was not asked for
    // The bytes are still there: poll consumed nothing, and a second poll is ready at once.
    Operation again = Operation::poll(sp.b, PollEvents::readable | PollEvents::writable);
    auto r = run_one(d, again);
    REQUIRE(r);
    CHECK(events_of(r) == (PollEvents::readable | PollEvents::writable));
    char buf[8];
    Operation rv = Operation::recv(sp.b, bytes(buf, sizeof buf));
    auto n = run_one(d, rv);
    REQUIRE(n);
    CHECK(*n == 3);
    CHECK(d.in_flight() == 0);
}

TEST_CASE("reactor: poll for writable on a fresh socket completes at once", "[reactor][poll]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    SocketPair sp;
    Operation pw = Operation::poll(sp.a, PollEvents::writable, Deadline::after(5s));
    auto t0 = Clock::now();
    auto r = run_one(d, pw);
    REQUIRE(r);
    CHECK(events_of(r) == PollEvents::writable);
    CHECK(Clock::now() - t0 < 1s);
}

TEST_CASE("reactor: a parked poll and a parked recv on one socket are both served", "[reactor][poll]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    SocketPair sp;
    char buf[8];
    Operation rv = Operation::recv(sp.b, bytes(buf, sizeof buf));
    Operation pr = Operation::poll(sp.b, PollEvents::readable);
    Operation gone = Operation::poll(sp.b, PollEvents::readable);
    Counter rc, pc, gc;
    d.submit(rv, rc.completion());
    d.submit(pr, pc.completion());
    Ticket tg = d.submit(gone, gc.completion());
    d.poll();
    CHECK(rc.count + pc.count + gc.count == 0);
    d.cancel(tg);  // unlinked from the middle of the waiters: the others stay parked
    REQUIRE(drive(d, [&] { return gc.count > 0; }));
    CHECK(rc.count + pc.count == 0);
    REQUIRE(::write(sp.a, "x", 1) == 1);
    REQUIRE(drive(d, [&] { return rc.count > 0; }));
    REQUIRE(rv.result);
    CHECK(*rv.result == 1);
    // The recv may have taken the byte before the poll looked (readiness is a hint): then the poll
    // waits for the next byte.
    d.run_until(Deadline::after(10ms));
    if (pc.count == 0) REQUIRE(::write(sp.a, "y", 1) == 1);
    REQUIRE(drive(d, [&] { return pc.count > 0; }));
    d.run_until(Deadline::after(10ms));
    CHECK(rc.count == 1);
    CHECK(pc.count == 1);
    CHECK(gc.count == 1);
    REQUIRE(pr.result);
    CHECK(events_of(pr.result) == PollEvents::readable);
    CHECK(gone.result.error() == Error(Errc::canceled, Op::poll));
    CHECK(d.in_flight() == 0);
}

TEST_CASE("reactor: poll with a deadline times out, a passed one still reports what is ready", "[reactor][poll][deadline]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    SocketPair sp;
    Operation pr = Operation::poll(sp.b, PollEvents::readable, Deadline::after(30ms));
    auto t0 = Clock::now();
    auto e = run_one(d, pr);
    REQUIRE_FALSE(e);
    CHECK(e.error() == Error(Errc::timeout, Op::poll));
    CHECK(Clock::now() - t0 >= 30ms);
    Operation past = Operation::poll(sp.b, PollEvents::readable, Deadline{0});
    auto e2 = run_one(d, past);
    REQUIRE_FALSE(e2);
    CHECK(e2.error() == Error(Errc::timeout, Op::poll));
    Operation past_w = Operation::poll(sp.b, PollEvents::writable, Deadline{0});
    auto w = run_one(d, past_w);
    REQUIRE(w);
    CHECK(events_of(w) == PollEvents::writable);
    CHECK(d.in_flight() == 0);
}

TEST_CASE("reactor: a cancelled poll completes canceled exactly once", "[reactor][poll][cancel]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    SocketPair sp;
    Operation p1 = Operation::poll(sp.b, PollEvents::readable);
    Operation p2 = Operation::poll(sp.b, PollEvents::readable, Deadline::after(std::chrono::hours(1)));
    Counter c1, c2;
    Ticket t1 = d.submit(p1, c1.completion());
    Ticket t2 = d.submit(p2, c2.completion());
    d.poll();
    REQUIRE(c1.count + c2.count == 0);
    d.cancel(t1);
    d.cancel(t1);  // twice: still one completion
    d.cancel(t2);
    REQUIRE(drive(d, [&] { return d.in_flight() == 0; }));
    d.run_until(Deadline::after(10ms));
    CHECK(c1.count == 1);
    CHECK(c2.count == 1);
    REQUIRE_FALSE(p1.result);
    CHECK(p1.result.error() == Error(Errc::canceled, Op::poll));
    REQUIRE_FALSE(p2.result);
    CHECK(p2.result.error() == Error(Errc::canceled, Op::poll));  // canceled, not timeout
    // Through the Handle, from another thread.
    Operation p3 = Operation::poll(sp.b, PollEvents::readable);
    Counter c3;
    Ticket t3 = d.submit(p3, c3.completion());
    d.poll();
    auto h = d.handle();
    std::thread canceller([&] { h.cancel(t3); });
    REQUIRE(drive(d, [&] { return c3.count > 0; }));
    canceller.join();
    d.run_until(Deadline::after(10ms));
    CHECK(c3.count == 1);
    REQUIRE_FALSE(p3.result);
    CHECK(p3.result.error() == Error(Errc::canceled, Op::poll));
    // The socket still works after the cancelled polls.
    REQUIRE(::write(sp.a, "y", 1) == 1);
    Operation p4 = Operation::poll(sp.b, PollEvents::readable);
    auto r = run_one(d, p4);
    REQUIRE(r);
    CHECK(events_of(r) == PollEvents::readable);
}

TEST_CASE("reactor: poll on an invalid or closed descriptor fails as BlockingIo does", "[reactor][poll]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    BlockingIo blocking;
    Operation bad = Operation::poll(-1, PollEvents::readable);
    auto e = run_one(d, bad);
    REQUIRE_FALSE(e);
    CHECK(e.error() == Error::system(EBADF, Op::poll));
    Operation bad_b = Operation::poll(-1, PollEvents::readable);
    auto eb = blocking.io().operate(bad_b);
    REQUIRE_FALSE(eb);
    CHECK(eb.error() == e.error());
    // A closed number (made and closed through the reactor, so its cache knows).
    Handle pair[2];
    Operation mk = Operation::socketpair(pair);
    REQUIRE(run_one(d, mk));
    Operation c0 = Operation::close(pair[0]);
    Operation c1 = Operation::close(pair[1]);
    REQUIRE(run_one(d, c0));
    REQUIRE(run_one(d, c1));
    Operation closed = Operation::poll(pair[1], PollEvents::readable | PollEvents::writable, Deadline::after(2s));
    auto e2 = run_one(d, closed);
    REQUIRE_FALSE(e2);
    CHECK(e2.error() == Error::system(EBADF, Op::poll));
    Operation closed_b = Operation::poll(pair[1], PollEvents::readable, Deadline::after(2s));
    auto eb2 = blocking.io().operate(closed_b);
    REQUIRE_FALSE(eb2);
    CHECK(eb2.error() == e2.error());
}

TEST_CASE("reactor: poll reports hang_up after the peer closes", "[reactor][poll]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    SocketPair sp;
    Operation pr = Operation::poll(sp.b, PollEvents::readable);
    Counter pc;
    d.submit(pr, pc.completion());
    d.poll();
    CHECK(pc.count == 0);
    sp.close_a();
    REQUIRE(drive(d, [&] { return pc.count > 0; }));
    CHECK(pc.count == 1);
    REQUIRE(pr.result);
    // The end of the stream is readable; hang_up says why.
    CHECK(events_of(pr.result) == (PollEvents::readable | PollEvents::hang_up));
    // Reported even when only writability was asked for (as poll(2) does with POLLHUP).
    Operation pw = Operation::poll(sp.b, PollEvents::writable);
    auto w = run_one(d, pw);
    REQUIRE(w);
    CHECK(has_any(events_of(w), PollEvents::hang_up));
    CHECK_FALSE(has_any(events_of(w), PollEvents::readable));

    // TCP: the peer's shutdown of its writing side (a FIN) is a hang_up too.
    Listener l;
    auto [c, s] = tcp_pair(l);
    Operation pt = Operation::poll(s, PollEvents::readable);
    Counter tc;
    d.submit(pt, tc.completion());
    d.poll();
    CHECK(tc.count == 0);
    REQUIRE(::shutdown(c, SHUT_WR) == 0);
    REQUIRE(drive(d, [&] { return tc.count > 0; }));
    REQUIRE(pt.result);
    CHECK(events_of(pt.result) == (PollEvents::readable | PollEvents::hang_up));
    ::close(c);
    ::close(s);
}

TEST_CASE("reactor: poll on a regular file is ready at once", "[reactor][poll]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    char path[] = "/tmp/zsync-poll-XXXXXX";
    int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    ::unlink(path);
    Operation pr = Operation::poll(fd, PollEvents::readable | PollEvents::writable, Deadline::after(5s));
    auto r = run_one(d, pr);
    REQUIRE(r);
    CHECK(events_of(r) == (PollEvents::readable | PollEvents::writable));
    Operation pw = Operation::poll(fd, PollEvents::writable);
    auto w = run_one(d, pw);
    REQUIRE(w);
    CHECK(events_of(w) == PollEvents::writable);
    BlockingIo blocking;
    Operation pb = Operation::poll(fd, PollEvents::writable);
    auto wb = blocking.io().operate(pb);
    REQUIRE(wb);
    CHECK(*wb == *w);
    ::close(fd);
}


TEST_CASE("reactor: poll reports a refused connection as error, as BlockingIo does", "[reactor][poll]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    int s = refused_socket();
    Operation pw = Operation::poll(s, PollEvents::writable, Deadline::after(5s));
    auto r = run_one(d, pw);
    REQUIRE(r);
    CHECK(has_any(events_of(r), PollEvents::error));
    ::close(s);
    BlockingIo blocking;
    int s2 = refused_socket();
    Operation pb = Operation::poll(s2, PollEvents::writable, Deadline::after(5s));
    auto rb = blocking.io().operate(pb);
    REQUIRE(rb);
    CHECK(*rb == *r);
    ::close(s2);
}
