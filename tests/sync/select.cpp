// Select<U>: the first finished task wins (with its index); the others are cancelled and drained, and
// every result that holds a resource is destroyed exactly once, including results that arrive after
// the winner. Also misuse errors and cancellation of the waiting task.
#include <catch2/catch.hpp>
#include "sync_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace zsync::test::sync;

namespace {
using Res = std::unique_ptr<Counted>;

// Produces its resource at once.
Result<Res> quick(Io, int v) { return std::make_unique<Counted>(v); }

// Produces its resource after `ms` even when cancelled (the sleep is shielded): a result that
// arrives late and must still be released.
Result<Res> stubborn(Io io, int v, int ms) {
    {
        CancelShield shield(io);
        (void)io.sleep(std::chrono::milliseconds(ms));
    }
    return std::make_unique<Counted>(v);
}

// Waits (cancellably) for a long time, then produces a resource.
Result<Res> slow(Io io, int v) {
    if (Result<void> r = io.sleep(std::chrono::seconds(20)); !r) return r.error();
    return std::make_unique<Counted>(v);
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("select: misuse — wait with no task, too many tasks, use after wait", "[sync][select]", Backends) {
    ErrInfo none, first, too_many, again, async_after, zero;
    int live = -1;
    auto leak = measure_sync<TestType>([&] {
        Counted::reset();
        TestType rt;
        Io io = rt.io();
        {
            Select<Res> empty(0);  // capacity 0: every start is refused
            zero = info_of(empty.async(io, quick, 0));
        }
        Select<Res> sel(1);
        none = info_of(sel.wait(io));
        first = info_of(sel.async(io, quick, 1));
        too_many = info_of(sel.async(io, quick, 2));
        auto w = sel.wait(io);
        again = info_of(sel.wait(io));
        async_after = info_of(sel.async(io, quick, 3));
        w = Error(Errc::ok, Op::none);  // release the winner's resource
        live = Counted::live();
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(live == 0);
    REQUIRE_ZSYNC_ERROR(none, Errc::invalid_argument, Op::select_wait);
    if constexpr (is_pool<TestType>) {
        REQUIRE_ZSYNC_ERROR(zero, Errc::invalid_argument, Op::select_async);
        CHECK_FALSE(first.failed);
        REQUIRE_ZSYNC_ERROR(too_many, Errc::invalid_argument, Op::select_async);
        REQUIRE_ZSYNC_ERROR(async_after, Errc::closed, Op::select_async);
    } else {
        // No concurrency, no race: every start is refused, never run inline (nothing was started, so
        // the first wait, too, finds no task).
        REQUIRE_ZSYNC_ERROR(first, Errc::concurrency_unavailable, Op::select_async);
        REQUIRE_ZSYNC_ERROR(too_many, Errc::concurrency_unavailable, Op::select_async);
    }
    REQUIRE_ZSYNC_ERROR(again, is_pool<TestType> ? Errc::closed : Errc::invalid_argument, Op::select_wait);
}

TEMPLATE_LIST_TEST_CASE("select: the first finished task wins, every other result is destroyed", "[sync][select]", Backends) {
    bool got = false;
    std::size_t index = 99;
    int value = -1, live_after = -1, constructed = 0, destroyed = 0;
    ErrInfo start_err;
    auto leak = measure_sync<TestType>([&] {
        Counted::reset();
        TestType rt;
        Io io = rt.io();
        {
            // Three long waits started first and one quick task last: the quick one wins, whatever
            // the start order says.
            Select<Res> sel(4);
            start_err = info_of(sel.async(io, slow, 0));
            (void)sel.async(io, stubborn, 1, 100);  // its result arrives after the winner
            (void)sel.async(io, slow, 2);
            (void)sel.async(io, quick, 3);
            auto w = sel.wait(io);
            got = w && w->result && *w->result;
            if (got) {
                index = w->index;
                value = (*w->result)->value;
            }
        }
        live_after = Counted::live();
        constructed = Counted::constructed.load();
        destroyed = Counted::destroyed.load();
    });
    REQUIRE_NO_LEAK(leak);
    if constexpr (is_pool<TestType>) {
        REQUIRE(got);
        CHECK(index == 3);
        CHECK(value == 3);
        CHECK(constructed == 2);  // the winner and the stubborn late result
    } else {
        // BlockingIo would have run `slow` inline for 20 s and called it the winner: refused instead.
        REQUIRE_ZSYNC_ERROR(start_err, Errc::concurrency_unavailable, Op::select_async);
        CHECK_FALSE(got);
        CHECK(constructed == 0);
    }
    CHECK(live_after == 0);
    CHECK(destroyed == constructed);
}

TEMPLATE_LIST_TEST_CASE("select: many results that all finish are drained and destroyed, cancel and the destructor do the same", "[sync][select]", Backends) {
    constexpr int n = 16;
    int live_after = -1, constructed = 0;
    bool ok = false;
    auto leak = measure_sync<TestType>([&] {
        Counted::reset();
        TestType rt;
        Io io = rt.io();
        {
            Select<Res> sel(n);
            for (int i = 0; i < n; ++i) (void)sel.async(io, quick, i);
            auto w = sel.wait(io);
            ok = w && w->index < std::size_t(n);
        }
        {
            Select<Res> sel(n);
            for (int i = 0; i < n; ++i) (void)sel.async(io, stubborn, i, 1);
            sel.cancel(io);
            sel.cancel(io);  // idempotent
        }
        {
            Select<Res> sel(n);  // destroyed with tasks outstanding
            for (int i = 0; i < n; ++i) (void)sel.async(io, stubborn, i, 1);
        }
        live_after = Counted::live();
        constructed = Counted::constructed.load();
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(live_after == 0);
    if constexpr (is_pool<TestType>) {
        CHECK(ok);
        CHECK(constructed == 3 * n);
    } else {
        CHECK_FALSE(ok);  // nothing could be started
        CHECK(constructed == 0);
    }
}

TEMPLATE_LIST_TEST_CASE("select: cancelling the waiting task cancels the select's tasks too", "[sync][select][cancel]", Backends) {
    ErrInfo err;
    int live_after = -1;
    auto leak = measure_sync<TestType>([&] {
        Counted::reset();
        TestType rt;
        Side<TestType, int> owner(rt, [](Io tio) -> Result<int> {
            Select<Res> sel(2);
            (void)sel.async(tio, slow, 0);
            (void)sel.async(tio, slow, 1);
            auto w = sel.wait(tio);
            if (!w) return w.error();
            return int(w->index);
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        err = info_of(owner.cancel());
        live_after = Counted::live();
    });
    REQUIRE_NO_LEAK(leak);
    if constexpr (is_pool<TestType>) {
        REQUIRE_ZSYNC_ERROR(err, Errc::canceled, Op::select_wait);
    } else {
        // Nothing could be started, so wait reports that before the cancellation arrives.
        REQUIRE_ZSYNC_ERROR(err, Errc::invalid_argument, Op::select_wait);
    }
    CHECK(live_after == 0);
}
