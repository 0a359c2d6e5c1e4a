// Stress: a million tiny tasks, fan-out/fan-in trees, random cancel storms over blocked tasks, and
// futex ping-pong between pool workers and concurrent threads. Each runs with 1, 2 and 8 workers.
// Under TSan the tiny-task counts are divided by scale_div (pool_support.hpp); the rest run full size.
#include <catch2/catch.hpp>
#include <algorithm>
#include <numeric>
#include <vector>
#include "pool_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace zsync::test::pool;

namespace {

void tick(Io, std::atomic<long>* counter) {
    counter->fetch_add(1, std::memory_order_relaxed);  // relaxed: read after group await, which orders it
}

// `total` no-op tasks in groups of `batch`, each group awaited before the next starts.
long many_tiny(Io io, long total, int batch) {
    std::atomic<long> counter{0};
    long started = 0, failed_awaits = 0;
    while (started < total) {
        Group g;
        for (int i = 0; i < batch && started < total; ++i, ++started) (void)g.async(io, tick, &counter);
        if (!g.await(io)) ++failed_awaits;
    }
    return failed_awaits ? -failed_awaits : counter.load(std::memory_order_relaxed);  // relaxed: see tick
}

long fib_seq(int n) { return n < 2 ? n : fib_seq(n - 1) + fib_seq(n - 2); }

Result<long> fib(Io io, int n) {
    if (n < 2) return long(n);
    auto a = io.async(fib, n - 1);
    auto b = io.async(fib, n - 2);
    auto ra = a.await(io);
    auto rb = b.await(io);
    if (!ra) return ra.error();
    if (!rb) return rb.error();
    return *ra + *rb;
}

// A tree `width` wide and `depth` deep whose leaves return their index; returns the sum of indices.
Result<long> wide(Io io, int width, int depth, long base) {
    if (depth == 0) return base;
    std::vector<Future<long>> kids;
    kids.reserve(static_cast<std::size_t>(width));
    for (int i = 0; i < width; ++i) kids.push_back(io.async(wide, width, depth - 1, base * width + i));
    long sum = 0;
    bool ok = true;
    for (auto& k : kids) {
        auto r = k.await(io);
        if (r) sum += *r;
        else ok = false;
    }
    if (!ok) return Error(Errc::invalid_argument, Op::async);
    return sum;
}

long wide_expected(int width, int depth) {
    long leaves = 1;
    for (int i = 0; i < depth; ++i) leaves *= width;
    return leaves * (leaves - 1) / 2;  // leaves are numbered 0..leaves-1
}

}  // namespace

TEST_CASE("pool stress: a million tiny tasks in groups", "[pool][stress]") {
    const long total = 1'000'000 / scale_div;
    for (unsigned workers : {1u, 2u, 8u}) {
        INFO("workers " << workers << ", tasks " << total);
        Result<long> r;
        auto leak = measure_pool([&] {
            ThreadPoolIo rt({.workers = workers});
            r = rt.run(many_tiny, total, 1000);
        });
        REQUIRE_NO_LEAK(leak);
        REQUIRE(r.has_value());
        CHECK(*r == total);
    }
}

TEST_CASE("pool stress: tiny tasks from a thread outside the pool (the injector)", "[pool][stress]") {
    // Group and Future tasks started by a non-worker thread go through the injector while the group
    // links them into its own list.
    const long total = 200'000 / scale_div;
    for (unsigned workers : {1u, 2u, 8u}) {
        INFO("workers " << workers << ", tasks " << total);
        long group_count = 0, future_sum = 0, expected_sum = 0;
        auto leak = measure_pool([&] {
            ThreadPoolIo rt({.workers = workers});
            Io io = rt.io();
            group_count = many_tiny(io, total, 500);
            std::vector<Future<int>> futs;
            for (int i = 0; i < 2000; ++i) {
                futs.push_back(io.async([](Io, int v) { return v; }, i));
                expected_sum += i;
            }
            for (auto& f : futs) future_sum += f.await(io).value_or(-1000000);
        });
        REQUIRE_NO_LEAK(leak);
        CHECK(group_count == total);
        CHECK(future_sum == expected_sum);
    }
}

