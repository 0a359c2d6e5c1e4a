// Task core: async/await, concurrent, Future rules (await twice, cancel, wrong Io, drop), Group.
#include <catch2/catch.hpp>
#include "conformance.hpp"

using namespace zsync;
using namespace zsync::test;

namespace {
int add(Io, int a, int b) { return a + b; }
std::size_t count_chars(Io io, std::string s) {
    // Uses its Io (a cancel point) so the task really is a task of that backend.
    if (!io.check_cancel()) return 0;
    return s.size();
}
Result<int> fails_with_timeout(Io) { return Error(Errc::timeout, Op::sleep); }
std::unique_ptr<int> make_unique_int(Io, int v) { return std::make_unique<int>(v); }
Counted make_counted(Io, int v) { return Counted(v); }
void touch(Io, int* x) { *x += 1; }
int throws_runtime_error(Io) { throw std::runtime_error("boom"); }
}  // namespace

TEMPLATE_LIST_TEST_CASE("async/await: value, void, move-only, Io + std::string", "[tasks]", Backends) {
    int sum = 0, touched = 0, unique_value = 0;
    std::size_t chars = 0;
    bool sum_ok = false, void_ok = false, unique_ok = false, chars_ok = false, err_passthrough = false;
    ErrInfo err;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        auto f1 = io.async(add, 2, 40);
        auto r1 = f1.await(io);
        sum_ok = r1.has_value();
        if (r1) sum = *r1;

        auto f2 = io.async(touch, &touched);
        void_ok = f2.await(io).has_value();

        auto f3 = io.async(make_unique_int, 7);
        auto r3 = f3.await(io);
        unique_ok = r3 && *r3 != nullptr;
        if (unique_ok) unique_value = **r3;

        std::string long_text(100, 'x');  // beyond SSO: the argument owns heap memory
        auto f4 = io.async(count_chars, long_text);
        auto r4 = f4.await(io);
        chars_ok = r4.has_value();
        if (r4) chars = *r4;

        auto f5 = io.async(fails_with_timeout);
        auto r5 = f5.await(io);
        err = info_of(r5);
        err_passthrough = err.failed && err.error == Error(Errc::timeout, Op::sleep);
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE(sum_ok);
    CHECK(sum == 42);
    CHECK(void_ok);
    CHECK(touched == 1);
    REQUIRE(unique_ok);
    CHECK(unique_value == 7);
    REQUIRE(chars_ok);
    CHECK(chars == 100);
    CHECK(err_passthrough);
}

