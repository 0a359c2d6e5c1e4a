// The core Operations on both reactors: nop, pipe and socket I/O, accept/connect, close, sleep; a full
// pipe, a peer that resets, EAGAIN storms, the driver woken from another thread, bad input.
#include <catch2/catch.hpp>
#include <atomic>
#include <thread>
#include <vector>
#include "reactor_support.hpp"

using namespace zsync;
using namespace zsync::test::reactor;

TEST_CASE("reactor: the kind asked for is the kind served", "[reactor]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    CHECK(d.kind() == k);
    CHECK(d.in_flight() == 0);
    Driver automatic;  // this kernel (6.18) has io_uring: automatic picks it unless ZSYNC_REACTOR says otherwise
    CHECK((automatic.kind() == Kind::uring || automatic.kind() == Kind::epoll));
}

TEST_CASE("reactor: nop, yield and pipe read/write complete once each", "[reactor]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    Operation nop = Operation::nop();
    auto r = run_one(d, nop);
    REQUIRE(r);
    CHECK(*r == 0);
    Operation y = Operation::yield();
    REQUIRE(run_one(d, y));

    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    char out[5] = "ping", in[8] = {};
    Operation rd = Operation::read(p[0], bytes(in, sizeof in));
    Counter rc;
    d.submit(rd, rc.completion());  // parked (nothing written yet)
    d.poll();
    CHECK(rc.count == 0);
    Operation wr = Operation::write(p[1], bytes(out, 4));
    auto w = run_one(d, wr);
    REQUIRE(w);
    CHECK(*w == 4);
    REQUIRE(drive(d, [&] { return rc.count > 0; }));
    CHECK(rc.count == 1);
    REQUIRE(rd.result);
    CHECK(*rd.result == 4);
    CHECK(std::memcmp(in, "ping", 4) == 0);

    // End of stream: the writer closes (through the reactor), the read gives 0.
    Operation cl = Operation::close(p[1]);
    REQUIRE(run_one(d, cl));
    Operation rd2 = Operation::read(p[0], bytes(in, sizeof in));
    auto e = run_one(d, rd2);
    REQUIRE(e);
    CHECK(*e == 0);
    Operation cl0 = Operation::close(p[0]);
    REQUIRE(run_one(d, cl0));
    CHECK(d.in_flight() == 0);
}

