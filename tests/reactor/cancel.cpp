// Cancellation and deadlines on both reactors: a deadline on recv/accept/futex_wait/read/write gives timeout,
// cancel gives canceled exactly once, and 10,000 in-flight Operations cancelled at random points (from
// the driver's thread and from another thread through the Handle) leave no descriptor or allocation
// behind.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <cstring>
#include <atomic>
#include <random>
#include <thread>
#include <vector>
#include "leak_check.hpp"
#include "reactor_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace zsync::test::reactor;
using zsync::reactor::Ticket;

TEST_CASE("reactor: deadlines end recv, accept and futex_wait with timeout", "[reactor][deadline]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    Listener l;
    auto [c, s] = tcp_pair(l);
    char b[8];
    Operation r = Operation::recv(s, bytes(b, 8), Deadline::after(20ms));
    auto t0 = Clock::now();
    auto e = run_one(d, r);
    REQUIRE_FALSE(e);
    CHECK(e.error() == Error(Errc::timeout, Op::recv));
    CHECK(Clock::now() - t0 >= 20ms);
    // A deadline in the past: data that is there is still received (as BlockingIo does); none: timeout.
    Operation past = Operation::recv(s, bytes(b, 8), Deadline{0});
    auto e2 = run_one(d, past);
    REQUIRE_FALSE(e2);
    CHECK(e2.error() == Error(Errc::timeout, Op::recv));
    REQUIRE(::write(c, "hi", 2) == 2);
    std::this_thread::sleep_for(5ms);
    Operation past2 = Operation::recv(s, bytes(b, 8), Deadline{0});
    auto e3 = run_one(d, past2);
    REQUIRE(e3);
    CHECK(*e3 == 2);
    Operation acc = Operation::accept(l.fd, nullptr, Deadline::after(10ms));
    auto e4 = run_one(d, acc);
    REQUIRE_FALSE(e4);
    CHECK(e4.error() == Error(Errc::timeout, Op::accept));
    std::atomic<std::uint32_t> word{0};
    Operation fw = Operation::futex_wait(word, 0, Deadline::after(10ms));
    auto e5 = run_one(d, fw);
    REQUIRE_FALSE(e5);
    CHECK(e5.error() == Error(Errc::timeout, Op::futex_wait));
    Operation fw2 = Operation::futex_wait(word, 1);  // the word is not 1: returns at once
    REQUIRE(run_one(d, fw2));
    ::close(c);
    ::close(s);
}

TEST_CASE("reactor: deadlines end pipe read, write and readv with timeout, a file read completes", "[reactor][deadline]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    char b[8];
    // Nothing to read: the deadline ends the read (before, the reactor ignored it and waited forever).
    Operation r = Operation::read(p[0], bytes(b, 8), Deadline::after(20ms));
    auto t0 = Clock::now();
    auto e = run_one(d, r, 5s);
    REQUIRE_FALSE(e);
    CHECK(e.error() == Error(Errc::timeout, Op::read));
    CHECK(Clock::now() - t0 >= 20ms);
    IoVec v[2] = {{b, 4}, {b + 4, 4}};
    Operation rv = Operation::readv(p[0], std::span<const IoVec>(v, 2), Deadline::after(10ms));
    auto ev = run_one(d, rv, 5s);
    REQUIRE_FALSE(ev);
    CHECK(ev.error() == Error(Errc::timeout, Op::readv));
    // The timed-out reads took nothing: bytes written now are all read by the next read.
    REQUIRE(::write(p[1], "abcdef", 6) == 6);
    Operation r2 = Operation::read(p[0], bytes(b, 8), Deadline::after(5s));
    auto e2 = run_one(d, r2);
    REQUIRE(e2);
    CHECK(*e2 == 6);
    CHECK(std::memcmp(b, "abcdef", 6) == 0);
    // A full pipe: the write's deadline ends it.
    ::fcntl(p[1], F_SETFL, ::fcntl(p[1], F_GETFL) | O_NONBLOCK);
    std::vector<char> chunk(65536, 'a');
    while (::write(p[1], chunk.data(), chunk.size()) > 0) {}
    ::fcntl(p[1], F_SETFL, ::fcntl(p[1], F_GETFL) & ~O_NONBLOCK);
    Operation w = Operation::write(p[1], bytes(chunk.data(), 4096), Deadline::after(20ms));
    auto ew = run_one(d, w, 5s);
    REQUIRE_FALSE(ew);
    CHECK(ew.error() == Error(Errc::timeout, Op::write));
    ::close(p[0]);
    ::close(p[1]);
    // A regular file is always ready: a read under a deadline in the past still reads (as BlockingIo).
    char path[] = "/tmp/zsync-deadline-XXXXXX";
    int f = ::mkstemp(path);
    REQUIRE(f >= 0);
    ::unlink(path);
    REQUIRE(::write(f, "file", 4) == 4);
    REQUIRE(::lseek(f, 0, SEEK_SET) == 0);
    Operation fr = Operation::read(f, bytes(b, 8), Deadline{0});
    auto ef = run_one(d, fr);
    REQUIRE(ef);
    CHECK(*ef == 4);
    ::close(f);
}

