// fib(n) on oneTBB with one task per call of n >= 2: the peer of the zsync fib recursions in bench_pool
// (ThreadPoolIo) and bench_green (GreenThreadsIo). Only when built with TBB (ZSYNC_BENCH_HAVE_TBB).
#pragma once
#if ZSYNC_BENCH_HAVE_TBB
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_group.h>

namespace bench {

// `task_group g; g.run(fib(n-1)); fib(n-2) inline; g.wait()`, as the zsync versions spawn and await.
inline int fib_tbb(int n) {
    if (n < 2) return n;
    int a;
    tbb::task_group g;
    g.run([&a, n] { a = fib_tbb(n - 1); });
    int b = fib_tbb(n - 2);
    g.wait();
    return a + b;
}

}  // namespace bench
#endif
