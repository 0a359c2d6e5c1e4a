// Mutex: the uncontended path, misuse errors, deadlock detection, timeouts, heavy contention, and
// cancellation of a task blocked in lock without losing the hand-over to the next waiter.
#include <catch2/catch.hpp>
#include "sync_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace zsync::test::sync;

TEMPLATE_LIST_TEST_CASE("mutex: lock, try_lock, unlock, unlocking an unlocked mutex is not_locked", "[sync][mutex]", Backends) {
    bool lock_ok = false, try_while_held = true, unlock_ok = false, try_free = false, locked_seen = false;
    ErrInfo twice;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        Mutex m;
        lock_ok = m.lock(io).has_value();
        locked_seen = m.is_locked();
        try_while_held = m.try_lock();
        unlock_ok = m.unlock(io).has_value();
        try_free = m.try_lock();
        unlock_ok = unlock_ok && m.unlock(io).has_value();
        twice = info_of(m.unlock(io));
        // the state is unchanged by the failed unlock
        lock_ok = lock_ok && m.lock(io).has_value() && m.unlock(io).has_value() && !m.is_locked();
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(lock_ok);
    CHECK(locked_seen);
    CHECK_FALSE(try_while_held);
    CHECK(unlock_ok);
    CHECK(try_free);
    REQUIRE_ZSYNC_ERROR(twice, Errc::not_locked, Op::unlock);
}

TEMPLATE_LIST_TEST_CASE("mutex: locking a mutex the calling task holds reports would_deadlock instead of hanging", "[sync][mutex][deadlock]", Backends) {
    ErrInfo again, child;
    bool still_held = false, unlock_ok = false;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        Mutex m;
        (void)m.lock(io);
        again = info_of(m.lock(io));
        if constexpr (BackendTraits<TestType>::async_runs_inline) {
            // An inline child waits for its parent: BlockingIo cannot run the parent meanwhile.
            auto f = io.async([&m](Io cio) { return m.lock(cio); });
            child = info_of(f.await(io));
        } else {
            child = again;
        }
        still_held = m.is_locked();
        unlock_ok = m.unlock(io).has_value();
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE_ZSYNC_ERROR(again, Errc::would_deadlock, Op::lock);
    REQUIRE_ZSYNC_ERROR(child, Errc::would_deadlock, Op::lock);
    CHECK(still_held);
    CHECK(unlock_ok);
}

TEMPLATE_LIST_TEST_CASE("mutex: lock_until times out while another thread holds it, then succeeds", "[sync][mutex][timeout]", Backends) {
    ErrInfo timed;
    double ms = 0;
    bool later_ok = false;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        Mutex m;
        std::atomic<bool> held{false}, release{false};
        std::thread holder([&] {
            BlockingIo other;
            (void)m.lock(other.io());
            held.store(true);
            while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            (void)m.unlock(other.io());
        });
        wait_flag(held);
        auto t0 = SteadyClock::now();
        timed = info_of(m.lock_until(io, Deadline::after(std::chrono::milliseconds(50))));
        ms = ms_since(t0);
        release.store(true);
        later_ok = m.lock_until(io, Deadline::after(std::chrono::seconds(10))).has_value() && m.unlock(io).has_value();
        holder.join();
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE_ZSYNC_ERROR(timed, Errc::timeout, Op::lock);
    CHECK(ms >= 45);
    CHECK(ms < 5000);
    CHECK(later_ok);
}

TEMPLATE_LIST_TEST_CASE("mutex: 8 tasks x 10,000 increments lose none", "[sync][mutex][stress]", Backends) {
    constexpr int tasks = 8;
    const int per = 10000 / scale_div;
    long counter = 0;
    bool all_ok = false;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        Mutex m;
        std::atomic<int> failures{0};
        auto body = [&](Io tio) {
            for (int i = 0; i < per; ++i) {
                if (!m.lock(tio)) { ++failures; return; }
                long v = counter;  // a plain read-modify-write: only the mutex makes it safe
                counter = v + 1;
                if (!m.unlock(tio)) ++failures;
            }
        };
        if constexpr (is_pool<TestType>) {
            Group g;
            for (int t = 0; t < tasks; ++t) (void)g.async(io, body);
            all_ok = g.await(io).has_value();
        } else {
            // BlockingIo runs one task per thread: 8 threads, each with its own BlockingIo.
            std::vector<std::thread> threads;
            for (int t = 0; t < tasks; ++t) threads.emplace_back([&] { BlockingIo own; body(own.io()); });
            for (auto& th : threads) th.join();
            all_ok = true;
        }
        all_ok = all_ok && failures.load() == 0;
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(all_ok);
    CHECK(counter == long(tasks) * per);
}

TEMPLATE_LIST_TEST_CASE("mutex: a task blocked in lock is cancelled, the next waiter still gets the lock", "[sync][mutex][cancel]", Backends) {
    constexpr int rounds = 10;
    int canceled = 0, acquired_anyway = 0, other_ok = 0, bad = 0;
    bool consistent = false;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        for (int round = 0; round < rounds; ++round) {
            Mutex m;
            (void)m.lock(io);
            std::atomic<bool> a_started{false}, b_started{false};
            auto locker = [&m](std::atomic<bool>& started) {
                return [&m, &started](Io tio) -> Result<void> {
                    started.store(true);
                    if (Result<void> r = m.lock(tio); !r) return r;
                    return m.unlock(tio);
                };
            };
            Side<TestType, void> a(rt, locker(a_started));
            Side<TestType, void> b(rt, locker(b_started));
            wait_flag(a_started);
            wait_flag(b_started);
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            // Half the rounds unlock first (the cancelled task may have taken the hand-over wake).
            if (round % 2) (void)m.unlock(io);
            Result<void> ra = a.cancel();
            if (round % 2 == 0) (void)m.unlock(io);
            Result<void> rb = b.join();
            if (ra) ++acquired_anyway;
            else if (ra.error().code() == Errc::canceled && ra.error().op() == Op::lock) ++canceled;
            else ++bad;
            if (rb) ++other_ok;
            consistent = !m.is_locked();
            if (!consistent) break;
        }
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(bad == 0);
    CHECK(canceled >= rounds / 2);  // the rounds that cancel before unlocking always cancel
    CHECK(canceled + acquired_anyway == rounds);
    CHECK(other_ok == rounds);
    CHECK(consistent);
}
