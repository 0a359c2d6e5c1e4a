// Queue<T>: FIFO order with a move-only T, the try_ calls, timeouts, close (with blocked getters and
// putters), multi-producer multi-consumer transfer, cancellation of blocked get and put without losing
// an item or a wake-up, and destruction of items left in the queue.
#include <catch2/catch.hpp>
#include "sync_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace zsync::test::sync;

TEMPLATE_LIST_TEST_CASE("queue: FIFO with a move-only type, try_put full and try_get empty are would_block, timeouts", "[sync][queue]", Backends) {
    bool order_ok = true, kept_on_failure = false;
    ErrInfo full, empty, put_timed, get_timed;
    std::size_t cap = 0;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        Queue<std::unique_ptr<int>> q(3);
        cap = q.capacity();
        for (int i = 0; i < 3; ++i) order_ok = order_ok && q.put(io, std::make_unique<int>(i)).has_value();
        auto extra = std::make_unique<int>(99);
        full = info_of(q.try_put(io, std::move(extra)));
        put_timed = info_of(q.put_until(io, std::move(extra), Deadline::after(std::chrono::milliseconds(30))));
        kept_on_failure = extra && *extra == 99;  // a failed put leaves the value with the caller
        for (int i = 0; i < 3; ++i) {
            auto r = q.get(io);
            order_ok = order_ok && r && **r == i;
        }
        empty = info_of(q.try_get(io));
        get_timed = info_of(q.get_until(io, Deadline::after(std::chrono::milliseconds(30))));
        order_ok = order_ok && q.try_put(io, std::make_unique<int>(7)).has_value();
        auto t = q.try_get(io);
        order_ok = order_ok && t && **t == 7 && q.size(io) == 0;
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(cap == 3);
    CHECK(order_ok);
    CHECK(kept_on_failure);
    REQUIRE_ZSYNC_ERROR(full, Errc::would_block, Op::queue_put);
    REQUIRE_ZSYNC_ERROR(put_timed, Errc::timeout, Op::queue_put);
    REQUIRE_ZSYNC_ERROR(empty, Errc::would_block, Op::queue_get);
    REQUIRE_ZSYNC_ERROR(get_timed, Errc::timeout, Op::queue_get);
}

TEMPLATE_LIST_TEST_CASE("queue: close: put fails with closed, get drains then reports closed, items left are destroyed", "[sync][queue][close]", Backends) {
    ErrInfo put_after, get_after, try_after;
    bool drained = false;
    int live_after = -1;
    auto leak = measure_sync<TestType>([&] {
        Counted::reset();
        TestType rt;
        Io io = rt.io();
        {
            Queue<Counted> q(4);
            (void)q.put(io, Counted(1));
            (void)q.put(io, Counted(2));
            q.close(io);
            q.close(io);  // idempotent
            put_after = info_of(q.put(io, Counted(3)));
            auto a = q.get(io);
            drained = a && a->value == 1;
            get_after = info_of(q.try_get(io));  // one left: try_get still hands it out
            drained = drained && !get_after.failed;
            get_after = info_of(q.get(io));
            try_after = info_of(q.try_get(io));
        }
        {
            Queue<Counted> q(4);  // destroyed with items inside
            (void)q.put(io, Counted(4));
            (void)q.put(io, Counted(5));
        }
        live_after = Counted::live();
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(drained);
    CHECK(live_after == 0);
    REQUIRE_ZSYNC_ERROR(put_after, Errc::closed, Op::queue_put);
    REQUIRE_ZSYNC_ERROR(get_after, Errc::closed, Op::queue_get);
    REQUIRE_ZSYNC_ERROR(try_after, Errc::closed, Op::queue_get);
}

TEMPLATE_LIST_TEST_CASE("queue: close wakes every blocked getter and putter", "[sync][queue][close]", Backends) {
    constexpr int n = 3;
    int getters_closed = 0, putters_closed = 0;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        Queue<int> empty_q(1), full_q(1);
        (void)full_q.put(io, 0);
        std::atomic<int> started{0};
        std::vector<std::unique_ptr<Side<TestType, int>>> getters;
        std::vector<std::unique_ptr<Side<TestType, void>>> putters;
        for (int i = 0; i < n; ++i) {
            getters.push_back(std::make_unique<Side<TestType, int>>(rt, [&](Io tio) { ++started; return empty_q.get(tio); }));
            putters.push_back(std::make_unique<Side<TestType, void>>(rt, [&](Io tio) { ++started; return full_q.put(tio, 1); }));
        }
        while (started.load() < 2 * n) std::this_thread::yield();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        empty_q.close(io);
        full_q.close(io);
        for (auto& g : getters) {
            auto r = g->join();
            if (!r && r.error() == Error(Errc::closed, Op::queue_get)) ++getters_closed;
        }
        for (auto& p : putters) {
            auto r = p->join();
            if (!r && r.error() == Error(Errc::closed, Op::queue_put)) ++putters_closed;
        }
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(getters_closed == n);
    CHECK(putters_closed == n);
}

TEMPLATE_LIST_TEST_CASE("queue: 4 producers and 4 consumers move every item exactly once", "[sync][queue][stress]", Backends) {
    constexpr int producers = 4, consumers = 4;
    const int per = 5000 / scale_div;
    long sum = 0, count = 0;
    bool all_ok = true;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        Queue<std::unique_ptr<long>> q(8);
        std::atomic<long> got_sum{0}, got_count{0};
        std::vector<std::unique_ptr<Side<TestType, void>>> prods, cons;
        for (int c = 0; c < consumers; ++c)
            cons.push_back(std::make_unique<Side<TestType, void>>(rt, [&](Io tio) -> Result<void> {
                for (;;) {
                    auto r = q.get(tio);
                    if (!r) return r.error().code() == Errc::closed ? Result<void>() : Result<void>(r.error());
                    got_sum += **r;
                    ++got_count;
                }
            }));
        for (int p = 0; p < producers; ++p)
            prods.push_back(std::make_unique<Side<TestType, void>>(rt, [&, p](Io tio) -> Result<void> {
                for (int i = 0; i < per; ++i)
                    if (Result<void> r = q.put(tio, std::make_unique<long>(long(p) * per + i)); !r) return r;
                return {};
            }));
        for (auto& s : prods) all_ok = all_ok && s->join().has_value();
        q.close(io);
        for (auto& s : cons) all_ok = all_ok && s->join().has_value();
        sum = got_sum.load();
        count = got_count.load();
    });
    REQUIRE_NO_LEAK(leak);
    const long total = long(producers) * per;
    CHECK(all_ok);
    CHECK(count == total);
    CHECK(sum == total * (total - 1) / 2);
}

