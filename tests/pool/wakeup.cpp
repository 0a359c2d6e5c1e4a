// The searching protocol of the pool's scheduler (scheduler.cpp, issue 10): a spawn wakes a parked
// worker only when nobody is searching, so a lost wake-up would leave a queued task unrun while every
// other worker sleeps. Each round a task on one worker spawns a child and then blocks its own worker
// (outside the pool's knowledge: a plain futex wait with a time limit, never an await) until the child
// has run: only another worker can run it, and that worker must have been searching or been woken.
// Random delays before the spawn land it in every phase of the other worker (running, searching,
// giving up, parking, parked).
#include <catch2/catch.hpp>
#include <random>
#include "pool_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace zsync::test::pool;

namespace {

void child(Io, std::atomic<bool>* ran) {
    ran->store(true);
    ran->notify_all();
}

// Blocks this worker (not a cancel point, not an await) until `flag` is set or 5 s pass.
bool wait_plain(const std::atomic<bool>& flag) {
    auto end = SteadyClock::now() + std::chrono::seconds(5);
    while (!flag.load()) {
        if (SteadyClock::now() > end) return false;
        std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
    return true;
}

struct Round {
    int unrun = 0;  // children that no other worker ran within 5 s
};

Result<void> rounds(Io io, int n, unsigned seed, Round* out) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> delay_us(0, 300);
    for (int i = 0; i < n; ++i) {
        std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));  // the other worker idles meanwhile
        std::atomic<bool> ran{false};
        auto f = io.async(child, &ran);
        if (!wait_plain(ran)) ++out->unrun;
        (void)f.await(io);
    }
    return {};
}

}  // namespace

TEST_CASE("pool: a task spawned while its worker is busy is run by another worker (no lost wake-up)", "[pool][wakeup]") {
    for (unsigned workers : {2u, 3u, 4u}) {
        Round r;
        {
            ThreadPoolIo rt(ThreadPoolIo::Options{.workers = workers});
            (void)rt.run(rounds, under_tsan ? 100 : 400, 1234u + workers, &r);
        }
        INFO("workers " << workers);
        CHECK(r.unrun == 0);
    }
}

namespace {

// Each first lets the worker woken by the search cascade (the one run() started) park again.
Result<void> lone_behind_plain_wait(Io io, Round* out) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::atomic<bool> ran{false};
    auto f = io.async(child, &ran);
    if (!wait_plain(ran)) ++out->unrun;  // no Operation: only a timed sleeper can find the child
    (void)f.await(io);
    return {};
}

Result<void> lone_behind_operation(Io io, Round* out) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::atomic<bool> ran{false};
    auto f = io.async(child, &ran);
    // Blocks this worker in an Operation: announce() wakes a worker for the child first. Sleeps in
    // short steps so that a child that nobody runs is seen (and counted) within 5 s.
    auto end = SteadyClock::now() + std::chrono::seconds(5);
    while (!ran.load() && SteadyClock::now() < end) (void)io.sleep(std::chrono::milliseconds(1));
    if (!ran.load()) ++out->unrun;
    (void)f.await(io);
    return {};
}

}  // namespace

// A task spawned onto an empty deque wakes nobody (scheduler.cpp, "Lone tasks"): it must still be run
// by another worker while its spawner is busy. After the pool has been idle long enough for every
// worker to sleep without a timeout, some worker must become a timed sleeper again once the root task
// runs (the searching cascade, or became_active), or the child waits for its spawner. (Checked: with
// every park deep, the plain-work half fails.)
TEST_CASE("pool: a lone task is run by another worker after the pool slept, behind plain work and behind an Operation", "[pool][wakeup]") {
    for (unsigned workers : {2u, 3u}) {
        Round plain, op;
        {
            ThreadPoolIo rt(ThreadPoolIo::Options{.workers = workers});
            for (int i = 0; i < (under_tsan ? 3 : 6); ++i) {
                std::this_thread::sleep_for(std::chrono::milliseconds(60));  // timed parks end: all sleep deep
                (void)rt.run(lone_behind_plain_wait, &plain);
                std::this_thread::sleep_for(std::chrono::milliseconds(60));
                (void)rt.run(lone_behind_operation, &op);
            }
        }
        INFO("workers " << workers);
        CHECK(plain.unrun == 0);
        CHECK(op.unrun == 0);
    }
}