TEST_CASE("reactor: accept, connect, send and recv over loopback TCP", "[reactor]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    Listener l;
    Operation sock = Operation::socket(AddressFamily::ipv4, SocketType::stream);
    auto cfd = run_one(d, sock);
    REQUIRE(cfd);
    int c = static_cast<int>(*cfd);

    SocketAddress peer;
    Operation acc = Operation::accept(l.fd, &peer);
    Counter ac;
    d.submit(acc, ac.completion());
    Operation con = Operation::connect(c, l.addr);
    Counter cc;
    d.submit(con, cc.completion());
    REQUIRE(drive(d, [&] { return ac.count && cc.count; }));
    REQUIRE(con.result);
    REQUIRE(acc.result);
    int s = static_cast<int>(*acc.result);
    CHECK(peer.family == AddressFamily::ipv4);
    CHECK(peer.port != 0);

    std::vector<std::byte> msg(4096), got(4096);
    for (std::size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<std::byte>(i * 7);
    std::size_t recvd = 0;
    Operation snd = Operation::send(c, msg);
    REQUIRE(run_one(d, snd));
    CHECK(*snd.result == msg.size());
    while (recvd < got.size()) {
        Operation rcv = Operation::recv(s, std::span(got).subspan(recvd));
        auto r = run_one(d, rcv);
        REQUIRE(r);
        REQUIRE(*r > 0);
        recvd += *r;
    }
    CHECK(got == msg);

    Operation c1 = Operation::close(c), c2 = Operation::close(s);
    REQUIRE(run_one(d, c1));
    REQUIRE(run_one(d, c2));
}

TEST_CASE("reactor: a peer that resets gives ECONNRESET", "[reactor]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    Listener l;
    auto [c, s] = tcp_pair(l);
    char buf[64];
    Operation rcv = Operation::recv(s, bytes(buf, sizeof buf));
    Counter rc;
    d.submit(rcv, rc.completion());
    d.poll();
    linger lg{1, 0};
    ::setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    ::close(c);  // sends RST
    REQUIRE(drive(d, [&] { return rc.count > 0; }));
    REQUIRE_FALSE(rcv.result);
    CHECK(rcv.result.error() == Error::system(ECONNRESET, Op::recv));
    // A send afterwards fails with EPIPE (no SIGPIPE).
    char x = 'x';
    Operation snd = Operation::send(s, bytes(&x, 1));
    auto r = run_one(d, snd);
    REQUIRE_FALSE(r);
    CHECK((r.error() == Error::system(EPIPE, Op::send) || r.error() == Error::system(ECONNRESET, Op::send)));
    ::close(s);
}

TEST_CASE("reactor: a full pipe parks the writer until the reader drains it", "[reactor]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
    std::vector<char> chunk(65536, 'a');
    long filled = 0;
    while (::write(p[1], chunk.data(), chunk.size()) > 0) filled += 1;  // fill to EAGAIN
    ::fcntl(p[1], F_SETFL, ::fcntl(p[1], F_GETFL) & ~O_NONBLOCK);
    Operation wr = Operation::write(p[1], bytes(chunk.data(), 4096));
    Counter wc;
    d.submit(wr, wc.completion());
    for (int i = 0; i < 5; ++i) d.run_until(Deadline::after(2ms));
    CHECK(wc.count == 0);  // still full: the driver did not block, the write waits
    std::vector<char> sink(1 << 20);
    while (::read(p[0], sink.data(), sink.size()) > 0 && wc.count == 0) {
        d.poll();
        if (wc.count) break;
        ::fcntl(p[0], F_SETFL, ::fcntl(p[0], F_GETFL) | O_NONBLOCK);
    }
    REQUIRE(drive(d, [&] { return wc.count > 0; }));
    REQUIRE(wr.result);
    CHECK(*wr.result == 4096);
    ::close(p[0]);
    ::close(p[1]);
}

TEST_CASE("reactor: an EAGAIN storm (many readers, bytes trickling) loses nothing", "[reactor]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    Listener l;
    auto [c, s] = tcp_pair(l);
    constexpr int readers = 64;
    std::vector<char> bufs(readers);
    std::vector<Operation> ops(readers);
    std::vector<Counter> cnt(readers);
    for (int i = 0; i < readers; ++i) {
        ops[i] = Operation::recv(s, bytes(&bufs[i], 1));
        d.submit(ops[i], cnt[i].completion());
    }
    d.poll();
    long total = 0;
    for (int i = 0; i < readers; ++i) {
        char b = static_cast<char>('A' + i % 26);
        REQUIRE(::write(c, &b, 1) == 1);
        d.run_until(Deadline::after(1ms));
    }
    REQUIRE(drive(d, [&] {
        int n = 0;
        for (auto& x : cnt) n += x.count;
        return n == readers;
    }));
    for (int i = 0; i < readers; ++i) {
        CHECK(cnt[i].count == 1);
        REQUIRE(ops[i].result);
        total += static_cast<long>(*ops[i].result);
    }
    CHECK(total == readers);  // every byte reached exactly one reader
    ::close(c);
    ::close(s);
}

TEST_CASE("reactor: another thread wakes a driver waiting without a limit", "[reactor]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    auto h = d.handle();
    std::atomic<bool> woke{false};
    std::thread t([&] {
        std::this_thread::sleep_for(20ms);
        woke = true;
        h.wake();
    });
    // Nothing is in flight: only the wake ends these waits (a turn may also return early, e.g. after a
    // signal, so the test loops; a lost wake would hang it until CTest's timeout).
    int turns = 0;
    while (!woke.load()) {
        d.run_until(Deadline::never());
        ++turns;
    }
    t.join();
    CHECK(turns >= 1);
    CHECK(turns < 1000);  // not a busy loop
    // Many wakes from another thread while the driver turns: none is lost or hangs the driver.
    std::atomic<bool> stop{false};
    std::thread spam([&] { while (!stop.load()) h.wake(); });
    for (int i = 0; i < 1000; ++i) d.run_until(Deadline::after(10ms));
    stop = true;
    spam.join();
    h.wake();
    d.run_until(Deadline::never());
}

TEST_CASE("reactor: sleep ends at its deadline, 100,000 pending sleeps", "[reactor]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    auto t0 = Clock::now();
    Operation sl = Operation::sleep_until(Deadline::after(20ms));
    REQUIRE(run_one(d, sl));
    CHECK(Clock::now() - t0 >= 20ms);
    Operation past = Operation::sleep_until(Deadline{0});
    REQUIRE(run_one(d, past));  // a deadline in the past: done at once, as BlockingIo

    constexpr int n = 100'000;
    std::vector<Operation> ops(n);
    int done = 0;
    auto fn = [](std::uintptr_t w, Operation&) noexcept { ++*reinterpret_cast<int*>(w); };
    Deadline base = Deadline::after(50ms);
    for (int i = 0; i < n; ++i) {
        ops[i] = Operation::sleep_until({base.ns + (i % 1000) * 10'000});
        d.submit(ops[i], {fn, reinterpret_cast<std::uintptr_t>(&done)});
    }
    CHECK(d.in_flight() == n);
    REQUIRE(drive(d, [&] { return done == n; }));
    for (auto& o : ops) REQUIRE(o.result);
    CHECK(d.in_flight() == 0);
}

TEST_CASE("reactor: bad input gives BlockingIo's errors", "[reactor]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    char b[4];
    Operation r1 = Operation::read(-1, bytes(b, 4));
    auto e1 = run_one(d, r1);
    REQUIRE_FALSE(e1);
    CHECK(e1.error() == Error::system(EBADF, Op::read));
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    ::close(p[0]);
    ::close(p[1]);
    Operation r2 = Operation::recv(p[0], bytes(b, 4));  // a closed descriptor
    auto e2 = run_one(d, r2);
    REQUIRE_FALSE(e2);
    CHECK(e2.error() == Error::system(EBADF, Op::recv));
    Operation r3 = Operation::close(p[0]);
    auto e3 = run_one(d, r3);
    REQUIRE_FALSE(e3);
    CHECK(e3.error() == Error::system(EBADF, Op::close));
    // Zero-length buffers.
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    Operation r4 = Operation::write(p[1], bytes(b, 0));
    auto e4 = run_one(d, r4);
    REQUIRE(e4);
    CHECK(*e4 == 0);
    ::close(p[0]);
    ::close(p[1]);
    // An address BlockingIo rejects before the syscall.
    SocketAddress bad;
    Listener l;
    int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    Operation cn = Operation::connect(c, bad);
    auto e5 = run_one(d, cn);
    REQUIRE_FALSE(e5);
    CHECK(e5.error() == Error(Errc::invalid_argument, Op::connect));
    ::close(c);
}
