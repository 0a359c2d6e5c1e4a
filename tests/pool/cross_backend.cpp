// The cross-backend futex rule (docs/architecture.md): a futex word shared by a pool task and a task on
// another backend (a BlockingIo on its own std::thread) is woken by either side's futex_wake. Every wait
// has a deadline, so a wake that does not arrive shows up as a timeout instead of a hang.
#include <catch2/catch.hpp>
#include "pool_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace zsync::test::pool;

namespace {

struct WaitOutcome {
    int rounds = 0;
    int timeouts = 0;
    int other_errors = 0;
};

// Waits `rounds` times for the word to reach round+1 (announcing each wait through `waiting`).
WaitOutcome waiter(Io io, std::atomic<std::uint32_t>* word, std::atomic<std::uint32_t>* waiting, int rounds) {
    WaitOutcome o;
    for (int i = 0; i < rounds; ++i) {
        const std::uint32_t want = static_cast<std::uint32_t>(i + 1);
        waiting->store(want);
        Deadline d = Deadline::after(std::chrono::seconds(5));
        for (std::uint32_t v; (v = word->load()) < want;) {
            auto r = io.futex_wait(*word, v, d);
            if (!r) {
                if (r.error().code() == Errc::timeout) ++o.timeouts;
                else ++o.other_errors;
                break;
            }
        }
        ++o.rounds;
    }
    return o;
}

// For rounds [from, to): waits until the waiter announced the round, with `pause` lets it block in the
// kernel (without, races its entry), then bumps the word and wakes.
void waker(Io io, std::atomic<std::uint32_t>* word, std::atomic<std::uint32_t>* waiting, int from, int to, bool pause) {
    for (int i = from; i < to; ++i) {
        const std::uint32_t want = static_cast<std::uint32_t>(i + 1);
        while (waiting->load() < want) std::this_thread::yield();
        if (pause) std::this_thread::sleep_for(std::chrono::milliseconds(2));
        word->store(want);
        io.futex_wake(*word, 1);
    }
}

}  // namespace

TEST_CASE("pool futex: a pool task waits, a BlockingIo thread wakes it", "[pool][futex][cross]") {
    for (unsigned workers : {1u, 2u}) {
        INFO("workers " << workers);
        const int rounds = 200;
        std::atomic<std::uint32_t> word{0}, waiting{0};
        Result<WaitOutcome> r;
        double ms = 0;
        auto leak = measure_pool([&] {
            ThreadPoolIo rt({.workers = workers});
            auto t0 = SteadyClock::now();
            auto f = rt.io().async(waiter, &word, &waiting, rounds);
            std::thread other([&] {
                BlockingIo b;  // another backend on another OS thread
                // The first rounds leave time to block in the kernel; the rest race the wait.
                waker(b.io(), &word, &waiting, 0, 20, true);
                waker(b.io(), &word, &waiting, 20, rounds, false);
            });
            r = f.await(rt.io());
            other.join();
            ms = ms_since(t0);
        });
        REQUIRE_NO_LEAK(leak);
        REQUIRE(r.has_value());
        CHECK(r->rounds == rounds);
        CHECK(r->timeouts == 0);
        CHECK(r->other_errors == 0);
        CHECK(word.load() == static_cast<std::uint32_t>(rounds));
        CHECK(ms < 30000);
    }
}

TEST_CASE("pool futex: a BlockingIo thread waits, a pool task wakes it", "[pool][futex][cross]") {
    for (unsigned workers : {1u, 2u}) {
        INFO("workers " << workers);
        const int rounds = 200;
        std::atomic<std::uint32_t> word{0}, waiting{0};
        Result<WaitOutcome> blocked_side;
        Result<void> pool_side;
        auto leak = measure_pool([&] {
            ThreadPoolIo rt({.workers = workers});
            std::thread other([&] {
                BlockingIo b;
                blocked_side = b.run(waiter, &word, &waiting, rounds);
            });
            pool_side = rt.run([](Io io, std::atomic<std::uint32_t>* w, std::atomic<std::uint32_t>* announced, int n) {
                waker(io, w, announced, 0, 20, true);   // the waiter is (almost surely) in the kernel
                waker(io, w, announced, 20, n, false);  // then race it
            }, &word, &waiting, rounds);
            other.join();
        });
        REQUIRE_NO_LEAK(leak);
        REQUIRE(pool_side.has_value());
        REQUIRE(blocked_side.has_value());
        CHECK(blocked_side->rounds == rounds);
        CHECK(blocked_side->timeouts == 0);
        CHECK(blocked_side->other_errors == 0);
        CHECK(word.load() == static_cast<std::uint32_t>(rounds));
    }
}
