// GreenThreadsIo against Boost.Fiber and oneTBB, in the same run, on 1 and 2 workers:
//   yield        two fibers yielding in turn through the scheduler (ns per yield) vs Boost.Fiber's
//                this_fiber::yield (its round-robin scheduler, one thread);
//   spawn_await  `io.async(noop)` then `.await(io)` from a fiber, on a warm stack pool (ns per pair)
//                vs Boost.Fiber `fiber(noop).join()`;
//   fib          fib(--n) with one task per call of n >= 2 (`io.async(fib, n-1)`, fib(n-2) inline, then
//                await; as bench_pool does for ThreadPoolIo) vs oneTBB's task_group doing the same,
//                under global_control(max_allowed_parallelism, workers). Only when built with TBB.
// Rounds are interleaved (--runs of them); printed: medians with min-max and the ratios zsync / peer
// (lower is better), as `figure NAME VALUE` lines.
//   bench_green [--runs N] [--iters N] [--n N]
//   bench_green --only spawn --workers W --iters N   one warm spawn_await loop and nothing else: run it
//                under `strace -f -c` with two values of N to count syscalls per spawn (docs/benchmarks.md).
//   bench_green --only fib|yield --workers W [--n N | --iters N]   one fib or yield run (for perf, strace).
#include <boost/fiber/all.hpp>
#include "fib_tbb.hpp"
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
import zsync;

namespace {
using Clock = std::chrono::steady_clock;
double ns_per(Clock::time_point t0, double n) {
    return std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / n;
}

double green_yield(unsigned workers, long iters) {
    zsync::GreenThreadsIo rt(zsync::GreenThreadsIo::Options{.workers = workers});
    zsync::Io io = rt.io();
    auto t0 = Clock::now();
    {
        zsync::Group g;
        for (int f = 0; f < 2; ++f)
            (void)g.concurrent(io, [iters](zsync::Io cio) { for (long i = 0; i < iters; ++i) (void)cio.yield(); });
        (void)g.await(io);
    }
    return ns_per(t0, 2.0 * double(iters));
}

double green_spawn(unsigned workers, long iters) {
    zsync::GreenThreadsIo rt(zsync::GreenThreadsIo::Options{.workers = workers});
    double ns = 0;
    (void)rt.run([&](zsync::Io io) {
        for (long i = 0; i < 1000; ++i) (void)io.async([](zsync::Io) {}).await(io);  // warm the stack pool
        auto t0 = Clock::now();
        for (long i = 0; i < iters; ++i) (void)io.async([](zsync::Io) {}).await(io);
        ns = ns_per(t0, double(iters));
    });
    return ns;
}

int fib_green(zsync::Io io, int n) {
    if (n < 2) return n;
    auto a = io.async(fib_green, n - 1);
    int b = fib_green(io, n - 2);
    return *a.await(io) + b;
}

std::uint64_t fib_value(int n) {
    std::uint64_t a = 0, b = 1;
    for (int i = 0; i < n; ++i) b = a + b, a = b - a;
    return a;
}
// Tasks started by fib(n): one per call with n >= 2, that is fib(n+1) - 1.
double fib_tasks(int n) { return double(fib_value(n + 1) - 1); }

void check_fib(const char* who, std::uint64_t got, int n) {
    if (got == fib_value(n)) return;
    std::fprintf(stderr, "bench_green: %s fib(%d) = %llu, want %llu\n", who, n, (unsigned long long)got,
                 (unsigned long long)fib_value(n));
    std::exit(1);
}

// ns per task; the runtime is made outside the timed part, as bench_pool does.
double green_fib(unsigned workers, int n) {
    zsync::GreenThreadsIo rt(zsync::GreenThreadsIo::Options{.workers = workers});
    auto t0 = Clock::now();
    auto r = rt.run(fib_green, n);
    double ns = ns_per(t0, fib_tasks(n));
    check_fib("green", r ? std::uint64_t(*r) : 0, n);
    return ns;
}

#if ZSYNC_BENCH_HAVE_TBB
using bench::fib_tbb;
double tbb_fib(unsigned workers, int n) {
    tbb::global_control gc(tbb::global_control::max_allowed_parallelism, workers);
    auto t0 = Clock::now();
    int v = fib_tbb(n);
    double ns = ns_per(t0, fib_tasks(n));
    check_fib("oneTBB", std::uint64_t(v), n);
    return ns;
}
#endif

double boost_yield(long iters) {
    auto t0 = Clock::now();
    boost::fibers::fiber a([iters] { for (long i = 0; i < iters; ++i) boost::this_fiber::yield(); });
    boost::fibers::fiber b([iters] { for (long i = 0; i < iters; ++i) boost::this_fiber::yield(); });
    a.join();
    b.join();
    return ns_per(t0, 2.0 * double(iters));
}

double boost_spawn(long iters) {
    for (long i = 0; i < 1000; ++i) boost::fibers::fiber([] {}).join();
    auto t0 = Clock::now();
    for (long i = 0; i < iters; ++i) boost::fibers::fiber([] {}).join();
    return ns_per(t0, double(iters));
}

struct Stat {
    std::vector<double> v;
    double med() const {
        std::vector<double> c = v;
        std::sort(c.begin(), c.end());
        return c[c.size() / 2];
    }
    double lo() const { return *std::min_element(v.begin(), v.end()); }
    double hi() const { return *std::max_element(v.begin(), v.end()); }
};
void print(const char* name, Stat& s) { std::printf("figure %s %.1f ns (min %.1f max %.1f)\n", name, s.med(), s.lo(), s.hi()); }
// The ratio of medians, and the median (min-max) of the per-round ratios: a round runs both sides back
// to back, so its ratio cancels the shared VM's slow phases, which a ratio of medians may not.
void ratio(const char* name, Stat& a, Stat& b) {
    Stat paired;
    for (std::size_t i = 0; i < a.v.size() && i < b.v.size(); ++i) paired.v.push_back(a.v[i] / b.v[i]);
    std::printf("figure %s %.3f ratio (paired per round: median %.3f, min %.3f max %.3f)\n", name, a.med() / b.med(),
                paired.med(), paired.lo(), paired.hi());
}
}  // namespace

