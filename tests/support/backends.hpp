// The one list of backends the conformance suite runs on, and what each one promises.
//
// A new backend adds itself to `Backends` and specialises BackendTraits; every TEMPLATE_LIST_TEST_CASE
// of tests/conformance/ then runs on it (Catch names the instances "<case> - Backends - <index>").
// Include after the standard headers; needs `import zsync;` (conformance.hpp does both).
#pragma once

namespace zsync::test {

// ThreadPoolIo with a fixed number of workers (the suite runs it with 1, 2 and 8).
template <unsigned N>
struct PoolOf : zsync::ThreadPoolIo {
    PoolOf() : zsync::ThreadPoolIo(Options{.workers = N}) {}
};

// GreenThreadsIo with a fixed number of workers (1 and 2; the reactor is chosen by ZSYNC_REACTOR, and
// CTest runs the green instances again with ZSYNC_REACTOR=epoll: tests/conformance/CMakeLists.txt).
template <unsigned N>
struct GreenOf : zsync::GreenThreadsIo {
    GreenOf() : zsync::GreenThreadsIo(Options{.workers = N}) {}
};

using Backends = std::tuple<zsync::BlockingIo, PoolOf<1>, PoolOf<2>, PoolOf<8>, GreenOf<1>, GreenOf<2>>;

template <class B>
struct BackendTraits;

template <>
struct BackendTraits<zsync::BlockingIo> {
    // io.concurrent / Group::concurrent can give a task its own unit of concurrency.
    static constexpr bool concurrent_available = false;
    // io.async always runs the task before returning (the Future is ready at once).
    static constexpr bool async_runs_inline = true;
    // Io::batch performs the operations in order, so after a cancelled one none of the rest ran.
    static constexpr bool batch_in_order = true;
    // Requests cancellation of the task currently running on the backend (from any thread): the hook
    // through which tests cancel a task blocked in a real syscall.
    static void request_cancel(zsync::BlockingIo& rt) noexcept { rt.request_cancel(); }
};

template <unsigned N>
struct BackendTraits<PoolOf<N>> {
    static constexpr bool concurrent_available = true;
    static constexpr bool async_runs_inline = false;
    static constexpr bool batch_in_order = true;
    // Cancels the pool's foreground: the test thread's own calls through the Io (and what it awaits).
    static void request_cancel(PoolOf<N>& rt) noexcept { rt.request_cancel(); }
};

template <unsigned N>
struct BackendTraits<GreenOf<N>> {
    static constexpr bool concurrent_available = true;
    static constexpr bool async_runs_inline = false;
    // In a fiber a batch is submitted at once and completes in any order; outside fibers (the test
    // thread) it runs in order, but the suite must hold for both.
    static constexpr bool batch_in_order = false;
    // Cancels the foreground: the test thread's own calls through the Io (and what it awaits).
    static void request_cancel(GreenOf<N>& rt) noexcept { rt.request_cancel(); }
};

}  // namespace zsync::test