namespace {
// One task starts more tasks than a worker deque holds (4096) without awaiting in between: the rest
// run inline (the saturation policy).
long overflow(Io io, int n) {
    std::atomic<long> counter{0};
    Group g;
    for (int i = 0; i < n; ++i) (void)g.async(io, tick, &counter);
    std::vector<Future<int>> futs;
    for (int i = 0; i < n; ++i) futs.push_back(io.async([](Io, int v) { return v; }, 1));
    long sum = 0;
    for (auto& f : futs) sum += f.await(io).value_or(-1000000);
    if (!g.await(io)) return -1;
    return sum + counter.load(std::memory_order_relaxed);  // relaxed: group await ordered the increments
}
}  // namespace

TEST_CASE("pool stress: more tasks than a deque holds", "[pool][stress]") {
    const int n = 10'000;
    for (unsigned workers : {1u, 2u, 8u}) {
        INFO("workers " << workers);
        Result<long> r;
        auto leak = measure_pool([&] {
            ThreadPoolIo rt({.workers = workers});
            r = rt.run(overflow, n);
        });
        REQUIRE_NO_LEAK(leak);
        REQUIRE(r.has_value());
        CHECK(*r == 2L * n);
    }
}

TEST_CASE("pool stress: fan-out/fan-in trees (fib and a wide tree)", "[pool][stress]") {
    const int fib_n = 22;
    const int width = 60, depth = 2;
    for (unsigned workers : {1u, 2u, 8u}) {
        INFO("workers " << workers);
        Result<long> f, w;
        auto leak = measure_pool([&] {
            ThreadPoolIo rt({.workers = workers});
            f = rt.run(fib, fib_n);
            w = rt.run(wide, width, depth, 0L);
        });
        REQUIRE_NO_LEAK(leak);
        REQUIRE(f.has_value());
        CHECK(*f == fib_seq(fib_n));
        REQUIRE(w.has_value());
        CHECK(*w == wide_expected(width, depth));
    }
}

namespace {

enum class StormKind { sleep, read, futex };

// One storm task: waits in the way of its kind, then returns its id (the argument is a tracked
// resource: it must be destroyed exactly once whatever happens).
Result<int> storm_task(Io io, StormKind kind, int id, int fd, std::atomic<std::uint32_t>* word, int sleep_us,
                       std::unique_ptr<Tracked> token) {
    (void)token;
    switch (kind) {
    case StormKind::sleep:
        if (auto r = io.sleep(std::chrono::microseconds(sleep_us)); !r) return r.error();
        break;
    case StormKind::read: {
        std::byte b[1];
        auto r = File{fd}.read(io, b);
        if (!r) return r.error();
        if (*r != 1) return Error(Errc::end_of_stream, Op::read);
        break;
    }
    case StormKind::futex:
        while (word->load() == 0)
            if (auto r = io.futex_wait(*word, 0); !r) return r.error();
        break;
    }
    return id;
}

struct StormStats {
    int tasks = 0, chosen = 0, canceled = 0, completed = 0, wrong = 0;
    long id_sum = 0;  // of completed tasks
    long expected_id_sum = 0;
};

// Runs as a pool task: spawns `n` storm tasks, lets a feeder thread satisfy every wait at random
// moments, cancels a random third of the tasks at random times and awaits the rest.
StormStats storm(Io io, int n, unsigned seed) {
    StormStats s;
    std::mt19937 rng(seed);
    std::vector<std::unique_ptr<Pipe>> pipes;
    std::vector<std::unique_ptr<std::atomic<std::uint32_t>>> words;
    std::vector<Future<int>> futs;
    std::vector<StormKind> kinds;
    for (int i = 0; i < n; ++i) {
        auto kind = static_cast<StormKind>(rng() % 3);
        kinds.push_back(kind);
        pipes.push_back(kind == StormKind::read ? std::make_unique<Pipe>() : nullptr);
        words.push_back(std::make_unique<std::atomic<std::uint32_t>>(0));
        futs.push_back(io.async(storm_task, kind, i, pipes.back() ? pipes.back()->r : -1, words.back().get(),
                                static_cast<int>(rng() % 3000), std::make_unique<Tracked>()));
    }
    std::thread feeder([&, order_seed = rng()] {
        std::mt19937 frng(order_seed);
        std::vector<int> order(static_cast<std::size_t>(n));
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), frng);
        for (int i : order) {
            std::this_thread::sleep_for(std::chrono::microseconds(frng() % 200));
            if (kinds[i] == StormKind::read) pipes[i]->put();
            else if (kinds[i] == StormKind::futex) {
                words[i]->store(1);
                io.futex_wake(*words[i], 1);
            }
        }
    });
    std::vector<int> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    for (int i : order) {
        ++s.tasks;
        bool cancel = rng() % 3 == 0;
        Result<int> r;
        if (cancel) {
            ++s.chosen;
            if (int d = static_cast<int>(rng() % 1000); d > 0) (void)io.sleep(std::chrono::microseconds(d));
            r = futs[i].cancel(io);
        } else {
            r = futs[i].await(io);
        }
        if (r && *r == i) {
            ++s.completed;
            s.id_sum += i;
        } else if (!r && r.error().canceled() && cancel) {
            ++s.canceled;
        } else {
            ++s.wrong;  // a non-cancelled task failed, or a wrong id, or a cancelled one failed otherwise
        }
        if (!futs[i].cancel(io).error().is(Errc::already_awaited)) ++s.wrong;  // idempotence
    }
    feeder.join();
    return s;
}

}  // namespace

