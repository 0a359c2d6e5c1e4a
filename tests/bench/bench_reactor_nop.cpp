// The cost of one nop Operation from submission to completion on each reactor (docs/benchmarks.md,
// "Reactor"): submit, run the driver until the completion ran, repeat. On io_uring that is a real
// IORING_OP_NOP through the ring (one io_uring_enter per round); on epoll a nop makes no syscall of its
// own, but the turn that runs its completion still polls the kernel once (epoll_pwait2 with a zero
// timeout: a turn always collects readiness). Also a batch of 64 nops per turn (the per-Operation cost
// when submissions batch).
// Interleaved runs, medians with min–max.
//
//   bench_reactor_nop [--iters 200000] [--runs 7]
#include <cstdio>
#include <vector>
#include "bench_common.hpp"
import zsync;

namespace zr = zsync::reactor;

namespace {
int g_done = 0;
void on_done(std::uintptr_t, zsync::Operation&) noexcept { ++g_done; }

double ns_per_op(zr::Driver& d, std::uint64_t iters, unsigned batch) {
    std::vector<zsync::Operation> ops(batch);
    double t0 = bench::now_ns();
    for (std::uint64_t i = 0; i < iters; i += batch) {
        g_done = 0;
        for (auto& op : ops) {
            op = zsync::Operation::nop();
            d.submit(op, {&on_done, 0});
        }
        while (g_done < static_cast<int>(batch)) d.run_until(zsync::Deadline::never());
    }
    return (bench::now_ns() - t0) / double(iters);
}
}  // namespace

int main(int argc, char** argv) {
    bench::Args args{argc, argv};
    std::uint64_t iters = args.num("--iters", 200000);
    unsigned runs = static_cast<unsigned>(args.num("--runs", 7));
    zr::Driver uring({.kind = zr::Kind::uring});
    zr::Driver epoll({.kind = zr::Kind::epoll});
    std::printf("config iters=%llu runs=%u uring=%s\n", (unsigned long long)iters, runs,
                uring.kind() == zr::Kind::uring ? "yes" : "no (fell back to epoll)");
    for (unsigned batch : {1u, 64u}) {
        std::vector<double> u, e, ratio;
        ns_per_op(uring, iters / 10, batch);  // warm-up
        ns_per_op(epoll, iters / 10, batch);
        for (unsigned r = 0; r < runs; ++r) {
            double a, b;
            if (r % 2) { b = ns_per_op(epoll, iters, batch); a = ns_per_op(uring, iters, batch); }
            else { a = ns_per_op(uring, iters, batch); b = ns_per_op(epoll, iters, batch); }
            u.push_back(a);
            e.push_back(b);
            ratio.push_back(a / b);
        }
        auto su = bench::summarize(u), se = bench::summarize(e), sr = bench::summarize(ratio);
        std::printf("figure reactor.nop.b%u.uring.ns_per_op %.1f ns min=%.1f max=%.1f runs=%u\n", batch, su.median, su.min, su.max, runs);
        std::printf("figure reactor.nop.b%u.epoll.ns_per_op %.1f ns min=%.1f max=%.1f runs=%u\n", batch, se.median, se.min, se.max, runs);
        std::printf("figure reactor.nop.b%u.uring_over_epoll.ratio %.2f x min=%.2f max=%.2f runs=%u\n", batch, sr.median, sr.min, sr.max, runs);
    }
    return 0;
}
