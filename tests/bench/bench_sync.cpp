// Sync primitives: an uncontended Mutex against std::mutex, and a Queue ping-pong between two tasks
// against the same ping-pong between two std::threads over std::mutex + std::condition_variable queues.
//
// Modes (each runs its measured work once):
//   mutex_blocking  --iters times `m.lock(io); m.unlock(io)` on a zsync::Mutex, io = BlockingIo's Io, on
//                   the main thread.
//   mutex_pool      the same inside a task on ThreadPoolIo (rt.run: the root task on a worker).
//   std_mutex       --iters times `m.lock(); m.unlock()` on a std::mutex (the peer).
//   pingpong        ThreadPoolIo with --workers workers: the root task (on a worker) starts a pong task,
//                   then --rt times puts i into queue A and gets it back from queue B; pong gets from A
//                   and puts into B. Both queues are zsync::Queue<int> of capacity 1. The pong task is
//                   started with io.concurrent (a thread of its own) by default when there is 1 worker
//                   (io.async would queue it behind the root task, which blocks its worker in get),
//                   with io.async otherwise; --spawn async|concurrent overrides.
//   pingpong_std    the same with two std::threads and two capacity-1 queues made of std::mutex and two
//                   std::condition_variable each (the structure of zsync::Queue: lock, wait while
//                   full/empty, move, notify one, unlock).
//   wall            interleaves all modes --runs times (the first mode of each round rotates), after one
//                   untimed round, and prints medians with min–max.
// Under callgrind the measured loops are the extern "C" zsync_bench_sync_*; for mutex_pool the one that
// runs ON the worker (callgrind's collection toggle is per thread).
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include "bench_common.hpp"
import zsync;

namespace {

// A capacity-1 blocking queue of int in the shape of zsync::Queue (mutex + not_empty + not_full).
class StdQueue {
public:
    void put(int v) {
        std::unique_lock l(m_);
        not_full_.wait(l, [&] { return !has_; });
        slot_ = v;
        has_ = true;
        not_empty_.notify_one();
    }
    int get() {
        std::unique_lock l(m_);
        not_empty_.wait(l, [&] { return has_; });
        has_ = false;
        not_full_.notify_one();
        return slot_;
    }

private:
    std::mutex m_;
    std::condition_variable not_empty_, not_full_;
    int slot_ = 0;
    bool has_ = false;
};

std::uint64_t pong(zsync::Io io, zsync::Queue<int>* a, zsync::Queue<int>* b, std::uint64_t iters) {
    std::uint64_t ok = 0;
    for (std::uint64_t i = 0; i < iters; ++i) {
        auto v = a->get(io);
        if (!v) break;
        if (!b->put(io, *v)) break;
        ++ok;
    }
    return ok;
}

}  // namespace

extern "C" {

[[gnu::noinline]] std::uint64_t zsync_bench_sync_mutex(zsync::Io io, zsync::Mutex* m, std::uint64_t iters) {
    std::uint64_t ok = 0;
    for (std::uint64_t i = 0; i < iters; ++i) {
        ok += m->lock(io).has_value();
        ok += m->unlock(io).has_value();
    }
    return ok;
}

// The root task of mutex_pool (on a worker): the same loop, as a separate symbol so that callgrind
// collects only on the worker.
[[gnu::noinline]] std::uint64_t zsync_bench_sync_mutex_pool(zsync::Io io, zsync::Mutex* m, std::uint64_t iters) {
    std::uint64_t ok = 0;
    for (std::uint64_t i = 0; i < iters; ++i) {
        ok += m->lock(io).has_value();
        ok += m->unlock(io).has_value();
    }
    return ok;
}

[[gnu::noinline]] std::uint64_t zsync_bench_sync_std_mutex(std::mutex* m, std::uint64_t iters) {
    for (std::uint64_t i = 0; i < iters; ++i) {
        m->lock();
        m->unlock();
    }
    return 2 * iters;
}

// Root task of pingpong: starts pong, then `iters` round trips.
[[gnu::noinline]] std::uint64_t zsync_bench_sync_pingpong(zsync::Io io, zsync::Queue<int>* a, zsync::Queue<int>* b,
                                                          std::uint64_t iters, bool concurrent) {
    std::optional<zsync::Future<std::uint64_t>> f;
    if (concurrent) {
        auto r = io.concurrent(pong, a, b, iters);
        if (!r) return 0;
        f.emplace(std::move(*r));
    } else {
        f.emplace(io.async(pong, a, b, iters));
    }
    std::uint64_t ok = 0;
    for (std::uint64_t i = 0; i < iters; ++i) {
        if (!a->put(io, int(i))) break;
        auto v = b->get(io);
        if (!v || *v != int(i)) break;
        ++ok;
    }
    auto p = f->await(io);
    return p && *p == ok ? ok : 0;
}

[[gnu::noinline]] std::uint64_t zsync_bench_sync_pingpong_std(StdQueue* a, StdQueue* b, std::uint64_t iters) {
    std::thread t([&] {
        for (std::uint64_t i = 0; i < iters; ++i) b->put(a->get());
    });
    std::uint64_t ok = 0;
    for (std::uint64_t i = 0; i < iters; ++i) {
        a->put(int(i));
        ok += b->get() == int(i);
    }
    t.join();
    return ok;
}

}  // extern "C"

