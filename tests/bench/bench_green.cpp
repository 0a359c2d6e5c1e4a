// GreenThreadsIo vs Boost.Fiber, same run: (1) yield through the scheduler (two fibers yielding in
// turn; ns per yield) and (2) spawn + await of a no-op (ns per pair), on 1 and 2 workers. Medians of
// interleaved runs with min-max; ratios are zsync / Boost.Fiber (lower is better).
//   bench_green [--runs N] [--iters N]
#include <boost/fiber/all.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
import zsync;

namespace {
using Clock = std::chrono::steady_clock;
double ns_per(Clock::time_point t0, long n) {
    return std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / double(n);
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
    return ns_per(t0, 2 * iters);
}

double green_spawn(unsigned workers, long iters) {
    zsync::GreenThreadsIo rt(zsync::GreenThreadsIo::Options{.workers = workers});
    double ns = 0;
    (void)rt.run([&](zsync::Io io) {
        for (long i = 0; i < 1000; ++i) (void)io.async([](zsync::Io) {}).await(io);  // warm the stack pool
        auto t0 = Clock::now();
        for (long i = 0; i < iters; ++i) (void)io.async([](zsync::Io) {}).await(io);
        ns = ns_per(t0, iters);
    });
    return ns;
}

double boost_yield(long iters) {
    auto t0 = Clock::now();
    boost::fibers::fiber a([iters] { for (long i = 0; i < iters; ++i) boost::this_fiber::yield(); });
    boost::fibers::fiber b([iters] { for (long i = 0; i < iters; ++i) boost::this_fiber::yield(); });
    a.join();
    b.join();
    return ns_per(t0, 2 * iters);
}

double boost_spawn(long iters) {
    for (long i = 0; i < 1000; ++i) boost::fibers::fiber([] {}).join();
    auto t0 = Clock::now();
    for (long i = 0; i < iters; ++i) boost::fibers::fiber([] {}).join();
    return ns_per(t0, iters);
}

struct Stat {
    std::vector<double> v;
    double med() { std::sort(v.begin(), v.end()); return v[v.size() / 2]; }
    double lo() { return *std::min_element(v.begin(), v.end()); }
    double hi() { return *std::max_element(v.begin(), v.end()); }
};
}  // namespace

int main(int argc, char** argv) {
    int runs = 5;
    long iters = 200'000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--iters")) iters = std::atol(argv[i + 1]);
    }
    Stat gy1, gy2, by, gs1, gs2, bs;
    for (int r = 0; r < runs; ++r) {
        gy1.v.push_back(green_yield(1, iters));
        by.v.push_back(boost_yield(iters));
        gy2.v.push_back(green_yield(2, iters));
        gs1.v.push_back(green_spawn(1, iters / 4));
        bs.v.push_back(boost_spawn(iters / 4));
        gs2.v.push_back(green_spawn(2, iters / 4));
    }
    std::printf("yield.green_1w.ns %.1f (%.1f-%.1f)\n", gy1.med(), gy1.lo(), gy1.hi());
    std::printf("yield.green_2w.ns %.1f (%.1f-%.1f)\n", gy2.med(), gy2.lo(), gy2.hi());
    std::printf("yield.boost_fiber.ns %.1f (%.1f-%.1f)\n", by.med(), by.lo(), by.hi());
    std::printf("yield.green_1w_over_boost.ratio %.2f\n", gy1.med() / by.med());
    std::printf("spawn_await.green_1w.ns %.1f (%.1f-%.1f)\n", gs1.med(), gs1.lo(), gs1.hi());
    std::printf("spawn_await.green_2w.ns %.1f (%.1f-%.1f)\n", gs2.med(), gs2.lo(), gs2.hi());
    std::printf("spawn_await.boost_fiber.ns %.1f (%.1f-%.1f)\n", bs.med(), bs.lo(), bs.hi());
    std::printf("spawn_await.green_1w_over_boost.ratio %.2f\n", gs1.med() / bs.med());
    return 0;
}
