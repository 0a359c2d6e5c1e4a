// ThreadPoolIo: task spawn/await costs, against oneTBB in the same process.
//
// Modes (each runs its measured work once, on a pool of --workers workers):
//   fib        fib(--n) with one task per call of n >= 2: `io.async(fib, n-1)`, then fib(n-2) inline,
//              then await. Started with rt.run (the root is a task on a worker). Tasks = fib(n+1) - 1.
//   tbb_fib    the same recursion on oneTBB: `task_group g; g.run(fib(n-1)); fib(n-2) inline; g.wait()`,
//              under tbb::global_control(max_allowed_parallelism, --workers). (Only when built with TBB.)
//   seq_fib    the same recursion with plain calls (no tasks): what the arithmetic itself costs.
//   spawn      inside rt.run, --iters times: `io.async(noop)` then `.await(io)` (a worker spawning
//              and awaiting a no-op task).
//   tbb_spawn  oneTBB's peer of spawn, for information: --iters times `g.run(noop); g.wait()`.
//   inject     from main (not a pool thread), --iters times: `io.async(noop)` then `.await(io)`: one
//              round trip through the injector, a worker, and back.
//   batch      from main: --iters `io.async(noop)` kept in a vector, then all awaited in order.
//   wall       interleaves all of the above --runs times (the first mode of each round rotates; each
//              starts after a pause of --settle-ms, default 20, so the other runtime is idle) and
//              prints medians with min–max, and the paired per-round ratio zsync fib / oneTBB fib.
// Under callgrind the measured functions are the extern "C" zsync_bench_pool_*: for the pool modes the
// one that runs ON the worker (the root task), since callgrind's collection toggle is per thread.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <chrono>
#include <string>
#include <thread>
#include <vector>
#include "bench_common.hpp"
#include "fib_tbb.hpp"
import zsync;

namespace {

int fib_zsync(zsync::Io io, int n) {
    if (n < 2) return n;
    auto a = io.async(fib_zsync, n - 1);
    int b = fib_zsync(io, n - 2);
    return *a.await(io) + b;
}

[[gnu::noinline]] int fib_seq(int n) {
    if (n < 2) return n;
    int a = fib_seq(n - 1);
    int b = fib_seq(n - 2);
    bench::keep(a);
    return a + b;
}

#if ZSYNC_BENCH_HAVE_TBB
using bench::fib_tbb;
#endif

void noop(zsync::Io) {}

}  // namespace

extern "C" {

// Root tasks: they run on a pool worker (callgrind counts what they and the tasks under them do there).
[[gnu::noinline]] int zsync_bench_pool_fib(zsync::Io io, int n) { return fib_zsync(io, n); }

[[gnu::noinline]] std::uint64_t zsync_bench_pool_spawn(zsync::Io io, std::uint64_t iters) {
    std::uint64_t ok = 0;
    for (std::uint64_t i = 0; i < iters; ++i) {
        auto f = io.async(noop);
        ok += f.await(io).has_value();
    }
    return ok;
}

// On the calling (non-pool) thread.
[[gnu::noinline]] std::uint64_t zsync_bench_pool_inject(zsync::Io io, std::uint64_t iters) {
    std::uint64_t ok = 0;
    for (std::uint64_t i = 0; i < iters; ++i) {
        auto f = io.async(noop);
        ok += f.await(io).has_value();
    }
    return ok;
}

[[gnu::noinline]] std::uint64_t zsync_bench_pool_batch(zsync::Io io, std::vector<zsync::Future<void>>& fs, std::uint64_t iters) {
    fs.clear();
    for (std::uint64_t i = 0; i < iters; ++i) fs.push_back(io.async(noop));
    std::uint64_t ok = 0;
    for (auto& f : fs) ok += f.await(io).has_value();
    return ok;
}

[[gnu::noinline]] int zsync_bench_pool_seq_fib(int n) { return fib_seq(n); }

#if ZSYNC_BENCH_HAVE_TBB
[[gnu::noinline]] int zsync_bench_pool_tbb_fib(int n) { return fib_tbb(n); }

[[gnu::noinline]] std::uint64_t zsync_bench_pool_tbb_spawn(std::uint64_t iters) {
    std::uint64_t ok = 0;
    for (std::uint64_t i = 0; i < iters; ++i) {
        tbb::task_group g;
        g.run([&ok] { ++ok; });
        g.wait();
    }
    return ok;
}
#endif

}  // extern "C"

