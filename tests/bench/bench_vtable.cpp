// One call through the Io table against a direct call of the same non-inlined function.
//
// Modes (each runs one measured loop of --iters calls):
//   table     io.vtable->operate(io.ctx, op), where io's table has trivial_operate in its operate slot
//   direct    trivial_operate(ctx, op): the same function, called directly
//   blocking  BlockingIo's operate with Op::nop through its table (absolute cost, for reference)
//   baseline  the loop with no call
//   wall      interleaves table / direct --runs times and prints median ns per call
// The callee lives in vtable_callee.cpp, another translation unit, and the Io is obtained from a function
// there and passed through volatile storage: the compiler cannot inline the callee or devirtualise the
// table call. Both forms call the same function with the same arguments, so (Ir(table) - Ir(direct)) /
// iters under callgrind is exactly what the table adds to a call.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>
#include "bench_common.hpp"
#include "leak_check.hpp"
import zsync;
#include "vtable_callee.hpp"

extern "C" {

[[gnu::noinline]] std::uint64_t zsync_bench_vtable_table(zsync::Io io, zsync::Operation& op, std::uint64_t iters) {
    for (std::uint64_t i = 0; i < iters; ++i) io.vtable->operate(io.ctx, op);
    return iters;
}

[[gnu::noinline]] std::uint64_t zsync_bench_vtable_direct(void* ctx, zsync::Operation& op, std::uint64_t iters) {
    for (std::uint64_t i = 0; i < iters; ++i) bench::trivial_operate(ctx, op);
    return iters;
}

[[gnu::noinline]] std::uint64_t zsync_bench_vtable_blocking(zsync::Io io, zsync::Operation& op, std::uint64_t iters) {
    std::uint64_t ok = 0;
    for (std::uint64_t i = 0; i < iters; ++i) {
        op.code = zsync::Op::nop;
        io.vtable->operate(io.ctx, op);
        ok += op.result.has_value();
    }
    return ok;
}

[[gnu::noinline]] std::uint64_t zsync_bench_vtable_baseline(void* ctx, zsync::Operation& op, std::uint64_t iters) {
    for (std::uint64_t i = 0; i < iters; ++i) bench::keep(ctx), bench::keep(&op);
    return iters;
}

}  // extern "C"

namespace {

// The Io as the measured code sees it: read back from volatile storage, so nothing about it is known.
zsync::Io opaque(zsync::Io io) {
    static void* volatile ctx;
    static const zsync::IoVTable* volatile vt;
    ctx = io.ctx;
    vt = io.vtable;
    return zsync::Io{ctx, vt};
}

struct Env {
    std::uint64_t counter = 0;
    zsync::Io table_io;
    zsync::Io blocking_io;
    zsync::Operation op = zsync::Operation::nop();
};

std::uint64_t run_mode(const std::string& mode, Env& e, std::uint64_t iters) {
    if (mode == "table") return zsync_bench_vtable_table(e.table_io, e.op, iters);
    if (mode == "direct") return zsync_bench_vtable_direct(e.table_io.ctx, e.op, iters);
    if (mode == "blocking") return zsync_bench_vtable_blocking(e.blocking_io, e.op, iters);
    if (mode == "baseline") return zsync_bench_vtable_baseline(e.table_io.ctx, e.op, iters);
    std::fprintf(stderr, "unknown mode %s (table|direct|blocking|baseline|wall)\n", mode.c_str());
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    bench::Args args{argc, argv};
    const std::string mode(args.get("--mode", "wall"));
    const std::uint64_t iters = args.num("--iters", 1000000);

    zsync::BlockingIo blocking;
    Env e;
    e.table_io = opaque(bench::trivial_io(&e.counter));
    e.blocking_io = opaque(blocking.io());

    if (mode != "wall") {
        long before = zsync::test::total_allocations.load();
        std::uint64_t n = run_mode(mode, e, iters);
        long allocs = zsync::test::total_allocations.load() - before;
        if (n != iters) { std::fprintf(stderr, "%s: %llu of %llu calls succeeded\n", mode.c_str(), (unsigned long long)n, (unsigned long long)iters); return 1; }
        if ((mode == "table" || mode == "direct") && e.counter != iters) { std::fprintf(stderr, "callee ran %llu times\n", (unsigned long long)e.counter); return 1; }
        std::printf("figure vtable.%s.allocations %ld count iters=%llu\n", mode.c_str(), allocs, (unsigned long long)iters);
        return 0;
    }

    const std::uint64_t runs = args.num("--runs", 7);
    const char* modes[] = {"direct", "table", "blocking"};
    std::vector<double> ns[3], diff;
    for (std::uint64_t r = 0; r < runs; ++r) {
        double t[3];
        for (int k = 0; k < 3; ++k) {
            int m = int((k + r) % 3);
            e.counter = 0;
            double t0 = bench::now_ns();
            std::uint64_t n = run_mode(modes[m], e, iters);
            double t1 = bench::now_ns();
            if (n != iters) { std::fprintf(stderr, "%s failed\n", modes[m]); return 1; }
            t[m] = (t1 - t0) / double(iters);
            ns[m].push_back(t[m]);
        }
        diff.push_back(t[1] - t[0]);
    }
    bench::print_summary("vtable.direct.ns_per_call", "ns", ns[0]);
    bench::print_summary("vtable.table.ns_per_call", "ns", ns[1]);
    bench::print_summary("vtable.blocking_nop.ns_per_call", "ns", ns[2]);
    bench::print_summary("vtable.table_minus_direct.ns_per_call", "ns", diff);
    return 0;
}