int main(int argc, char** argv) {
    int runs = 5, n = 30;
    long iters = 200'000;
    unsigned workers = 1;
    std::string only;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--iters")) iters = std::atol(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--n")) n = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--workers")) workers = unsigned(std::atoi(argv[i + 1]));
        else if (!std::strcmp(argv[i], "--only")) only = argv[i + 1];
        else { std::fprintf(stderr, "bench_green: unknown option %s\n", argv[i]); return 2; }
    }
    if (runs < 1 || iters < 1 || n < 2 || n > 40 || workers < 1) {
        std::fprintf(stderr, "bench_green: need --runs >= 1, --iters >= 1, 2 <= --n <= 40, --workers >= 1\n");
        return 2;
    }
    if (only == "spawn") {
        std::printf("figure spawn_await.green_%uw.ns %.1f ns (iters %ld)\n", workers, green_spawn(workers, iters), iters);
        return 0;
    }
    if (only == "yield") {
        std::printf("figure yield.green_%uw.ns %.1f ns (iters %ld)\n", workers, green_yield(workers, iters), iters);
        return 0;
    }
    if (only == "fib") {
        std::printf("figure fib.green_%uw.ns_per_task %.1f ns (n %d)\n", workers, green_fib(workers, n), n);
        return 0;
    }
    if (!only.empty()) { std::fprintf(stderr, "bench_green: --only takes spawn, yield or fib\n"); return 2; }
    std::printf("config runs=%d iters=%ld n=%d fib_tasks=%.0f tbb=%d\n", runs, iters, n, fib_tasks(n), ZSYNC_BENCH_HAVE_TBB);
    Stat gy1, gy2, by, gs1, gs2, bs, gf1, gf2, tf1, tf2;
    for (int r = 0; r < runs; ++r) {
        gy1.v.push_back(green_yield(1, iters));
        by.v.push_back(boost_yield(iters));
        gy2.v.push_back(green_yield(2, iters));
        gs1.v.push_back(green_spawn(1, iters / 4));
        bs.v.push_back(boost_spawn(iters / 4));
        gs2.v.push_back(green_spawn(2, iters / 4));
        gf1.v.push_back(green_fib(1, n));
        gf2.v.push_back(green_fib(2, n));
#if ZSYNC_BENCH_HAVE_TBB
        tf1.v.push_back(tbb_fib(1, n));
        tf2.v.push_back(tbb_fib(2, n));
#endif
    }
    print("yield.green_1w.ns", gy1);
    print("yield.green_2w.ns", gy2);
    print("yield.boost_fiber.ns", by);
    ratio("yield.green_1w_over_boost_fiber", gy1, by);
    ratio("yield.green_2w_over_boost_fiber", gy2, by);
    print("spawn_await.green_1w.ns", gs1);
    print("spawn_await.green_2w.ns", gs2);
    print("spawn_await.boost_fiber.ns", bs);
    ratio("spawn_await.green_1w_over_boost_fiber", gs1, bs);
    ratio("spawn_await.green_2w_over_boost_fiber", gs2, bs);
    print("fib.green_1w.ns_per_task", gf1);
    print("fib.green_2w.ns_per_task", gf2);
#if ZSYNC_BENCH_HAVE_TBB
    print("fib.tbb_1w.ns_per_task", tf1);
    print("fib.tbb_2w.ns_per_task", tf2);
    ratio("fib.green_1w_over_tbb_1w", gf1, tf1);
    ratio("fib.green_2w_over_tbb_2w", gf2, tf2);
#else
    std::printf("note: built without oneTBB (find_package(TBB CONFIG) failed): no fib peer\n");
#endif
    return 0;
}
