// Cancellation: delivery once at the next cancel point, protection, recancel, close, and requests that
// interrupt a real blocked syscall from another thread.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <unistd.h>
#include "conformance.hpp"

using namespace zsync;
using namespace zsync::test;

TEMPLATE_LIST_TEST_CASE("cancel: delivered once at the next cancel point", "[cancel]", Backends) {
    bool before_ok = false, second_ok = false, yield_ok = false;
    ErrInfo first, op_canceled;
    bool op_next_ok = false;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        before_ok = io.check_cancel().has_value();
        BackendTraits<TestType>::request_cancel(rt);
        first = info_of(io.check_cancel());
        second_ok = io.check_cancel().has_value();
        yield_ok = io.yield().has_value();
        // An Operation is a cancel point too, reporting its own op.
        BackendTraits<TestType>::request_cancel(rt);
        op_canceled = info_of(io.sleep(Duration(0)));
        op_next_ok = io.sleep(Duration(0)).has_value();
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(before_ok);
    REQUIRE_ZSYNC_ERROR(first, Errc::canceled, Op::check_cancel);
    CHECK(first.error.canceled());
    CHECK(second_ok);
    CHECK(yield_ok);
    REQUIRE_ZSYNC_ERROR(op_canceled, Errc::canceled, Op::sleep);
    CHECK(op_next_ok);
}

TEMPLATE_LIST_TEST_CASE("cancel: CancelShield and swap_cancel_protection hold a request until unblocked", "[cancel]", Backends) {
    bool shielded_check = false, shielded_yield = false, shielded_sleep = false, nested_ok = false;
    CancelProtection initial = CancelProtection::blocked, inside = CancelProtection::unblocked, restored = CancelProtection::blocked;
    ErrInfo after_shield, after_swap;
    bool after_twice = false;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        initial = io.swap_cancel_protection(CancelProtection::unblocked);
        BackendTraits<TestType>::request_cancel(rt);
        {
            CancelShield shield(io);
            shielded_check = io.check_cancel().has_value();
            shielded_yield = io.yield().has_value();
            shielded_sleep = io.sleep(Duration(0)).has_value();
            {
                CancelShield nested(io);
                nested_ok = io.check_cancel().has_value();
            }
            // Still blocked after the nested shield restored the outer state.
            inside = io.swap_cancel_protection(CancelProtection::blocked);
            nested_ok = nested_ok && io.check_cancel().has_value();
        }
        after_shield = info_of(io.check_cancel());
        after_twice = io.check_cancel().has_value();

        BackendTraits<TestType>::request_cancel(rt);
        (void)io.swap_cancel_protection(CancelProtection::blocked);
        bool held = io.check_cancel().has_value();
        restored = io.swap_cancel_protection(CancelProtection::unblocked);
        after_swap = info_of(io.check_cancel());
        nested_ok = nested_ok && held;
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(initial == CancelProtection::unblocked);
    CHECK(shielded_check);
    CHECK(shielded_yield);
    CHECK(shielded_sleep);
    CHECK(nested_ok);
    CHECK(inside == CancelProtection::blocked);
    CHECK(restored == CancelProtection::blocked);
    REQUIRE_ZSYNC_ERROR(after_shield, Errc::canceled, Op::check_cancel);
    CHECK(after_twice);
    REQUIRE_ZSYNC_ERROR(after_swap, Errc::canceled, Op::check_cancel);
}

TEMPLATE_LIST_TEST_CASE("cancel: recancel re-arms a delivered request, without one it is a no-op", "[cancel]", Backends) {
    bool noop_ok = false, third_ok = false;
    ErrInfo first, again, via_op;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        io.recancel();  // nothing delivered yet
        noop_ok = io.check_cancel().has_value();
        BackendTraits<TestType>::request_cancel(rt);
        first = info_of(io.check_cancel());
        io.recancel();
        again = info_of(io.check_cancel());
        io.recancel();
        via_op = info_of(io.yield());
        third_ok = io.check_cancel().has_value();
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(noop_ok);
    REQUIRE_ZSYNC_ERROR(first, Errc::canceled, Op::check_cancel);
    REQUIRE_ZSYNC_ERROR(again, Errc::canceled, Op::check_cancel);
    REQUIRE_ZSYNC_ERROR(via_op, Errc::canceled, Op::yield);
    CHECK(third_ok);
}

