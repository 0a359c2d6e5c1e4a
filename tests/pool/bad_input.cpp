// Bad input: a task that throws, double cancel and await, and `concurrent` beyond max_concurrent (the
// refused task's arguments stay with the caller and are destroyed exactly once).
#include <catch2/catch.hpp>
#include <stdexcept>
#include <vector>
#include "pool_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace zsync::test::pool;

namespace {

int thrower(Io, int v) {
    if (v >= 0) throw std::runtime_error("task failed on purpose");
    return v;
}

int square(Io, int v) { return v * v; }

void group_thrower(Io, std::atomic<int>* ran) {
    ran->fetch_add(1);
    throw std::runtime_error("group task failed on purpose");
}

}  // namespace

#if defined(__cpp_exceptions)
TEST_CASE("pool bad input: a task that throws becomes task_threw, the worker survives", "[pool][bad]") {
    ErrInfo threw, threw_again;
    int good = 0;
    bool group_ok = false;
    std::atomic<int> group_ran{0};
    auto leak = measure_pool([&] {
        ThreadPoolIo rt({.workers = 1});  // one worker: the same thread must run everything after
        Io io = rt.io();
        threw = info_of(io.async(thrower, 1).await(io));
        auto r = rt.run([](Io io2, std::atomic<int>* ran) -> Result<int> {
            // from inside the pool, too: a child that throws, then more work on the same worker
            auto t = io2.async(thrower, 2).await(io2);
            if (t) return -1;
            Group g;
            for (int i = 0; i < 10; ++i) (void)g.async(io2, group_thrower, ran);
            if (!g.await(io2)) return -2;
            int sum = 0;
            for (int i = 0; i < 100; ++i)
                if (auto s = io2.async(square, i).await(io2)) sum += *s;
            return t.error().is(Errc::task_threw) ? sum : -3;
        }, &group_ran);
        group_ok = r.has_value();
        if (r) good = *r;
        threw_again = info_of(io.async(thrower, 3).await(io));
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE_ZSYNC_ERROR(threw, Errc::task_threw, Op::async);
    REQUIRE_ZSYNC_ERROR(threw_again, Errc::task_threw, Op::async);
    CHECK(group_ok);
    CHECK(good == 328350);  // sum of squares 0..99
    CHECK(group_ran.load() == 10);
}
#endif

namespace {
int read_one(Io io, int fd, std::atomic<int>* entered) {
    entered->fetch_add(1);
    std::byte b[1];
    auto r = File{fd}.read(io, b);
    return r ? static_cast<int>(*r) : -1;
}
}  // namespace

TEST_CASE("pool bad input: cancel and await twice report already_awaited", "[pool][bad]") {
    ErrInfo first, second, await_after, await_twice_1, await_twice_2;
    auto leak = measure_pool([&] {
        Pipe p;
        std::atomic<int> entered{0};
        ThreadPoolIo rt({.workers = 2});
        Io io = rt.io();
        auto f = io.async(read_one, p.r, &entered);
        while (entered.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        first = info_of(f.cancel(io));
        second = info_of(f.cancel(io));
        await_after = info_of(f.await(io));
        auto g = io.async(square, 3);
        await_twice_1 = info_of(g.await(io));
        await_twice_2 = info_of(g.await(io));
    });
    REQUIRE_NO_LEAK(leak);
    // read_one reports a failed read as -1, so a canceled read is a value here
    CHECK_FALSE(first.failed);
    REQUIRE_ZSYNC_ERROR(second, Errc::already_awaited, Op::cancel);
    REQUIRE_ZSYNC_ERROR(await_after, Errc::already_awaited, Op::await);
    CHECK_FALSE(await_twice_1.failed);
    REQUIRE_ZSYNC_ERROR(await_twice_2, Errc::already_awaited, Op::await);
}

namespace {
int read_tracked(Io io, int fd, std::atomic<int>* entered, std::unique_ptr<Tracked> t) {
    entered->fetch_add(1);
    std::byte b[1];
    auto r = File{fd}.read(io, b);
    return r && t ? static_cast<int>(*r) : -1;
}
}  // namespace

TEST_CASE("pool bad input: concurrent beyond max_concurrent is refused and loses nothing", "[pool][bad]") {
    Tracked::reset();
    bool a_ok = false, b_ok = false, d_ok = false, g_ok = false;
    ErrInfo third, group_third;
    int alive_after_refusal = -1, destroyed_after_refusal = -1, held_after_refusal = -1;
    int a_val = 0, b_val = 0, d_val = 0;
    auto leak = measure_pool([&] {
        Pipe p1, p2, p3;
        std::atomic<int> entered{0};
        ThreadPoolIo rt({.workers = 1, .max_concurrent = 2});
        Io io = rt.io();
        auto a = io.concurrent(read_tracked, p1.r, &entered, std::make_unique<Tracked>());
        auto b = io.concurrent(read_tracked, p2.r, &entered, std::make_unique<Tracked>());
        a_ok = a.has_value();
        b_ok = b.has_value();
        while (entered.load() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        auto token = std::make_unique<Tracked>();
        auto c = io.concurrent(read_tracked, p3.r, &entered, std::move(token));
        third = info_of(c);
        Group g;
        group_third = info_of(g.concurrent(io, read_tracked, p3.r, &entered, std::make_unique<Tracked>()));
        alive_after_refusal = Tracked::alive.load();          // a's and b's
        destroyed_after_refusal = Tracked::destroyed.load();  // the two refused ones, once each
        held_after_refusal = entered.load();
        p1.put();
        p2.put();
        if (a_ok) a_val = (*a).await(io).value_or(-2);
        if (b_ok) b_val = (*b).await(io).value_or(-2);
        // both slots are free again once their tasks were awaited
        auto d = io.concurrent(square, 5);
        d_ok = d.has_value();
        if (d_ok) d_val = (*d).await(io).value_or(-2);
        g_ok = g.concurrent(io, square, 6).has_value();
        (void)g.await(io);
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(a_ok);
    CHECK(b_ok);
    REQUIRE_ZSYNC_ERROR(third, Errc::concurrency_unavailable, Op::concurrent);
    REQUIRE_ZSYNC_ERROR(group_third, Errc::concurrency_unavailable, Op::group_concurrent);
    CHECK(alive_after_refusal == 2);
    CHECK(destroyed_after_refusal == 2);
    CHECK(held_after_refusal == 2);  // the refused tasks never ran
    CHECK(a_val == 1);
    CHECK(b_val == 1);
    CHECK(d_ok);
    CHECK(d_val == 25);
    CHECK(g_ok);
    CHECK(Tracked::alive.load() == 0);
    CHECK(Tracked::destroyed.load() == 4);
}

TEST_CASE("pool bad input: a concurrent slot is free as soon as its task was awaited", "[pool][bad]") {
    // max_concurrent = 1: each concurrent start right after the previous await must succeed.
    const int n = 300;
    int started = 0, sum = 0;
    ErrInfo refused;
    auto leak = measure_pool([&] {
        ThreadPoolIo rt({.workers = 1, .max_concurrent = 1});
        Io io = rt.io();
        for (int i = 0; i < n; ++i) {
            auto f = io.concurrent(square, 2);
            if (!f) { refused = info_of(f); break; }
            ++started;
            sum += (*f).await(io).value_or(-100);
        }
    });
    REQUIRE_NO_LEAK(leak);
    CHECK_FALSE(refused.failed);
    CHECK(started == n);
    CHECK(sum == 4 * n);
}
