// Fiber switch and creation costs, same run, interleaved (docs/benchmarks.md "Fibers"):
//   switch round trip A->B->A: zsync's ctx::jump (whichever ZSYNC_CONTEXT built) vs Boost.Context
//   fiber::resume vs swapcontext (for the record);
//   make + first jump + finish of a Fiber on a warm pooled stack vs a Boost.Context fiber with
//   pooled_fixedsize_stack; mmap calls per fiber once the pool is warm (the pool's own count).
//
//   resident memory per idle fiber with --idle N fibers alive (default 30,000: each stack is two mappings
//   and Linux's default vm.max_map_count of 65530 stops near 32,000; raise it to try 100,000).
//
//   bench_fiber_switch [--runs N] [--iters N] [--idle N]
// Without Boost.Context (ZSYNC_BENCH_HAVE_BOOST=0) the Boost figures are left out, and it says so.
#include <ucontext.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "bench_common.hpp"
#include "fiber/context.hpp"
#include "fiber/fiber.hpp"

#if ZSYNC_BENCH_HAVE_BOOST
#include <boost/context/fiber.hpp>
#include <boost/context/pooled_fixedsize_stack.hpp>
#endif

namespace zc = zsync::rt::ctx;
namespace zf = zsync::rt::fiber;

namespace {

// --- zsync raw switch ---
void* g_main = nullptr;
void ping_entry(zc::Transfer t) {
    for (;;) t = zc::jump(t.from, nullptr);
}

extern "C" __attribute__((noinline)) void zsync_bench_zsync_roundtrips(void*& side, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) side = zc::jump(side, nullptr).from;
}

// --- swapcontext ---
ucontext_t g_uc_main, g_uc_side;
void uc_side() {
    for (;;) swapcontext(&g_uc_side, &g_uc_main);
}
extern "C" __attribute__((noinline)) void zsync_bench_ucontext_roundtrips(std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) swapcontext(&g_uc_main, &g_uc_side);
}

#if ZSYNC_BENCH_HAVE_BOOST
namespace bctx = boost::context;
extern "C" __attribute__((noinline)) void zsync_bench_boost_roundtrips(bctx::fiber& f, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) f = std::move(f).resume();
}
#endif

}  // namespace

