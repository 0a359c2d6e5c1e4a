// Event and Semaphore: the non-blocking calls, timeouts, wake-ups across tasks, cancellation, and a
// cancelled Semaphore waiter that must not swallow a permit's wake meant for another waiter.
#include <catch2/catch.hpp>
#include "sync_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace zsync::test::sync;

TEMPLATE_LIST_TEST_CASE("event: set, reset, is_set, wait on a set event returns at once, wait_until times out", "[sync][event]", Backends) {
    bool initially = true, after_set = false, after_reset = true, wait_set_ok = false;
    ErrInfo timed;
    double ms = 0;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        Event e;
        initially = e.is_set();
        e.set(io);
        e.set(io);  // idempotent
        after_set = e.is_set();
        wait_set_ok = e.wait(io).has_value() && e.wait_until(io, Deadline::after(Duration(0))).has_value();
        e.reset();
        after_reset = e.is_set();
        auto t0 = SteadyClock::now();
        timed = info_of(e.wait_until(io, Deadline::after(std::chrono::milliseconds(50))));
        ms = ms_since(t0);
    });
    REQUIRE_NO_LEAK(leak);
    CHECK_FALSE(initially);
    CHECK(after_set);
    CHECK(wait_set_ok);
    CHECK_FALSE(after_reset);
    REQUIRE_ZSYNC_ERROR(timed, Errc::timeout, Op::wait);
    CHECK(ms >= 45);
}

TEMPLATE_LIST_TEST_CASE("event: set wakes every waiting task and publishes the setter's writes", "[sync][event]", Backends) {
    constexpr int n = 3;
    int seen = 0;
    bool all_ok = true;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        Event e;
        int payload = 0;  // written before set, read after wait: the event orders them
        std::atomic<int> started{0}, correct{0};
        std::vector<std::unique_ptr<Side<TestType, void>>> sides;
        for (int i = 0; i < n; ++i)
            sides.push_back(std::make_unique<Side<TestType, void>>(rt, [&](Io tio) -> Result<void> {
                ++started;
                if (Result<void> r = e.wait(tio); !r) return r;
                if (payload == 42) ++correct;
                return {};
            }));
        while (started.load() < n) std::this_thread::yield();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        payload = 42;
        e.set(io);
        for (auto& s : sides) all_ok = all_ok && s->join().has_value();
        seen = correct.load();
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(all_ok);
    CHECK(seen == n);
}

TEMPLATE_LIST_TEST_CASE("event: a task blocked in wait is cancelled", "[sync][event][cancel]", Backends) {
    ErrInfo err;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        Event e;
        std::atomic<bool> started{false};
        Side<TestType, void> a(rt, [&](Io tio) { started.store(true); return e.wait(tio); });
        wait_flag(started);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        err = info_of(a.cancel());
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE_ZSYNC_ERROR(err, Errc::canceled, Op::wait);
}

TEMPLATE_LIST_TEST_CASE("semaphore: try_wait, post, available, wait_until times out with no permit", "[sync][semaphore]", Backends) {
    bool first = false, second = true, after_post = false, wait_ok = false;
    std::uint32_t avail = 0;
    ErrInfo timed;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        Semaphore s(1);
        first = s.try_wait();
        second = s.try_wait();
        s.post(io, 3);
        avail = s.available();
        after_post = s.try_wait();
        wait_ok = s.wait(io).has_value() && s.wait(io).has_value();
        timed = info_of(s.wait_until(io, Deadline::after(std::chrono::milliseconds(30))));
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(first);
    CHECK_FALSE(second);
    CHECK(avail == 3);
    CHECK(after_post);
    CHECK(wait_ok);
    REQUIRE_ZSYNC_ERROR(timed, Errc::timeout, Op::wait);
}

TEMPLATE_LIST_TEST_CASE("semaphore: producer/consumer, post(n) wakes n waiters", "[sync][semaphore]", Backends) {
    constexpr int waiters = 4;
    const int items = 20000 / scale_div;
    int consumed = 0;
    bool all_ok = true;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        Semaphore s;
        std::atomic<int> got{0};
        std::vector<std::unique_ptr<Side<TestType, void>>> sides;
        for (int i = 0; i < waiters; ++i)
            sides.push_back(std::make_unique<Side<TestType, void>>(rt, [&, i](Io tio) -> Result<void> {
                const int mine = items / waiters + (i == 0 ? items % waiters : 0);
                for (int k = 0; k < mine; ++k) {
                    if (Result<void> r = s.wait(tio); !r) return r;
                    ++got;
                }
                return {};
            }));
        for (int k = 0; k < items;) {
            int n = 1 + k % 7;
            if (k + n > items) n = items - k;
            s.post(io, std::uint32_t(n));
            k += n;
        }
        for (auto& side : sides) all_ok = all_ok && side->join().has_value();
        consumed = got.load();
        all_ok = all_ok && s.available() == 0;
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(all_ok);
    CHECK(consumed == items);
}

TEMPLATE_LIST_TEST_CASE("semaphore: a cancelled waiter does not swallow the wake of a permit meant for another", "[sync][semaphore][cancel]", Backends) {
    constexpr int rounds = 6;
    int other_ok = 0, bad = 0, a_canceled = 0, a_took = 0;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        for (int round = 0; round < rounds; ++round) {
            Semaphore s;
            std::atomic<int> started{0};
            auto waiter = [&](Io tio) { ++started; return s.wait(tio); };
            Side<TestType, void> a(rt, waiter);
            Side<TestType, void> b(rt, waiter);
            while (started.load() < 2) std::this_thread::yield();
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            s.post(io, 1);
            Result<void> ra = a.cancel();
            if (ra) {
                ++a_took;  // a took the permit: give b one
                s.post(io, 1);
            } else if (ra.error().code() == Errc::canceled && ra.error().op() == Op::wait) {
                ++a_canceled;
            } else {
                ++bad;
            }
            if (b.join()) ++other_ok;
            if (s.available() != 0) ++bad;
        }
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(bad == 0);
    CHECK(a_canceled + a_took == rounds);
    CHECK(other_ok == rounds);
}