namespace {

struct Env {
    zsync::Io blocking;
    zsync::ThreadPoolIo* rt;
    unsigned workers;
    bool concurrent;
    std::uint64_t iters;     // mutex pairs
    std::uint64_t rt_iters;  // ping-pong round trips
};

// Runs one mode once; returns the number of pairs / round trips it made (0 and a message if wrong).
bool run_mode(const std::string& mode, const Env& e) {
    std::uint64_t got = 0, want = 0;
    if (mode == "mutex_blocking") {
        zsync::Mutex m;
        got = zsync_bench_sync_mutex(e.blocking, &m, e.iters);
        want = 2 * e.iters;
    } else if (mode == "mutex_pool") {
        zsync::Mutex m;
        auto r = e.rt->run(zsync_bench_sync_mutex_pool, &m, e.iters);
        got = r ? *r : 0;
        want = 2 * e.iters;
    } else if (mode == "std_mutex") {
        std::mutex m;
        got = zsync_bench_sync_std_mutex(&m, e.iters);
        want = 2 * e.iters;
    } else if (mode == "pingpong") {
        zsync::Queue<int> a(1), b(1);
        auto r = e.rt->run(zsync_bench_sync_pingpong, &a, &b, e.rt_iters, e.concurrent);
        got = r ? *r : 0;
        want = e.rt_iters;
    } else if (mode == "pingpong_std") {
        StdQueue a, b;
        got = zsync_bench_sync_pingpong_std(&a, &b, e.rt_iters);
        want = e.rt_iters;
    } else {
        std::fprintf(stderr, "unknown mode %s (mutex_blocking|mutex_pool|std_mutex|pingpong|pingpong_std|wall)\n", mode.c_str());
        std::exit(2);
    }
    if (got != want) {
        std::fprintf(stderr, "%s: %llu of %llu operations succeeded\n", mode.c_str(), (unsigned long long)got, (unsigned long long)want);
        return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    bench::Args args{argc, argv};
    const std::string mode(args.get("--mode", "wall"));
    Env e{};
    e.workers = unsigned(args.num("--workers", 1));
    e.iters = args.num("--iters", 10000000);
    e.rt_iters = args.num("--rt", 20000);
    const std::string spawn(args.get("--spawn", e.workers == 1 ? "concurrent" : "async"));
    if (spawn != "async" && spawn != "concurrent") { std::fprintf(stderr, "--spawn async|concurrent\n"); return 2; }
    e.concurrent = spawn == "concurrent";
    zsync::BlockingIo blocking;
    e.blocking = blocking.io();
    zsync::ThreadPoolIo rt({.workers = e.workers});
    e.rt = &rt;

    if (mode != "wall") {
        // One untimed call of the same kind first (threads started, lazy binding done).
        Env warm = e;
        warm.iters = e.iters < 100 ? e.iters : 100;
        warm.rt_iters = e.rt_iters < 100 ? e.rt_iters : 100;
        if (!run_mode(mode, warm) || !run_mode(mode, e)) return 1;
        std::printf("figure sync.%s.done 1 count workers=%u iters=%llu rt=%llu spawn=%s\n", mode.c_str(), e.workers,
                    (unsigned long long)e.iters, (unsigned long long)e.rt_iters, spawn.c_str());
        return 0;
    }

    const std::uint64_t runs = args.num("--runs", 7);
    const std::vector<std::string> modes = {"mutex_blocking", "mutex_pool", "std_mutex", "pingpong", "pingpong_std"};
    const std::size_t m = modes.size();
    std::vector<std::vector<double>> ns(m);
    std::vector<double> ratio_b, ratio_p, ratio_pp;
    for (auto& md : modes) if (!run_mode(md, e)) return 1;  // warm-up, untimed
    for (std::uint64_t r = 0; r < runs; ++r) {
        std::vector<double> t(m);
        for (std::size_t k = 0; k < m; ++k) {
            std::size_t i = (k + r) % m;
            double t0 = bench::now_ns();
            if (!run_mode(modes[i], e)) return 1;
            double t1 = bench::now_ns();
            t[i] = (t1 - t0) / double(modes[i].starts_with("pingpong") ? e.rt_iters : e.iters);
            ns[i].push_back(t[i]);
        }
        ratio_b.push_back(t[0] / t[2]);
        ratio_p.push_back(t[1] / t[2]);
        ratio_pp.push_back(t[3] / t[4]);
    }
    std::printf("config workers=%u iters=%llu rt=%llu runs=%llu spawn=%s\n", e.workers, (unsigned long long)e.iters,
                (unsigned long long)e.rt_iters, (unsigned long long)runs, spawn.c_str());
    const std::string w = "sync.w" + std::to_string(e.workers) + ".";
    auto put = [&](const char* name, const char* unit, const std::vector<double>& v) {
        bench::print_summary((w + name).c_str(), unit, v);
    };
    put("mutex.blocking.ns_per_pair", "ns", ns[0]);
    put("mutex.pool.ns_per_pair", "ns", ns[1]);
    put("mutex.std.ns_per_pair", "ns", ns[2]);
    put("mutex.blocking_over_std.ratio", "x", ratio_b);
    put("mutex.pool_over_std.ratio", "x", ratio_p);
    put("pingpong.zsync.ns_per_round_trip", "ns", ns[3]);
    put("pingpong.std.ns_per_round_trip", "ns", ns[4]);
    put("pingpong.zsync_over_std.ratio", "x", ratio_pp);
    return 0;
}