namespace {

constexpr bool have_tbb = ZSYNC_BENCH_HAVE_TBB;

std::uint64_t fib_value(int n) {
    std::uint64_t a = 0, b = 1;
    for (int i = 0; i < n; ++i) b = a + b, a = b - a;
    return a;
}

// Tasks spawned by fib(n) in this recursion: one per call with n >= 2, that is fib(n+1) - 1.
std::uint64_t fib_tasks(int n) { return fib_value(n + 1) - 1; }

struct Env {
    zsync::ThreadPoolIo* rt;
    unsigned workers;
    int n;
    std::uint64_t iters;
    std::vector<zsync::Future<void>>* futures;
};

// Runs one mode once; returns false (after a message) if its result is wrong.
bool run_mode(const std::string& mode, Env& e) {
    const auto want = e.iters;
    std::uint64_t got = 0;
    if (mode == "fib" || mode == "tbb_fib" || mode == "seq_fib") {
        std::uint64_t v = 0;
        if (mode == "fib") {
            auto r = e.rt->run(zsync_bench_pool_fib, e.n);
            v = r ? std::uint64_t(*r) : ~0ull;
        } else if (mode == "seq_fib") {
            v = std::uint64_t(zsync_bench_pool_seq_fib(e.n));
        } else {
#if ZSYNC_BENCH_HAVE_TBB
            tbb::global_control gc(tbb::global_control::max_allowed_parallelism, e.workers);
            v = std::uint64_t(zsync_bench_pool_tbb_fib(e.n));
#endif
        }
        if (v != fib_value(e.n)) { std::fprintf(stderr, "%s: fib(%d) = %llu, want %llu\n", mode.c_str(), e.n, (unsigned long long)v, (unsigned long long)fib_value(e.n)); return false; }
        return true;
    }
    if (mode == "spawn") {
        auto r = e.rt->run(zsync_bench_pool_spawn, e.iters);
        got = r ? *r : 0;
    } else if (mode == "tbb_spawn") {
#if ZSYNC_BENCH_HAVE_TBB
        tbb::global_control gc(tbb::global_control::max_allowed_parallelism, e.workers);
        got = zsync_bench_pool_tbb_spawn(e.iters);
#endif
    } else if (mode == "inject") {
        got = zsync_bench_pool_inject(e.rt->io(), e.iters);
    } else if (mode == "batch") {
        got = zsync_bench_pool_batch(e.rt->io(), *e.futures, e.iters);
    } else {
        std::fprintf(stderr, "unknown mode %s (fib|tbb_fib|seq_fib|spawn|tbb_spawn|inject|batch|wall)\n", mode.c_str());
        std::exit(2);
    }
    if (got != want) { std::fprintf(stderr, "%s: %llu of %llu tasks succeeded\n", mode.c_str(), (unsigned long long)got, (unsigned long long)want); return false; }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    bench::Args args{argc, argv};
    const std::string mode(args.get("--mode", "wall"));
    Env e{};
    e.workers = unsigned(args.num("--workers", 1));
    e.n = int(args.num("--n", 30));
    e.iters = args.num("--iters", 100000);
    zsync::ThreadPoolIo rt({.workers = e.workers});
    e.rt = &rt;
    std::vector<zsync::Future<void>> futures;
    futures.reserve(e.iters);
    e.futures = &futures;
    if (!have_tbb) std::printf("note: built without oneTBB (libtbb-dev not found): the oneTBB modes are skipped\n");

    if (mode != "wall") {
        if (!have_tbb && (mode == "tbb_fib" || mode == "tbb_spawn")) return 0;
        // One untimed round first (threads started, task blocks in the allocator's caches).
        Env warm = e;
        warm.n = e.n < 10 ? e.n : 10;
        warm.iters = e.iters < 100 ? e.iters : 100;
        if (!run_mode(mode, warm) || !run_mode(mode, e)) return 1;
        std::printf("figure pool.%s.done 1 count workers=%u n=%d iters=%llu tasks=%llu\n", mode.c_str(), e.workers, e.n,
                    (unsigned long long)e.iters, (unsigned long long)(mode.find("fib") != std::string::npos ? fib_tasks(e.n) : e.iters));
        return 0;
    }

    const std::uint64_t runs = args.num("--runs", 7);
    // A pause before each timed mode, so that it starts with the other runtime's threads idle: oneTBB's
    // workers spin with sched_yield (86,790 calls in one 3,000,000-pair tbb_spawn run), zsync's
    // searchers for up to 16 rounds, and on two vCPUs a mode that starts meanwhile shares the CPU.
    const auto settle = std::chrono::milliseconds(args.num("--settle-ms", 20));
    std::vector<std::string> modes = {"fib", "seq_fib", "spawn", "inject", "batch"};
    if (have_tbb) modes.insert(modes.begin() + 1, {"tbb_fib", "tbb_spawn"});
    const std::size_t m = modes.size();
    std::vector<std::vector<double>> ns(m);
    std::vector<double> ratio, spawn_ratio;
    auto index_of = [&](const char* name) { return static_cast<std::size_t>(std::find(modes.begin(), modes.end(), name) - modes.begin()); };
    const std::size_t spawn_i = index_of("spawn"), tbb_spawn_i = index_of("tbb_spawn");
    const double tasks = double(fib_tasks(e.n));
    // Warm-up: every mode once, untimed.
    for (auto& md : modes) if (!run_mode(md, e)) return 1;
    for (std::uint64_t r = 0; r < runs; ++r) {
        std::vector<double> t(m);
        for (std::size_t k = 0; k < m; ++k) {
            std::size_t i = (k + r) % m;
            std::this_thread::sleep_for(settle);
            double t0 = bench::now_ns();
            if (!run_mode(modes[i], e)) return 1;
            double t1 = bench::now_ns();
            t[i] = (t1 - t0) / (modes[i].find("fib") != std::string::npos ? tasks : double(e.iters));
            ns[i].push_back(t[i]);
        }
        if (have_tbb) ratio.push_back(t[0] / t[1]);
        if (have_tbb) spawn_ratio.push_back(t[spawn_i] / t[tbb_spawn_i]);
    }
    std::printf("config workers=%u n=%d fib_tasks=%.0f iters=%llu runs=%llu\n", e.workers, e.n, tasks,
                (unsigned long long)e.iters, (unsigned long long)runs);
    for (std::size_t i = 0; i < m; ++i) {
        std::string n;
        if (modes[i] == "fib") n = "fib.zsync.ns_per_task";
        else if (modes[i] == "tbb_fib") n = "fib.tbb.ns_per_task";
        else if (modes[i] == "seq_fib") n = "fib.seq.ns_per_task";  // plain recursion, per would-be task
        else if (modes[i] == "spawn") n = "spawn_await.ns_per_pair";
        else if (modes[i] == "tbb_spawn") n = "spawn_await.tbb.ns_per_pair";
        else if (modes[i] == "inject") n = "inject.ns_per_round_trip";
        else n = "inject_batch.ns_per_task";
        std::string full = "pool.w" + std::to_string(e.workers) + "." + n;
        bench::print_summary(full.c_str(), "ns", ns[i]);
    }
    if (have_tbb) {
        std::string full = "pool.w" + std::to_string(e.workers) + ".fib.zsync_over_tbb.ratio";
        bench::print_summary(full.c_str(), "x", ratio);
        full = "pool.w" + std::to_string(e.workers) + ".spawn_await.zsync_over_tbb.ratio";
        bench::print_summary(full.c_str(), "x", spawn_ratio);
    }
    return 0;
}