TEMPLATE_LIST_TEST_CASE("cancel: close is not a cancel point and always releases the handle", "[cancel][files]", Backends) {
    TempDir dir;
    std::string path = dir / "f";
    bool open_ok = false, close_ok = false, fd_released = false;
    ErrInfo after;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        auto f = File::create(io, path);
        open_ok = f.has_value();
        if (!open_ok) return;
        Handle h = f->handle;
        BackendTraits<TestType>::request_cancel(rt);
        close_ok = f->close(io).has_value();
        fd_released = ::fcntl(h, F_GETFD) == -1 && errno == EBADF;
        after = info_of(io.check_cancel());
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE(open_ok);
    CHECK(close_ok);
    CHECK(fd_released);
    REQUIRE_ZSYNC_ERROR(after, Errc::canceled, Op::check_cancel);
}

namespace {
// Runs `blocked(io)` (which blocks in a real syscall) while another thread requests cancellation after
// 50 ms. Reports the call's error, how long it took, and whether the next cancel point succeeds.
template <class B, class Call>
void cancel_blocked_call(Call blocked, ErrInfo& err, double& elapsed_ms, bool& next_ok) {
    B rt;
    Io io = rt.io();
    std::thread canceller([&rt] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        BackendTraits<B>::request_cancel(rt);
    });
    auto t0 = SteadyClock::now();
    err = info_of(blocked(io));
    elapsed_ms = ms_since(t0);
    canceller.join();
    next_ok = io.check_cancel().has_value();
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("cancel: a read blocked on an empty pipe is interrupted from another thread", "[cancel][blocking]", Backends) {
    int fds[2] = {-1, -1};
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    ErrInfo err;
    double ms = 0;
    bool next_ok = false;
    std::size_t buffered = 1;
    auto leak = measure<TestType>([&] {
        cancel_blocked_call<TestType>([&](Io io) {
            std::byte buf[16];
            return File{fds[0]}.read(io, buf);
        }, err, ms, next_ok);
        buffered = 0;
    });
    ::close(fds[0]);
    ::close(fds[1]);
    REQUIRE_NO_LEAK(leak);
    REQUIRE_ZSYNC_ERROR(err, Errc::canceled, Op::read);
    CHECK(ms < 5000);
    CHECK(next_ok);
    CHECK(buffered == 0);
}

TEMPLATE_LIST_TEST_CASE("cancel: a long sleep is interrupted from another thread", "[cancel][blocking]", Backends) {
    ErrInfo err;
    double ms = 0;
    bool next_ok = false;
    auto leak = measure<TestType>([&] {
        cancel_blocked_call<TestType>([](Io io) { return io.sleep(std::chrono::seconds(60)); }, err, ms, next_ok);
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE_ZSYNC_ERROR(err, Errc::canceled, Op::sleep);
    CHECK(ms < 5000);
    CHECK(next_ok);
}

TEMPLATE_LIST_TEST_CASE("cancel: futex_wait on a word nobody changes is interrupted from another thread", "[cancel][blocking][futex]", Backends) {
    std::atomic<std::uint32_t> word{0};
    ErrInfo err;
    double ms = 0;
    bool next_ok = false;
    auto leak = measure<TestType>([&] {
        cancel_blocked_call<TestType>([&word](Io io) -> Result<void> {
            // Spurious wakes are allowed: keep waiting until an error (the deadline bounds a broken run).
            Deadline d = Deadline::after(std::chrono::seconds(30));
            for (;;) {
                auto r = io.futex_wait(word, 0, d);
                if (!r) return r;
            }
        }, err, ms, next_ok);
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE_ZSYNC_ERROR(err, Errc::canceled, Op::futex_wait);
    CHECK(ms < 5000);
    CHECK(next_ok);
}

TEMPLATE_LIST_TEST_CASE("cancel: a shielded sleep is not interrupted, the request waits for the shield", "[cancel][blocking]", Backends) {
    bool sleep_ok = false;
    double ms = 0;
    ErrInfo after;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        std::thread canceller([&rt] {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            BackendTraits<TestType>::request_cancel(rt);
        });
        auto t0 = SteadyClock::now();
        {
            CancelShield shield(io);
            sleep_ok = io.sleep(std::chrono::milliseconds(200)).has_value();
        }
        ms = ms_since(t0);
        canceller.join();
        after = info_of(io.check_cancel());
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(sleep_ok);
    CHECK(ms >= 190);
    REQUIRE_ZSYNC_ERROR(after, Errc::canceled, Op::check_cancel);
}

TEMPLATE_LIST_TEST_CASE("cancel: Io::batch reports canceled for the interrupted op and those after it", "[cancel][batch]", Backends) {
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    bool first_ok = false, close_ran = false;
    ErrInfo blocked, later_write, later_yield;
    double ms = 0;
    int extra_fd = ::dup(in[0]);
    REQUIRE(extra_fd >= 0);
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        std::thread canceller([&rt] {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            BackendTraits<TestType>::request_cancel(rt);
        });
        std::byte buf[8];
        static const char msg[] = "late";
        Operation ops[5] = {
            Operation::yield(),
            Operation::read(in[0], buf),
            Operation::write(out[1], bytes(msg)),
            Operation::yield(),
            Operation::close(extra_fd),
        };
        auto t0 = SteadyClock::now();
        io.batch(ops);
        ms = ms_since(t0);
        canceller.join();
        first_ok = ops[0].result.has_value();
        blocked = info_of(ops[1].result);
        later_write = info_of(ops[2].result);
        later_yield = info_of(ops[3].result);
        close_ran = ops[4].result.has_value();
    });
    bool extra_closed = ::fcntl(extra_fd, F_GETFD) == -1;
    // Nothing reached the output pipe when the write after the cancelled read was skipped.
    ::fcntl(out[0], F_SETFL, O_NONBLOCK);
    char leftover[8];
    bool out_empty = ::read(out[0], leftover, sizeof leftover) == -1 && errno == EAGAIN;
    ::close(in[0]); ::close(in[1]); ::close(out[0]); ::close(out[1]);
    // The leak check sees the batch's close as a released fd.
    CHECK(leak.before.fds == leak.after.fds + 1);
    CHECK(leak.before.allocations == leak.after.allocations);
    CHECK(first_ok);
    REQUIRE_ZSYNC_ERROR(blocked, Errc::canceled, Op::read);
    CHECK(ms < 5000);
    if constexpr (BackendTraits<TestType>::batch_in_order) {
        REQUIRE_ZSYNC_ERROR(later_write, Errc::canceled, Op::write);
        REQUIRE_ZSYNC_ERROR(later_yield, Errc::canceled, Op::yield);
        CHECK(out_empty);
    }
    CHECK(close_ran);  // close is not a cancel point, even in a cancelled batch
    CHECK(extra_closed);
}

TEMPLATE_LIST_TEST_CASE("deadlines: a read waiting for its deadline is cancelled, not timed out", "[deadline][cancel]", Backends) {
    int fds[2] = {-1, -1};
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    ErrInfo err;
    double ms = 0;
    bool next_ok = false;
    auto leak = measure<TestType>([&] {
        cancel_blocked_call<TestType>([&](Io io) {
            std::byte buf[16];
            return File{fds[0]}.read(io, buf, Deadline::after(std::chrono::seconds(30)));
        }, err, ms, next_ok);
    });
    ::close(fds[0]);
    ::close(fds[1]);
    REQUIRE_NO_LEAK(leak);
    REQUIRE_ZSYNC_ERROR(err, Errc::canceled, Op::read);
    CHECK(ms < 5000);
    CHECK(next_ok);
}