TEMPLATE_LIST_TEST_CASE("queue: a cancelled getter does not swallow an item or the wake meant for another getter", "[sync][queue][cancel]", Backends) {
    constexpr int rounds = 6;
    int a_canceled = 0, a_got = 0, b_got = 0, bad = 0;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        for (int round = 0; round < rounds; ++round) {
            Queue<int> q(2);
            std::atomic<int> started{0};
            auto getter = [&](Io tio) { ++started; return q.get(tio); };
            Side<TestType, int> a(rt, getter);
            Side<TestType, int> b(rt, getter);
            while (started.load() < 2) std::this_thread::yield();
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            (void)q.put(io, 7);
            Result<int> ra = a.cancel();
            if (ra && *ra == 7) {
                ++a_got;
                (void)q.put(io, 7);  // a took it: b gets another
            } else if (!ra && ra.error() == Error(Errc::canceled, Op::queue_get)) {
                ++a_canceled;
            } else {
                ++bad;
            }
            Result<int> rb = b.join();
            if (rb && *rb == 7) ++b_got;
            if (q.size(io) != 0) ++bad;
        }
    });
    REQUIRE_NO_LEAK(leak);
    CHECK(bad == 0);
    CHECK(a_canceled + a_got == rounds);
    CHECK(b_got == rounds);
}

TEMPLATE_LIST_TEST_CASE("queue: a putter blocked on a full queue is cancelled and keeps its value", "[sync][queue][cancel]", Backends) {
    ErrInfo err;
    bool still_full = false, value_kept = false;
    auto leak = measure_sync<TestType>([&] {
        TestType rt;
        Io io = rt.io();
        Queue<std::unique_ptr<int>> q(1);
        (void)q.put(io, std::make_unique<int>(1));
        std::atomic<bool> started{false}, kept{false};
        Side<TestType, void> p(rt, [&](Io tio) -> Result<void> {
            auto v = std::make_unique<int>(2);
            started.store(true);
            Result<void> r = q.put(tio, std::move(v));
            kept.store(v && *v == 2);
            return r;
        });
        wait_flag(started);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        err = info_of(p.cancel());
        value_kept = kept.load();
        auto r = q.get(io);
        still_full = r && **r == 1 && q.size(io) == 0;
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE_ZSYNC_ERROR(err, Errc::canceled, Op::queue_put);
    CHECK(value_kept);
    CHECK(still_full);
}
