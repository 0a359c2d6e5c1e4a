// The scheduler's shortcuts, each against what it must not change: an await that runs its task inline
// or switches straight into it, and a yield that passes the turn straight to the next fiber.
#include <catch2/catch.hpp>
#include <atomic>
#include <thread>
#include <tuple>
#include <utility>
#include "green_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace std::chrono_literals;

namespace {
// Uses `bytes` of the calling stack, then runs `f` above that frame.
template <class F>
[[gnu::noinline]] auto with_stack_used(std::size_t bytes, F&& f) {
    auto* buf = static_cast<volatile char*>(__builtin_alloca(bytes));
    buf[0] = 1;
    buf[bytes - 1] = 1;
    auto r = f();
    buf[bytes / 2] = 2;  // keeps the block alive across f
    return r;
}

[[gnu::noinline]] bool touch_stack(std::size_t bytes) {
    auto* buf = static_cast<volatile char*>(__builtin_alloca(bytes));
    for (std::size_t i = 0; i < bytes; i += 4096) buf[i] = 1;  // every page: a guard page would fault
    buf[bytes - 1] = 1;
    return buf[0] == 1;
}
}  // namespace

TEST_CASE("green: an awaited async task runs on a stack of its own when the awaiter's is half used", "[green][await]") {
    // Inline, the child's 160 KiB would go above the awaiter's 128 KiB on a 256 KiB stack: past the
    // guard page. It must get its own fiber (one switch), and still see the awaiter's cancellation.
    constexpr std::size_t stack = 256 * 1024;
    bool ran = false, child_canceled = false, awaiter_request_kept = false;
    bool clean = no_leak([&] {
        GreenThreadsIo rt(GreenThreadsIo::Options{.workers = 1, .stack_bytes = stack});
        Io io = rt.io();
        auto r = rt.run([&](Io cio) {
            ran = with_stack_used(stack / 2, [&] {
                auto f = cio.async([](Io) { return touch_stack(stack * 5 / 8); });
                auto v = f.await(cio);
                return v && *v;
            });
        });
        REQUIRE(r);
        // The same shape, cancelled while the child sleeps on its own fiber: the request reaches the child
        // and stays pending for the awaiter.
        auto outer = io.concurrent([&](Io cio) -> bool {
            return with_stack_used(stack / 2, [&] {
                auto f = cio.async([](Io c2) -> bool {
                    auto s = c2.sleep(60s);
                    return !s && s.error().is(Errc::canceled);
                });
                auto v = f.await(cio);
                child_canceled = v && *v;
                return !cio.check_cancel().has_value();
            });
        });
        REQUIRE(outer);
        std::this_thread::sleep_for(30ms);
        auto c = outer->cancel(io);
        awaiter_request_kept = c && *c;
    });
    CHECK(clean);
    CHECK(ran);
    CHECK(child_canceled);
    CHECK(awaiter_request_kept);
}

TEST_CASE("green: an async task awaited under a CancelShield is not cancelled with its awaiter", "[green][await][cancel]") {
    // The awaiter is protected, so a request that arrives while it awaits is not passed on, and the
    // child (which would run inline were the awaiter unprotected) runs as on its own fiber: unprotected
    // when it asks to be, with no request. Inline under the awaiter's state it would see the awaiter's
    // request the moment it unblocks. Handshakes, not sleeps, order the steps.
    std::atomic<bool> started{false}, requesting{false}, release{false};
    bool child_canceled = true, child_saw_request = true, awaiter_saw_after = false;
    bool clean = no_leak([&] {
        GreenThreadsIo rt(GreenThreadsIo::Options{.workers = 1});
        Io io = rt.io();
        auto outer = io.concurrent([&](Io cio) {
            {
                CancelShield shield(cio);
                auto f = cio.async([&](Io c2) {
                    started.store(true);
                    bool canceled = false;
                    while (!release.load() && !canceled) canceled = !c2.sleep(2ms).has_value();
                    auto old = c2.swap_cancel_protection(CancelProtection::unblocked);
                    bool saw = !c2.check_cancel().has_value();
                    c2.swap_cancel_protection(old);
                    return std::pair{canceled, saw};
                });
                auto v = f.await(cio);
                if (v) std::tie(child_canceled, child_saw_request) = *v;
            }
            awaiter_saw_after = !cio.check_cancel().has_value();
        });
        REQUIRE(outer);
        while (!started.load()) std::this_thread::sleep_for(1ms);
        std::thread canceller([&] {
            requesting.store(true);
            (void)outer->cancel(io);  // requests at once, then waits for the outer task
        });
        while (!requesting.load()) std::this_thread::sleep_for(1ms);
        std::this_thread::sleep_for(100ms);  // the request is made within microseconds of the flag
        release.store(true);
        canceller.join();
    });
    CHECK(clean);
    CHECK_FALSE(child_canceled);
    CHECK_FALSE(child_saw_request);
    CHECK(awaiter_saw_after);
}