TEMPLATE_LIST_TEST_CASE("async: lambda with captures and run() entry", "[tasks]", Backends) {
    int got = 0;
    bool ok = false;
    auto leak = measure<TestType>([&] {
        TestType rt;
        auto r = rt.run([](Io io, int base) -> Result<int> {
            int local = 5;
            auto f = io.async([&local](Io, int x) { return local * x; }, base);
            auto v = f.await(io);
            if (!v) return v.error();
            return *v + 1;
        }, 8);
        ok = r.has_value();
        if (r) got = *r;
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE(ok);
    CHECK(got == 41);
}

TEMPLATE_LIST_TEST_CASE("async: a task that throws reports task_threw", "[tasks]", Backends) {
    ErrInfo err;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        auto f = io.async(throws_runtime_error);
        err = info_of(f.await(io));
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE_ZSYNC_ERROR(err, Errc::task_threw, Op::async);
}

TEMPLATE_LIST_TEST_CASE("concurrent: unavailable or runs, arguments are not lost", "[tasks]", Backends) {
    Counted::reset();
    bool failed = false, ran = false, fallback_ok = false, lvalue_intact = false;
    ErrInfo err;
    int value = 0, group_value = 0;
    ErrInfo group_err;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        Counted arg(21);
        std::string name(64, 'n');
        auto task = [](Io, Counted c, std::string s) { return c.value * 2 + static_cast<int>(s.size()) - 64; };
        auto fut = io.concurrent(task, arg, name);
        if (!fut) {
            failed = true;
            err = info_of(fut);
            // The caller's arguments are untouched, so it can fall back to async with them.
            lvalue_intact = arg.value == 21 && name.size() == 64;
            auto f = io.async(task, arg, name);
            auto r = f.await(io);
            fallback_ok = r.has_value();
            if (r) value = *r;
        } else {
            auto r = fut->await(io);
            ran = r.has_value();
            if (r) value = *r;
        }
        Group g;
        auto gr = g.concurrent(io, [&group_value](Io, Counted c) { group_value = c.value; }, arg);
        group_err = info_of(gr);
        (void)g.await(io);
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(Counted::live() == 0);
    if constexpr (!BackendTraits<TestType>::concurrent_available) {
        REQUIRE(failed);
        REQUIRE_ZSYNC_ERROR(err, Errc::concurrency_unavailable, Op::concurrent);
        CHECK(lvalue_intact);
        CHECK(fallback_ok);
        CHECK(value == 42);
        REQUIRE_ZSYNC_ERROR(group_err, Errc::concurrency_unavailable, Op::group_concurrent);
        CHECK(group_value == 0);  // the task never ran
    } else {
        CHECK(ran);
        CHECK(value == 42);
        CHECK_FALSE(group_err.failed);
        CHECK(group_value == 21);
    }
}

TEMPLATE_LIST_TEST_CASE("Future: await twice, cancel after await, cancel of a finished task", "[tasks]", Backends) {
    ErrInfo second_await, cancel_after_await, cancel_twice;
    bool first_ok = false, cancel_result_ok = false, valid_after = true, pending_after = true;
    int cancel_value = 0;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        auto f = io.async(add, 1, 2);
        auto r1 = f.await(io);
        first_ok = r1 && *r1 == 3;
        second_await = info_of(f.await(io));
        cancel_after_await = info_of(f.cancel(io));
        valid_after = f.valid();
        pending_after = f.pending();

        auto g = io.async(make_unique_int, 9);
        if constexpr (BackendTraits<TestType>::async_runs_inline) (void)0;
        // Cancel returns what the task returned: a resource produced must still be released by us.
        auto c = g.cancel(io);
        cancel_result_ok = c.has_value() && *c;
        if (cancel_result_ok) cancel_value = **c;
        cancel_twice = info_of(g.cancel(io));
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(first_ok);
    REQUIRE_ZSYNC_ERROR(second_await, Errc::already_awaited, Op::await);
    REQUIRE_ZSYNC_ERROR(cancel_after_await, Errc::already_awaited, Op::cancel);
    CHECK_FALSE(valid_after);
    CHECK_FALSE(pending_after);
    REQUIRE(cancel_result_ok);
    CHECK(cancel_value == 9);
    REQUIRE_ZSYNC_ERROR(cancel_twice, Errc::already_awaited, Op::cancel);
}

TEMPLATE_LIST_TEST_CASE("Future: dropped, moved and reassigned while holding a result frees it once", "[tasks]", Backends) {
    Counted::reset();
    int live_while_held = -1, live_after_drop = -1, live_after_reassign = -1;
    int moved_value = 0;
    bool moved_ok = false, source_empty = false;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        {
            auto f = io.async(make_counted, 1);
            live_while_held = Counted::live();
        }
        live_after_drop = Counted::live();
        auto a = io.async(make_counted, 2);
        auto b = std::move(a);
        source_empty = !a.valid();
        auto r = b.await(io);
        moved_ok = r.has_value();
        if (r) moved_value = r->value;
        auto c = io.async(make_counted, 3);
        c = io.async(make_counted, 4);  // the result of the first task is destroyed here
        live_after_reassign = Counted::live();
    });
    REQUIRE_NO_LEAK(leak);
    if constexpr (BackendTraits<TestType>::async_runs_inline) CHECK(live_while_held == 1);
    CHECK(live_after_drop == 0);
    CHECK(source_empty);
    REQUIRE(moved_ok);
    CHECK(moved_value == 2);
    // r's value (2) and c's result (4): inline it exists already; on a pool it may not have run yet.
    if constexpr (BackendTraits<TestType>::async_runs_inline) CHECK(live_after_reassign == 2);
    else CHECK((live_after_reassign == 1 || live_after_reassign == 2));
    CHECK(Counted::live() == 0);
}