TEST_CASE("reactor: futex_wake from another thread ends a futex_wait", "[reactor][futex]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    std::atomic<std::uint32_t> word{0};
    BlockingIo waker;
    for (int round = 0; round < 50; ++round) {
        word.store(0);
        Operation fw = Operation::futex_wait(word, 0);
        Counter c;
        d.submit(fw, c.completion());
        d.poll();
        std::thread t([&] {
            std::this_thread::sleep_for(1ms);
            word.store(1);
            waker.io().futex_wake(word, 1);  // the library's futex_wake: reaches the reactor's waiters too
        });
        bool ok = drive(d, [&] { return c.count > 0; }, 5s);
        t.join();
        REQUIRE(ok);
        REQUIRE(fw.result);
    }
}

TEST_CASE("reactor: cancel delivers canceled exactly once, for every kind of wait", "[reactor][cancel]") {
    Kind k = REACTOR_KINDS;
    Driver d({.kind = k});
    Listener l;
    auto [c, s] = tcp_pair(l);
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    char b1[8], b2[8];
    std::atomic<std::uint32_t> word{0};
    Operation ops[] = {Operation::recv(s, bytes(b1, 8)), Operation::read(p[0], bytes(b2, 8)), Operation::accept(l.fd),
                       Operation::sleep_until(Deadline::after(std::chrono::hours(1))), Operation::futex_wait(word, 0),
                       Operation::sleep_until(Deadline::never()), Operation::poll(s, PollEvents::readable)};
    Counter cnt[7];
    Ticket t[7];
    for (int i = 0; i < 7; ++i) t[i] = d.submit(ops[i], cnt[i].completion());
    d.poll();
    for (int i = 0; i < 7; ++i) {
        d.cancel(t[i]);
        d.cancel(t[i]);  // twice: still one completion
    }
    REQUIRE(drive(d, [&] { return d.in_flight() == 0; }));
    d.cancel(t[0]);  // stale: nothing happens
    d.poll();
    for (int i = 0; i < 7; ++i) {
        CHECK(cnt[i].count == 1);
        REQUIRE_FALSE(ops[i].result);
        CHECK(ops[i].result.error() == Error(Errc::canceled, ops[i].code));
    }
    ::close(c);
    ::close(s);
    ::close(p[0]);
    ::close(p[1]);
}

