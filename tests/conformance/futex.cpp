// futex_wait / futex_wake, including the cross-backend rule: a word shared by tasks on different
// backends (here: BlockingIos on different OS threads) is woken by either side's futex_wake, even
// through the stale Io of a destroyed backend.
#include <catch2/catch.hpp>
#include "conformance.hpp"

using namespace zsync;
using namespace zsync::test;

TEMPLATE_LIST_TEST_CASE("futex: a value mismatch returns at once", "[futex]", Backends) {
    std::atomic<std::uint32_t> word{1};
    bool ok = false;
    double ms = 1e9;
    auto leak = measure<TestType>([&] {
        TestType rt;
        auto t0 = SteadyClock::now();
        ok = rt.io().futex_wait(word, 0, Deadline::after(std::chrono::seconds(10))).has_value();
        ms = ms_since(t0);
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(ok);
    CHECK(ms < 5000);
}

TEMPLATE_LIST_TEST_CASE("futex: a deadline reports timeout, a past deadline at once", "[futex]", Backends) {
    std::atomic<std::uint32_t> word{0};
    ErrInfo timed, past;
    double ms = 0, past_ms = 1e9;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        auto t0 = SteadyClock::now();
        Deadline d = Deadline::after(std::chrono::milliseconds(50));
        Result<void> r;
        while ((r = io.futex_wait(word, 0, d))) {}  // spurious wakes: wait again until an error
        timed = info_of(r);
        ms = ms_since(t0);
        t0 = SteadyClock::now();
        Result<void> p;
        while ((p = io.futex_wait(word, 0, Deadline::after(-std::chrono::seconds(1))))) {}
        past = info_of(p);
        past_ms = ms_since(t0);
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE_ZSYNC_ERROR(timed, Errc::timeout, Op::futex_wait);
    CHECK(ms >= 45);
    CHECK(ms < 5000);
    REQUIRE_ZSYNC_ERROR(past, Errc::timeout, Op::futex_wait);
    CHECK(past_ms < 1000);
}

TEMPLATE_LIST_TEST_CASE("futex: a waiter is woken by a backend on another thread (value changed)", "[futex][cross]", Backends) {
    std::atomic<std::uint32_t> word{0};
    ErrInfo err;
    bool woke = false;
    double ms = 0;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        std::thread waker([&word] {
            TestType other;  // a second backend, on its own OS thread
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            word.store(1);
            other.io().futex_wake(word, 1);
        });
        auto t0 = SteadyClock::now();
        Deadline d = Deadline::after(std::chrono::seconds(10));
        Result<void> r;
        while (word.load() == 0 && (r = io.futex_wait(word, 0, d))) {}
        ms = ms_since(t0);
        waker.join();
        err = info_of(r);
        woke = word.load() == 1;
    });
    REQUIRE_NO_LEAK(leak);
    CHECK_FALSE(err.failed);
    CHECK(woke);
    CHECK(ms < 5000);
}

namespace {
// Waits (on `waiter_io`'s backend, made on its own thread) for a wake without the value changing, while
// `wake` is called repeatedly from this thread until the waiter returns. Without a working wake the
// waiter reports timeout after 10 s.
template <class B, class Wake>
void wait_for_pure_wake(std::atomic<std::uint32_t>& word, Wake wake, ErrInfo& err, double& ms) {
    std::atomic<bool> done{false};
    std::thread waiter([&] {
        B rt;
        auto t0 = SteadyClock::now();
        err = info_of(rt.io().futex_wait(word, 0, Deadline::after(std::chrono::seconds(10))));
        ms = ms_since(t0);
        done.store(true);
    });
    while (!done.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        wake();
    }
    waiter.join();
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("futex: futex_wake from another backend wakes a waiter whose word did not change", "[futex][cross]", Backends) {
    std::atomic<std::uint32_t> word{0};
    ErrInfo err;
    double ms = 1e9;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        wait_for_pure_wake<TestType>(word, [&] { io.futex_wake(word, 1); }, err, ms);
    });
    REQUIRE_NO_LEAK(leak);
    CHECK_FALSE(err.failed);
    CHECK(ms < 5000);
}

TEMPLATE_LIST_TEST_CASE("futex: futex_wake through a destroyed backend's stale Io still wakes OS waiters", "[futex][cross][stale]", Backends) {
    std::atomic<std::uint32_t> word{0};
    ErrInfo err;
    double ms = 1e9;
    auto leak = measure<TestType>([&] {
        Io stale;
        { TestType gone; stale = gone.io(); }
        wait_for_pure_wake<TestType>(word, [&] { stale.futex_wake(word, 1); }, err, ms);
    });
    REQUIRE_NO_LEAK(leak);
    CHECK_FALSE(err.failed);
    CHECK(ms < 5000);
}

TEMPLATE_LIST_TEST_CASE("futex: wake(n) wakes at most n of several waiters on other threads", "[futex][cross]", Backends) {
    std::atomic<std::uint32_t> word{0};
    std::atomic<int> returned{0};
    int after_one = -1, after_all = -1;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        std::atomic<int> started{0};
        std::vector<std::thread> waiters;
        waiters.reserve(3);
        for (int i = 0; i < 3; ++i)
            waiters.emplace_back([&] {
                TestType own;
                ++started;
                // Waits until the value changes; each return that is not a real wake waits again.
                while (word.load() == 0) (void)own.io().futex_wait(word, 0, Deadline::after(std::chrono::seconds(10)));
                ++returned;
            });
        while (started.load() < 3) std::this_thread::yield();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        io.futex_wake(word, 1);  // value unchanged: a woken waiter waits again
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        after_one = returned.load();
        word.store(1);
        io.futex_wake(word, 3);
        for (auto& t : waiters) t.join();
        after_all = returned.load();
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(after_one == 0);
    CHECK(after_all == 3);
}