TEST_CASE("green: fibers yielding to each other on ONE worker let spawns from other threads and timers run", "[green][yield]") {
    // Two fibers taking turns never leave their worker idle: a yield passes the turn straight to the
    // other. The worker's own turn (every 32 fiber turns) must still reap its driver and take the
    // injector's tasks first, or the two would spin until their limit.
    constexpr long limit = 20'000'000;
    long spins[2] = {-1, -1};
    bool clean = no_leak([&] {
        GreenThreadsIo rt(GreenThreadsIo::Options{.workers = 1});
        Io io = rt.io();
        std::atomic<int> started{0};
        std::atomic<bool> outside{false}, timer{false};
        auto spin = [&](Io cio) -> long {
            started.fetch_add(1);
            long n = 0;
            while (!(outside.load() && timer.load()) && n < limit) {
                (void)cio.yield();
                ++n;
            }
            return n;
        };
        auto a = io.concurrent(spin);
        auto b = io.concurrent(spin);
        REQUIRE(a);
        REQUIRE(b);
        while (started.load() < 2) std::this_thread::sleep_for(1ms);
        auto sleeper = io.concurrent([&](Io cio) {  // from this thread: the injector
            if (cio.sleep(5ms)) timer.store(true);
        });
        auto setter = io.concurrent([&](Io) { outside.store(true); });
        REQUIRE(sleeper);
        REQUIRE(setter);
        if (auto n = a->await(io)) spins[0] = *n;
        if (auto n = b->await(io)) spins[1] = *n;
        (void)sleeper->await(io);
        (void)setter->await(io);
    });
    CHECK(clean);
    for (long n : spins) {
        CHECK(n >= 0);
        CHECK(n < limit);
    }
}

TEST_CASE("green: awaiting a task that is on top of the fresh queue but already started switches into it, never runs it again", "[green][await]") {
    // T awaits children one after another under a CancelShield (never inline: each child gets the
    // worker's turn and, once done, requeues T on top of `fresh`). After 32 fresh turns in a row the
    // worker takes the main fiber (it yielded) while T is still on top; the main fiber then
    // awaits T, which has started: it must be switched into, not started a second time. The window
    // is there for loops >= 33 because kFreshStreak and kPollEvery (scheduler.cpp) are both 32; the
    // loop counts reach well past them in case either changes.
    for (int loops : {30, 33, 40, 50, 64, 100, 200, 500}) {
        std::atomic<int> starts{0}, done{0};
        bool clean = no_leak([&] {
            GreenThreadsIo rt(GreenThreadsIo::Options{.workers = 1});
            auto r = rt.run([&](Io io) {
                auto f = io.async([&](Io cio) {
                    starts.fetch_add(1);
                    for (int i = 0; i < loops; ++i) {
                        CancelShield shield(cio);
                        (void)cio.async([](Io) {}).await(cio);
                    }
                    done.fetch_add(1);
                });
                (void)io.yield();  // T runs; this fiber waits behind it
                (void)f.await(io);
            });
            CHECK(r);
        });
        CHECK(clean);
        CHECK(starts.load() == 1);
        CHECK(done.load() == 1);
    }
}