TEMPLATE_LIST_TEST_CASE("Future: used with another Io reports wrong_io and keeps the result", "[tasks]", Backends) {
    ErrInfo wrong_await, wrong_cancel;
    bool right_ok = false;
    int value = 0;
    auto leak = measure<TestType>([&] {
        TestType rt, other;
        Io io = rt.io();
        auto f = io.async(add, 20, 3);
        wrong_await = info_of(f.await(other.io()));
        wrong_cancel = info_of(f.cancel(other.io()));
        auto r = f.await(io);
        right_ok = r.has_value();
        if (r) value = *r;
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE_ZSYNC_ERROR(wrong_await, Errc::wrong_io, Op::await);
    REQUIRE_ZSYNC_ERROR(wrong_cancel, Errc::wrong_io, Op::cancel);
    REQUIRE(right_ok);
    CHECK(value == 23);
}

// The rule on every backend (docs/architecture.md): a request to a task is forwarded to the task it
// awaits (or runs inline), which gets it once, and stays pending for the task itself, which gets it
// once at its own next cancel point.
TEMPLATE_LIST_TEST_CASE("awaiting propagates cancellation into a child task", "[tasks][cancel]", Backends) {
    ErrInfo child, parent_next;
    bool parent_after_ok = false;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        BackendTraits<TestType>::request_cancel(rt);
        auto f = io.async([](Io io) -> Result<int> {
            if (auto c = io.check_cancel(); !c) return c.error();
            return 1;
        });
        child = info_of(f.await(io));
        parent_next = info_of(io.check_cancel());       // still pending for the parent
        parent_after_ok = io.check_cancel().has_value();  // and delivered only once
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE_ZSYNC_ERROR(child, Errc::canceled, Op::check_cancel);
    REQUIRE_ZSYNC_ERROR(parent_next, Errc::canceled, Op::check_cancel);
    CHECK(parent_after_ok);
}

TEMPLATE_LIST_TEST_CASE("Group: async, await, cancel, results destroyed exactly once", "[tasks][group]", Backends) {
    Counted::reset();
    std::atomic<int> ran{0};  // the group's tasks may run in parallel
    int constructed = 0, destroyed = 0;
    bool spawn_ok = true, await_ok = false, pending_after = true, second_await_ok = false;
    ErrInfo wrong;
    auto leak = measure<TestType>([&] {
        TestType rt, other;
        Io io = rt.io();
        {
            Group g;
            for (int i = 0; i < 5; ++i)
                spawn_ok = spawn_ok && g.async(io, [&ran](Io, int v) { ++ran; return Counted(v); }, i).has_value();
            spawn_ok = spawn_ok && g.async(io, [&ran](Io, Counted c) { ran += c.value; return std::make_unique<int>(1); }, Counted(10)).has_value();
            await_ok = g.await(io).has_value();
            pending_after = g.pending();
            second_await_ok = g.await(io).has_value();
            g.cancel(io);  // idempotent on an empty group
            (void)g.async(io, [&ran](Io) { ++ran; });
            if (g.pending()) wrong = info_of(g.async(other.io(), [](Io) {}));
            g.cancel(io);
        }
        constructed = Counted::constructed;
        destroyed = Counted::destroyed;
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(spawn_ok);
    CHECK(await_ok);
    CHECK_FALSE(pending_after);
    CHECK(second_await_ok);
    CHECK(ran == 5 + 10 + 1);
    CHECK(constructed == destroyed);
    CHECK(constructed > 0);
    if (wrong.failed) REQUIRE_ZSYNC_ERROR(wrong, Errc::wrong_io, Op::group_async);
}

TEMPLATE_LIST_TEST_CASE("Group: a request to the owner reaches every task once, and the await reports it", "[tasks][group][cancel]", Backends) {
    std::atomic<int> canceled_tasks{0}, ok_tasks{0};  // the group's tasks may run in parallel
    bool await_ok = false, after_ok = false;
    ErrInfo await_err;
    auto leak = measure<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        Group g;
        BackendTraits<TestType>::request_cancel(rt);
        for (int i = 0; i < 3; ++i)
            (void)g.async(io, [&](Io io) { if (io.check_cancel()) ++ok_tasks; else ++canceled_tasks; });
        auto r = g.await(io);
        await_ok = r.has_value();
        await_err = info_of(r);
        after_ok = io.check_cancel().has_value();
    });
    REQUIRE_NO_LEAK(leak);
    // Tasks started while the owner has a pending request start with one (inline or queued alike);
    // the group await is the owner's cancel point and consumes the owner's request.
    CHECK(canceled_tasks == 3);
    CHECK(ok_tasks == 0);
    CHECK_FALSE(await_ok);
    REQUIRE_ZSYNC_ERROR(await_err, Errc::canceled, Op::group_await);
    CHECK(after_ok);
}
