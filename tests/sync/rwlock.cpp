// RwLock: try variants and misuse, timeouts, readers together and writers alone under contention, and
// cancellation of a blocked writer.
#include <catch2/catch.hpp>
#include "sync_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace zsync::test::sync;

TEMPLATE_LIST_TEST_CASE("rwlock: try variants, shared holders together, misuse is not_locked, timeouts", "[sync][rwlock]", Backends) {
    bool steps = true;
    ErrInfo unlock_free, unlock_shared_free, write_timed, read_timed;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        RwLock l;
        unlock_free = info_of(l.unlock(io));
        unlock_shared_free = info_of(l.unlock_shared(io));
        steps = steps && l.try_lock_shared() && l.try_lock_shared() && !l.try_lock();
        // a writer waiting for readers: on BlockingIo only the deadline ends it (documented rule)
        write_timed = info_of(l.lock_until(io, Deadline::after(std::chrono::milliseconds(30))));
        steps = steps && l.unlock_shared(io).has_value() && l.unlock_shared(io).has_value();
        steps = steps && l.lock(io).has_value() && !l.try_lock_shared() && !l.try_lock();
        read_timed = info_of(l.lock_shared_until(io, Deadline::after(std::chrono::milliseconds(30))));
        steps = steps && !l.unlock_shared(io).has_value() && l.unlock(io).has_value();
        steps = steps && l.lock_shared(io).has_value() && l.unlock_shared(io).has_value() && l.try_lock() && l.unlock(io).has_value();
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(steps);
    REQUIRE_ZSYNC_ERROR(unlock_free, Errc::not_locked, Op::unlock);
    REQUIRE_ZSYNC_ERROR(unlock_shared_free, Errc::not_locked, Op::unlock);
    REQUIRE_ZSYNC_ERROR(write_timed, Errc::timeout, Op::lock);
    REQUIRE_ZSYNC_ERROR(read_timed, Errc::timeout, Op::lock);
}

TEMPLATE_LIST_TEST_CASE("rwlock: writers exclude everyone, readers see consistent data under contention", "[sync][rwlock][stress]", Backends) {
    constexpr int writers = 3, readers = 3;
    const int iters = 3000 / scale_div;
    long a = 0, b = 0;  // a writer keeps a == b; readers check it
    int torn = 0;
    bool all_ok = true;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        RwLock l;
        std::atomic<int> torn_seen{0}, inside_writers{0}, overlap{0};
        std::vector<std::unique_ptr<Side<TestType, void>>> sides;
        for (int w = 0; w < writers; ++w)
            sides.push_back(std::make_unique<Side<TestType, void>>(rt, [&](Io tio) -> Result<void> {
                for (int i = 0; i < iters; ++i) {
                    if (Result<void> r = l.lock(tio); !r) return r;
                    if (inside_writers.fetch_add(1) != 0) ++overlap;
                    ++a;
                    ++b;
                    inside_writers.fetch_sub(1);
                    if (Result<void> r = l.unlock(tio); !r) return r;
                }
                return {};
            }));
        for (int rd = 0; rd < readers; ++rd)
            sides.push_back(std::make_unique<Side<TestType, void>>(rt, [&](Io tio) -> Result<void> {
                for (int i = 0; i < iters; ++i) {
                    if (Result<void> r = l.lock_shared(tio); !r) return r;
                    if (a != b || inside_writers.load() != 0) ++torn_seen;
                    if (Result<void> r = l.unlock_shared(tio); !r) return r;
                }
                return {};
            }));
        for (auto& s : sides) all_ok = all_ok && s->join().has_value();
        torn = torn_seen.load() + overlap.load();
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(all_ok);
    CHECK(torn == 0);
    CHECK(a == long(writers) * iters);
    CHECK(b == a);
}

TEMPLATE_LIST_TEST_CASE("rwlock: a writer blocked behind a reader is cancelled, the lock stays usable", "[sync][rwlock][cancel]", Backends) {
    ErrInfo err;
    bool after_ok = false;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        RwLock l;
        (void)l.lock_shared(io);
        std::atomic<bool> started{false};
        Side<TestType, void> w(rt, [&](Io tio) -> Result<void> {
            started.store(true);
            if (Result<void> r = l.lock(tio); !r) return r;
            return l.unlock(tio);
        });
        wait_flag(started);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        err = info_of(w.cancel());
        after_ok = l.unlock_shared(io).has_value() && l.try_lock() && l.unlock(io).has_value();
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE_ZSYNC_ERROR(err, Errc::canceled, Op::lock);
    CHECK(after_ok);
}
