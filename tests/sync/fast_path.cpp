// The uncontended paths make no futex call (counted through a wrapping Io table), and a cancellation or
// fault injected by FaultIo at a primitive's futex wait is reported as the primitive's own cancel point
// and leaves the primitive usable.
#include <catch2/catch.hpp>
#include "sync_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace zsync::test::sync;

namespace {
// An Io that forwards to `inner` and counts futex waits (Operations) and futex_wake calls.
struct CountingIo {
    Io inner;
    IoVTable table{};
    std::atomic<int> waits{0}, wakes{0};
    explicit CountingIo(Io in) : inner(in), table(*in.vtable) {
        table.operate = [](void* ctx, Operation& op) noexcept {
            auto* self = static_cast<CountingIo*>(ctx);
            if (op.code == Op::futex_wait) ++self->waits;
            self->inner.vtable->operate(self->inner.ctx, op);
        };
        table.futex_wake = [](void* ctx, const std::atomic<std::uint32_t>* w, std::uint32_t n) noexcept {
            auto* self = static_cast<CountingIo*>(ctx);
            ++self->wakes;
            self->inner.vtable->futex_wake(self->inner.ctx, w, n);
        };
    }
    Io io() noexcept { return Io{this, &table}; }
};
}  // namespace

TEMPLATE_LIST_TEST_CASE("sync: uncontended calls make no futex wait or wake", "[sync][fast]", Backends) {
    int waits = -1, wakes = -1;
    bool ok = false;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        CountingIo c(rt.io());
        Io io = c.io();
        Mutex m;
        Condition cv;
        Event e;
        Semaphore s;
        RwLock l;
        Queue<int> q(2);
        ok = true;
        for (int i = 0; i < 100; ++i) ok = ok && m.lock(io).has_value() && m.unlock(io).has_value();
        cv.signal(io);
        cv.broadcast(io);
        e.set(io);
        ok = ok && e.wait(io).has_value();
        s.post(io, 2);
        ok = ok && s.wait(io).has_value() && s.try_wait();
        ok = ok && l.lock(io).has_value() && l.unlock(io).has_value() && l.lock_shared(io).has_value() && l.unlock_shared(io).has_value();
        ok = ok && q.put(io, 1).has_value() && q.get(io).has_value();
        waits = c.waits.load();
        wakes = c.wakes.load();
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(ok);
    CHECK(waits == 0);
    CHECK(wakes == 0);
}

TEMPLATE_LIST_TEST_CASE("sync: a cancellation delivered at the futex wait names the primitive and leaves it usable", "[sync][cancel][faults]", Backends) {
    ErrInfo sem, ev, get, cond, timed;
    bool cond_held = false, usable = false;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        testing::FaultIo f(rt.io());
        Io io = f.io();
        Semaphore s;
        f.cancel_at(1);
        sem = info_of(s.wait(io));
        Event e;
        f.reset();
        f.cancel_at(1);
        ev = info_of(e.wait(io));
        Queue<int> q(1);
        f.reset();
        f.cancel_at(1);
        get = info_of(q.get(io));
        Mutex m;
        Condition c;
        (void)m.lock(io);
        f.reset();
        f.cancel_at(1);
        cond = info_of(c.wait(io, m));
        cond_held = m.is_locked();
        (void)m.unlock(io);
        f.reset();
        f.fail_at(1, Errc::timeout);
        timed = info_of(s.wait(io));
        f.reset();
        s.post(io, 1);
        e.set(io);
        usable = s.wait(io).has_value() && e.wait(io).has_value() && q.put(io, 5).has_value() && q.get(io).value_or(0) == 5;
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE_ZSYNC_ERROR(sem, Errc::canceled, Op::wait);
    REQUIRE_ZSYNC_ERROR(ev, Errc::canceled, Op::wait);
    REQUIRE_ZSYNC_ERROR(get, Errc::canceled, Op::queue_get);
    REQUIRE_ZSYNC_ERROR(cond, Errc::canceled, Op::wait);
    REQUIRE_ZSYNC_ERROR(timed, Errc::timeout, Op::wait);
    CHECK(cond_held);
    CHECK(usable);
}
