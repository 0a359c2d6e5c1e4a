// The scheduler's shortcuts, each against what it must not change: an await that runs its task inline
// or switches straight into it, and a yield that passes the turn straight to the next fiber.
#include <catch2/catch.hpp>
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
    // The awaiter is protected, so a request that arrives while it awaits is not passed on (its child
    // would run inline were the awaiter unprotected): the child's sleep runs to its end, and the
    // awaiter sees its request once the shield is gone.
    bool child_canceled = true, awaiter_saw_after = false;
    bool clean = no_leak([&] {
        GreenThreadsIo rt(GreenThreadsIo::Options{.workers = 1});
        Io io = rt.io();
        auto outer = io.concurrent([&](Io cio) {
            {
                CancelShield shield(cio);
                auto f = cio.async([](Io c2) { return !c2.sleep(100ms).has_value(); });
                auto v = f.await(cio);
                child_canceled = !v || *v;
            }
            awaiter_saw_after = !cio.check_cancel().has_value();
        });
        REQUIRE(outer);
        std::this_thread::sleep_for(30ms);  // the child sleeps meanwhile
        (void)outer->cancel(io);
    });
    CHECK(clean);
    CHECK_FALSE(child_canceled);
    CHECK(awaiter_saw_after);
}

TEST_CASE("green: a fiber yielding in a loop on ONE worker lets spawns from other threads and timers run", "[green][yield]") {
    // A yield passes the turn straight on; the worker's own turn (every 32 fiber turns) must still reap
    // its driver and take the injector's tasks, or the yielder would spin until its limit.
    constexpr long limit = 20'000'000;
    long spins = -1;
    bool clean = no_leak([&] {
        GreenThreadsIo rt(GreenThreadsIo::Options{.workers = 1});
        Io io = rt.io();
        std::atomic<bool> started{false}, outside{false}, timer{false};
        auto spinner = io.concurrent([&](Io cio) -> long {
            started.store(true);
            long n = 0;
            while (!(outside.load() && timer.load()) && n < limit) {
                (void)cio.yield();
                ++n;
            }
            return n;
        });
        REQUIRE(spinner);
        while (!started.load()) std::this_thread::sleep_for(1ms);
        auto sleeper = io.concurrent([&](Io cio) {  // from this thread: the injector
            if (cio.sleep(5ms)) timer.store(true);
        });
        auto setter = io.concurrent([&](Io) { outside.store(true); });
        REQUIRE(sleeper);
        REQUIRE(setter);
        auto n = spinner->await(io);
        if (n) spins = *n;
        (void)sleeper->await(io);
        (void)setter->await(io);
    });
    CHECK(clean);
    CHECK(spins >= 0);
    CHECK(spins < limit);
}

TEST_CASE("green: awaiting a task that is on top of the fresh queue but already started switches into it, never runs it again", "[green][await]") {
    // T awaits children one after another under a CancelShield (never inline: each child gets the
    // worker's turn and, once done, requeues T on top of `fresh`). After 32 fresh turns in a row the
    // worker takes the main fiber (it yielded) while T is still on top; the main fiber then
    // awaits T, which has started: it must be switched into, not started a second time.
    for (int loops : {30, 33, 40, 50, 64, 100}) {
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