TEST_CASE("pool stress: random cancel storms over sleeping, reading and futex-waiting tasks", "[pool][stress][cancel]") {
    const int n = 300;
    for (unsigned workers : {1u, 2u, 8u}) {
        for (unsigned round = 0; round < 3; ++round) {
            INFO("workers " << workers << ", round " << round << ", tasks " << n);
            Tracked::reset();
            Result<StormStats> r;
            auto leak = measure_pool([&] {
                ThreadPoolIo rt({.workers = workers});
                r = rt.run(storm, n, 1000u * workers + round);
            });
            REQUIRE_NO_LEAK(leak);
            REQUIRE(r.has_value());
            const StormStats& s = *r;
            CHECK(s.tasks == n);
            CHECK(s.wrong == 0);
            CHECK(s.completed + s.canceled == n);
            CHECK(s.canceled <= s.chosen);
            CHECK(s.chosen > 0);
            CHECK(Tracked::alive.load() == 0);
            CHECK(Tracked::destroyed.load() == n);
        }
    }
}

namespace {

// One side of a ping-pong pair: takes its turn when the word's parity is `parity`, `rounds` times.
int ping_side(Io io, std::atomic<std::uint32_t>* word, std::uint32_t parity, int rounds) {
    int turns = 0;
    for (int i = 0; i < rounds; ++i) {
        std::uint32_t v;
        while (((v = word->load(std::memory_order_acquire)) & 1u) != parity)  // acquire: pairs with the partner's release
            if (!io.futex_wait(*word, v)) return -1;
        word->store(v + 1, std::memory_order_release);  // release: our turn happened before the partner's
        io.futex_wake(*word, 1);
        ++turns;
    }
    return turns;
}

struct PingStats {
    int pairs = 0, good_sides = 0, start_failures = 0, exact_words = 0;
};

// Runs as a pool task: `pairs` pairs, one side a pool task (async), the other on a thread of its own
// (concurrent: with one worker, two pool tasks of a pair could never run at once).
PingStats ping_pong(Io io, int pairs, int rounds) {
    PingStats s;
    std::vector<std::unique_ptr<std::atomic<std::uint32_t>>> words;
    std::vector<Future<int>> a_side, b_side;
    for (int p = 0; p < pairs; ++p) {
        words.push_back(std::make_unique<std::atomic<std::uint32_t>>(0));
        auto b = io.concurrent(ping_side, words.back().get(), 1u, rounds);
        if (!b) { ++s.start_failures; words.back()->store(static_cast<std::uint32_t>(2 * rounds)); continue; }
        b_side.push_back(std::move(*b));
        a_side.push_back(io.async(ping_side, words.back().get(), 0u, rounds));
    }
    for (auto& f : a_side) if (auto r = f.await(io); r && *r == rounds) ++s.good_sides;
    for (auto& f : b_side) if (auto r = f.await(io); r && *r == rounds) ++s.good_sides;
    for (auto& w : words) if (w->load() == static_cast<std::uint32_t>(2 * rounds)) ++s.exact_words;
    s.pairs = pairs;
    return s;
}

}  // namespace

TEST_CASE("pool stress: futex ping-pong between several pairs", "[pool][stress][futex]") {
    const int pairs = 6, rounds = 3000;
    for (unsigned workers : {1u, 2u, 8u}) {
        INFO("workers " << workers << ", pairs " << pairs << ", rounds " << rounds);
        Result<PingStats> r;
        auto leak = measure_pool([&] {
            ThreadPoolIo rt({.workers = workers});
            r = rt.run(ping_pong, pairs, rounds);
        });
        REQUIRE_NO_LEAK(leak);
        REQUIRE(r.has_value());
        CHECK(r->start_failures == 0);
        CHECK(r->good_sides == 2 * pairs);
        CHECK(r->exact_words == pairs);
    }
}