int main(int argc, char** argv) {
    bench::Args args{argc, argv};
    const int runs = static_cast<int>(args.num("--runs", 11));
    const std::uint64_t iters = args.num("--iters", 1000000);
    std::printf("# context switch: %s; %d runs x %llu round trips, interleaved\n", zc::backend_name, runs,
                static_cast<unsigned long long>(iters));

    static std::byte stack[64 * 1024];
    void* side = zc::make<&ping_entry>(stack + sizeof stack, sizeof stack);
    side = zc::jump(side, nullptr).from;  // started; waits in its loop

    static char uc_stack[64 * 1024];
    getcontext(&g_uc_side);
    g_uc_side.uc_stack.ss_sp = uc_stack;
    g_uc_side.uc_stack.ss_size = sizeof uc_stack;
    g_uc_side.uc_link = nullptr;
    makecontext(&g_uc_side, uc_side, 0);

#if ZSYNC_BENCH_HAVE_BOOST
    bctx::fiber bf{[](bctx::fiber&& main) {
        for (;;) main = std::move(main).resume();
        return std::move(main);
    }};
    bf = std::move(bf).resume();
#else
    std::printf("# Boost.Context not found: its figures are left out\n");
#endif

    std::vector<double> ours, uc, boost;
    for (int r = 0; r < runs; ++r) {
        double t0 = bench::now_ns();
        zsync_bench_zsync_roundtrips(side, iters);
        double t1 = bench::now_ns();
        zsync_bench_ucontext_roundtrips(iters);
        double t2 = bench::now_ns();
        ours.push_back((t1 - t0) / double(iters));
        uc.push_back((t2 - t1) / double(iters));
#if ZSYNC_BENCH_HAVE_BOOST
        double t3 = bench::now_ns();
        zsync_bench_boost_roundtrips(bf, iters);
        double t4 = bench::now_ns();
        boost.push_back((t4 - t3) / double(iters));
#endif
    }
    bench::print_summary("fiber.switch.roundtrip.zsync", "ns", ours);
    bench::print_summary("fiber.switch.roundtrip.swapcontext", "ns", uc);
#if ZSYNC_BENCH_HAVE_BOOST
    bench::print_summary("fiber.switch.roundtrip.boost", "ns", boost);
    std::printf("figure fiber.switch.zsync_over_boost.ratio %.3f\n",
                bench::summarize(ours).median / bench::summarize(boost).median);
#endif
    std::printf("figure fiber.switch.zsync_over_swapcontext.ratio %.3f\n",
                bench::summarize(ours).median / bench::summarize(uc).median);

    // --- creation on a warm pool ---
    const std::uint64_t makes = iters / 10 ? iters / 10 : 1;
    auto pool = zf::StackPool::make(zf::StackConfig{.stack_bytes = 64 * 1024, .max_cached = 16});
    if (!pool) bench::die("stack pool");
    {
        auto warm = zf::Fiber::create(**pool, [](zf::Fiber&, void*) {}, nullptr, "warm");
        if (!warm) bench::die("fiber");
    }
    const std::uint64_t maps_before = (*pool)->maps();
    std::vector<double> mk_ours, mk_boost;
#if ZSYNC_BENCH_HAVE_BOOST
    bctx::pooled_fixedsize_stack bpool(64 * 1024);
    { bctx::fiber w{std::allocator_arg, bpool, [](bctx::fiber&& m) { return std::move(m); }}; w = std::move(w).resume(); }
#endif
    for (int r = 0; r < runs; ++r) {
        double t0 = bench::now_ns();
        for (std::uint64_t i = 0; i < makes; ++i) {
            auto f = zf::Fiber::create(**pool, [](zf::Fiber&, void*) {}, nullptr, "bench");
            (*f)->resume();
        }
        double t1 = bench::now_ns();
        mk_ours.push_back((t1 - t0) / double(makes));
#if ZSYNC_BENCH_HAVE_BOOST
        double t2 = bench::now_ns();
        for (std::uint64_t i = 0; i < makes; ++i) {
            bctx::fiber f{std::allocator_arg, bpool, [](bctx::fiber&& m) { return std::move(m); }};
            f = std::move(f).resume();
        }
        double t3 = bench::now_ns();
        mk_boost.push_back((t3 - t2) / double(makes));
#endif
    }
    bench::print_summary("fiber.create_run_finish.zsync", "ns", mk_ours);
#if ZSYNC_BENCH_HAVE_BOOST
    bench::print_summary("fiber.create_run_finish.boost", "ns", mk_boost);
    std::printf("figure fiber.create.zsync_over_boost.ratio %.3f\n",
                bench::summarize(mk_ours).median / bench::summarize(mk_boost).median);
#endif
    std::printf("figure fiber.create.mmaps_per_fiber_warm %.6f\n",
                double((*pool)->maps() - maps_before) / double(makes * runs));

    // --- resident memory of idle fibers ---
    const std::uint64_t idle = args.num("--idle", 30000);
    auto rss_kib = [] {
        long size = 0, res = 0;
        if (FILE* f = std::fopen("/proc/self/statm", "r")) {
            if (std::fscanf(f, "%ld %ld", &size, &res) != 2) res = 0;
            std::fclose(f);
        }
        return double(res) * double(::sysconf(_SC_PAGESIZE)) / 1024.0;
    };
    auto ipool = zf::StackPool::make(zf::StackConfig{.stack_bytes = 64 * 1024, .max_cached = 0});
    if (!ipool) bench::die("stack pool");
    std::vector<zf::FiberPtr> alive;
    alive.reserve(idle);
    const double before = rss_kib();
    for (std::uint64_t i = 0; i < idle; ++i) {
        auto f = zf::Fiber::create(**ipool, [](zf::Fiber& self, void*) { self.suspend(); }, nullptr, "idle");
        if (!f) {
            std::printf("# idle fibers: creation %llu failed: %s (errno %d)\n", static_cast<unsigned long long>(i),
                        f.error().what, f.error().code);
            break;
        }
        (*f)->resume();
        alive.push_back(std::move(*f));
    }
    const double after = rss_kib();
    std::printf("figure fiber.idle.count %zu\n", alive.size());
    if (!alive.empty())
        std::printf("figure fiber.idle.resident_kib_per_fiber %.3f KiB stack=64KiB\n",
                    (after - before) / double(alive.size()));
    return 0;
}
