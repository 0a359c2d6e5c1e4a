// Op::poll (StreamSocket::wait_ready) the same on every backend: readable once data is there, writable
// at once, Errc::timeout at a deadline, Errc::canceled when cancelled while it waits, EBADF for a bad
// handle. Each case runs on the caller's thread and inside a task (on GreenThreadsIo a fiber, so the
// worker's reactor serves it; on ThreadPoolIo a worker thread).
#include <catch2/catch.hpp>
#include <sys/socket.h>
#include <unistd.h>
#include "conformance.hpp"
#include "socket_pair.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace std::chrono_literals;

namespace {
// The events as a number, or the error: what a task hands back (no allocation).
Result<std::uint32_t> wait_for(Io io, Handle fd, PollEvents ev, Deadline d) {
    auto r = StreamSocket{fd}.wait_ready(io, ev, d);
    if (!r) return r.error();
    return static_cast<std::uint32_t>(*r);
}

constexpr std::uint32_t bits(PollEvents e) { return static_cast<std::uint32_t>(e); }
}  // namespace

TEMPLATE_LIST_TEST_CASE("poll: writable at once, readable after a write, on the caller and in a task", "[poll]", Backends) {
    SocketPair sp;
    Result<std::uint32_t> writable{0u}, readable{0u}, task_writable{0u}, task_readable{0u}, waited{0u};
    char got = 0;
    bool wrote = false;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        writable = wait_for(io, sp.a, PollEvents::writable, Deadline::after(5s));
        task_writable = io.async(wait_for, sp.a, PollEvents::writable, Deadline::after(5s)).await(io);
        wrote = ::write(sp.a, "z", 1) == 1;
        readable = wait_for(io, sp.b, PollEvents::readable, Deadline::after(5s));
        task_readable = io.async(wait_for, sp.b, PollEvents::readable | PollEvents::writable, Deadline::after(5s)).await(io);
        (void)::read(sp.b, &got, 1);  // poll left the byte there
        // A task that waits for data written while it waits (where a task can run beside the caller).
        if constexpr (BackendTraits<TestType>::concurrent_available) {
            auto f = io.concurrent(wait_for, sp.b, PollEvents::readable, Deadline::after(5s));
            if (!f) { waited = f.error(); return; }
            std::this_thread::sleep_for(30ms);
            (void)::write(sp.a, "w", 1);
            waited = f->await(io);
        } else {
            (void)::write(sp.a, "w", 1);
            waited = wait_for(io, sp.b, PollEvents::readable, Deadline::after(5s));
        }
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(wrote);
    REQUIRE(writable);
    CHECK(*writable == bits(PollEvents::writable));
    REQUIRE(task_writable);
    CHECK(*task_writable == bits(PollEvents::writable));
    REQUIRE(readable);
    CHECK(*readable == bits(PollEvents::readable));
    REQUIRE(task_readable);
    CHECK(*task_readable == bits(PollEvents::readable | PollEvents::writable));
    CHECK(got == 'z');
    REQUIRE(waited);
    CHECK(*waited == bits(PollEvents::readable));
}

TEMPLATE_LIST_TEST_CASE("poll: a deadline gives timeout, a bad handle EBADF, a closed socket Errc::closed", "[poll][deadline]", Backends) {
    SocketPair sp;
    ErrInfo timed, task_timed, past, bad, closed;
    double ms = 0;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        auto t0 = SteadyClock::now();
        timed = info_of(wait_for(io, sp.b, PollEvents::readable, Deadline::after(30ms)));
        ms = ms_since(t0);
        task_timed = info_of(io.async(wait_for, sp.b, PollEvents::readable, Deadline::after(20ms)).await(io));
        past = info_of(wait_for(io, sp.b, PollEvents::readable, Deadline::after(-1s)));
        Operation op = Operation::poll(-1, PollEvents::readable, Deadline::after(5s));
        bad = info_of(io.operate(op));
        closed = info_of(StreamSocket{}.wait_ready(io, PollEvents::readable));
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE_ZSYNC_ERROR(timed, Errc::timeout, Op::poll);
    CHECK(ms >= 29);
    REQUIRE_ZSYNC_ERROR(task_timed, Errc::timeout, Op::poll);
    REQUIRE_ZSYNC_ERROR(past, Errc::timeout, Op::poll);
    REQUIRE_OS_ERROR(bad, std::errc::bad_file_descriptor, Op::poll);
    REQUIRE_ZSYNC_ERROR(closed, Errc::closed, Op::poll);
}

TEMPLATE_LIST_TEST_CASE("poll: a wait with no deadline is interrupted by cancellation", "[poll][cancel]", Backends) {
    SocketPair sp;
    ErrInfo fg, task;
    double fg_ms = 0, task_ms = 0;
    bool next_ok = false;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        // The caller's own wait, cancelled from another thread.
        std::thread canceller([&rt] {
            std::this_thread::sleep_for(50ms);
            BackendTraits<TestType>::request_cancel(rt);
        });
        auto t0 = SteadyClock::now();
        fg = info_of(wait_for(io, sp.b, PollEvents::readable, Deadline::never()));
        fg_ms = ms_since(t0);
        canceller.join();
        next_ok = io.check_cancel().has_value();
        // A task's wait, cancelled through its Future (where a task can run beside the caller).
        if constexpr (BackendTraits<TestType>::concurrent_available) {
            auto f = io.concurrent(wait_for, sp.b, PollEvents::readable, Deadline::never());
            if (!f) { task = info_of(f); return; }
            std::this_thread::sleep_for(30ms);
            auto t1 = SteadyClock::now();
            task = info_of(f->cancel(io));
            task_ms = ms_since(t1);
        }
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE_ZSYNC_ERROR(fg, Errc::canceled, Op::poll);
    CHECK(fg_ms >= 40);
    CHECK(fg_ms < 5000);
    CHECK(next_ok);
    if constexpr (BackendTraits<TestType>::concurrent_available) {
        REQUIRE_ZSYNC_ERROR(task, Errc::canceled, Op::poll);
        CHECK(task_ms < 5000);
    }
}
