// Condition: misuse, timeout and cancellation (the mutex is held again on every return), signal and
// broadcast across tasks, and a cancelled waiter that must not swallow a signal meant for another.
#include <catch2/catch.hpp>
#include "sync_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace zsync::test::sync;

TEMPLATE_LIST_TEST_CASE("condition: wait with an unlocked mutex is not_locked, wait_until times out holding the mutex", "[sync][condition][timeout]", Backends) {
    ErrInfo misuse, timed;
    bool held_after = false, unlock_ok = false;
    double ms = 0;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        Mutex m;
        Condition c;
        misuse = info_of(c.wait(io, m));
        (void)m.lock(io);
        auto t0 = SteadyClock::now();
        // On BlockingIo nobody else can signal: the deadline is what ends the wait (documented rule).
        Result<void> r;
        Deadline d = Deadline::after(std::chrono::milliseconds(50));
        while ((r = c.wait_until(io, m, d))) {}
        timed = info_of(r);
        ms = ms_since(t0);
        held_after = m.is_locked();
        unlock_ok = m.unlock(io).has_value();
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE_ZSYNC_ERROR(misuse, Errc::not_locked, Op::wait);
    REQUIRE_ZSYNC_ERROR(timed, Errc::timeout, Op::wait);
    CHECK(ms >= 45);
    CHECK(held_after);
    CHECK(unlock_ok);
}

TEMPLATE_LIST_TEST_CASE("condition: signal wakes a waiting task, broadcast wakes all of them", "[sync][condition]", Backends) {
    constexpr int n = 4;
    int woke_by_signal = -1, woke_by_broadcast = -1;
    bool all_ok = true;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        Mutex m;
        Condition c;
        int stage = 0;  // guarded by m
        std::atomic<int> waiting{0}, woke{0};
        auto waiter = [&](int want) {
            return [&, want](Io tio) -> Result<void> {
                if (Result<void> r = m.lock(tio); !r) return r;
                ++waiting;
                while (stage < want)
                    if (Result<void> r = c.wait(tio, m); !r) { (void)m.unlock(tio); return r; }
                ++woke;
                return m.unlock(tio);
            };
        };
        {
            Side<TestType, void> one(rt, waiter(1));
            while (waiting.load() < 1) std::this_thread::yield();
            (void)m.lock(io);
            stage = 1;
            c.signal(io);
            (void)m.unlock(io);
            all_ok = all_ok && one.join().has_value();
            woke_by_signal = woke.load();
        }
        woke = 0;
        waiting = 0;
        {
            std::vector<std::unique_ptr<Side<TestType, void>>> sides;
            for (int i = 0; i < n; ++i) sides.push_back(std::make_unique<Side<TestType, void>>(rt, waiter(2)));
            while (waiting.load() < n) std::this_thread::yield();
            (void)m.lock(io);
            stage = 2;
            c.broadcast(io);
            (void)m.unlock(io);
            for (auto& s : sides) all_ok = all_ok && s->join().has_value();
            woke_by_broadcast = woke.load();
        }
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(all_ok);
    CHECK(woke_by_signal == 1);
    CHECK(woke_by_broadcast == n);
}

TEMPLATE_LIST_TEST_CASE("condition: a cancelled waiter returns canceled holding the mutex, a signal still reaches the other", "[sync][condition][cancel]", Backends) {
    constexpr int rounds = 6;
    int canceled_held = 0, woke_instead = 0, other_ok = 0, bad = 0;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        for (int round = 0; round < rounds; ++round) {
            Mutex m;
            Condition c;
            bool go = false;  // guarded by m
            std::atomic<int> waiting{0};
            std::atomic<int> held_on_cancel{0};
            auto waiter = [&](Io tio) -> Result<void> {
                if (Result<void> r = m.lock(tio); !r) return r;
                ++waiting;
                while (!go) {
                    if (Result<void> r = c.wait(tio, m); !r) {
                        if (m.is_locked()) ++held_on_cancel;
                        (void)m.unlock(tio);
                        return r;
                    }
                }
                return m.unlock(tio);
            };
            Side<TestType, void> a(rt, waiter);
            Side<TestType, void> b(rt, waiter);
            while (waiting.load() < 2) std::this_thread::yield();
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            (void)m.lock(io);
            go = true;
            c.signal(io);  // one wake: if `a` takes it and is then cancelled, it must pass it on to `b`
            (void)m.unlock(io);
            Result<void> ra = a.cancel();
            if (ra) {  // a took the one signal (before the cancel): b needs its own
                (void)m.lock(io);
                c.signal(io);
                (void)m.unlock(io);
            }
            Result<void> rb = b.join();
            if (!ra && ra.error().code() == Errc::canceled && ra.error().op() == Op::wait) canceled_held += held_on_cancel.load();
            else if (ra) ++woke_instead;
            else ++bad;
            if (rb) ++other_ok;
        }
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(bad == 0);
    CHECK(canceled_held + woke_instead == rounds);
    CHECK(other_ok == rounds);
}

TEMPLATE_LIST_TEST_CASE("condition: cancelling a waiter nobody signals", "[sync][condition][cancel]", Backends) {
    ErrInfo err;
    bool held = false, after_ok = false;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        Mutex m;
        Condition c;
        std::atomic<bool> started{false};
        std::atomic<bool> was_held{false};
        Side<TestType, void> a(rt, [&](Io tio) -> Result<void> {
            if (Result<void> r = m.lock(tio); !r) return r;
            started.store(true);
            Result<void> r = c.wait(tio, m);
            was_held.store(m.is_locked());
            (void)m.unlock(tio);
            return r;
        });
        wait_flag(started);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        err = info_of(a.cancel());
        held = was_held.load();
        after_ok = m.try_lock() && m.unlock(io).has_value();
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE_ZSYNC_ERROR(err, Errc::canceled, Op::wait);
    CHECK(held);
    CHECK(after_ok);
}