namespace {

// A completion that records how often each submission completed and whether its result is allowed.
struct Record {
    std::vector<int> count;
    std::vector<char> bad;
    static void fn(std::uintptr_t w, Operation& op) noexcept;
};
Record* g_record = nullptr;
Operation* g_base = nullptr;
void Record::fn(std::uintptr_t, Operation& op) noexcept {
    auto i = static_cast<std::size_t>(&op - g_base);
    ++g_record->count[i];
    if (!op.result && !op.result.error().is(Errc::canceled) && !op.result.error().is(Errc::timeout)) g_record->bad[i] = 1;
}

struct Outcome {
    int not_once = 0, bad_result = 0, canceled = 0, completed = 0;
    bool drained = false;
};

// The work measured by the leak check: no Catch2 assertion inside.
Outcome random_cancels(Kind k, int n, unsigned seed) {
    Outcome out;
    std::mt19937 rng(seed);
    constexpr int pairs = 64, pipes = 16;
    int sp[pairs][2], pp[pipes][2];
    for (auto& x : sp) ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, x);
    for (auto& x : pp) ::pipe2(x, O_CLOEXEC);
    {
        Driver d({.kind = k});
        std::vector<Operation> ops(static_cast<std::size_t>(n));
        std::vector<char> buf(static_cast<std::size_t>(n) * 16);
        std::vector<Ticket> tickets(static_cast<std::size_t>(n));
        std::vector<std::atomic<std::uint32_t>> words(64);
        Record rec{std::vector<int>(static_cast<std::size_t>(n)), std::vector<char>(static_cast<std::size_t>(n))};
        g_record = &rec;
        g_base = ops.data();
        for (int i = 0; i < n; ++i) {
            char* b = &buf[static_cast<std::size_t>(i) * 16];
            switch (i % 7) {
            case 0: ops[i] = Operation::recv(sp[i % pairs][0], bytes(b, 16)); break;
            case 1: ops[i] = Operation::sleep_until(Deadline::after(std::chrono::milliseconds(rng() % 30))); break;
            case 2: ops[i] = Operation::futex_wait(words[i % 64], 0, Deadline::after(std::chrono::milliseconds(rng() % 40))); break;
            case 3: ops[i] = Operation::read(pp[i % pipes][0], bytes(b, 16)); break;
            case 4: ops[i] = Operation::recv(sp[i % pairs][1], bytes(b, 16), Deadline::after(std::chrono::milliseconds(rng() % 50))); break;
            case 5: ops[i] = Operation::poll(sp[i % pairs][0], PollEvents::readable, Deadline::after(std::chrono::milliseconds(rng() % 50))); break;
            default: ops[i] = Operation::nop(); break;
            }
            tickets[i] = d.submit(ops[i], {&Record::fn, 0});
        }
        // Cancel in random order at random points: before any turn, between turns, from another thread;
        // meanwhile some data arrives and some futex words are woken, so completions race cancels.
        std::vector<int> order(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) order[i] = i;
        std::shuffle(order.begin(), order.end(), rng);
        std::size_t next = 0;
        auto h = d.handle();
        std::vector<Ticket> remote;
        for (std::size_t i = 0; i < order.size() / 5; ++i) remote.push_back(tickets[order[order.size() - 1 - i]]);
        std::thread canceller([&, r2 = std::mt19937(seed + 1)]() mutable {
            for (auto& t : remote) {
                h.cancel(t);
                if (r2() % 64 == 0) std::this_thread::yield();
            }
        });
        std::size_t local_end = order.size() - remote.size();
        for (int turn = 0; next < local_end; ++turn) {
            std::size_t batch = rng() % 600;
            for (std::size_t j = 0; j < batch && next < local_end; ++j) d.cancel(tickets[order[next++]]);
            if (turn % 3 == 0) {
                int q = static_cast<int>(rng() % pairs);
                (void)::write(sp[q][1], "0123456789abcdef", 1 + rng() % 16);
                (void)::write(sp[q][0], "x", 1);
                (void)::write(pp[rng() % pipes][1], "y", 1);
                auto& w = words[rng() % 64];
                w.store(1);
                BlockingIo bio;
                bio.io().futex_wake(w, 0xffff);
            }
            if (rng() % 2) d.poll();
            else d.run_until(Deadline::after(std::chrono::microseconds(rng() % 500)));
        }
        canceller.join();
        Deadline limit = Deadline::after(std::chrono::seconds(20));
        while (d.in_flight() > 0 && !limit.passed()) d.run_until(Deadline::after(std::chrono::milliseconds(10)));
        out.drained = d.in_flight() == 0;
        for (int i = 0; i < n; ++i) {
            if (rec.count[i] != 1) ++out.not_once;
            if (rec.bad[i]) ++out.bad_result;
            if (!ops[i].result && ops[i].result.error().is(Errc::canceled)) ++out.canceled;
            else ++out.completed;
        }
        g_record = nullptr;
    }
    for (auto& x : sp) { ::close(x[0]); ::close(x[1]); }
    for (auto& x : pp) { ::close(x[0]); ::close(x[1]); }
    return out;
}

}  // namespace

TEST_CASE("reactor: 10,000 in-flight Operations cancelled at random points leak nothing", "[reactor][cancel]") {
    Kind k = REACTOR_KINDS;
    int n = 10'000;
    if (const char* e = std::getenv("ZSYNC_REACTOR_CANCEL_N")) n = std::atoi(e);
    (void)random_cancels(k, 600, 1);  // warm-up: the offload/futex statics, thread-local state, lazy init
    Usage before = usage_now();
    Outcome o = random_cancels(k, n, 20261206);
    Usage after = usage_now();
    CHECK(o.drained);
    CHECK(o.not_once == 0);
    CHECK(o.bad_result == 0);
    CHECK(o.canceled > n / 4);  // most were cancelled before they could finish
    CHECK(o.completed > 0);     // and some finished first (data, wakes, deadlines, nops)
    CHECK(after == before);
}
