// Cancelling a task blocked in a syscall (pipe read, accept, sleep, futex wait, poll) through Future::cancel
// from the task that spawned it: the request reaches the syscall promptly (the SIGURG protocol of
// runtime/detail/cancel_state.hpp), is delivered as Errc::canceled exactly once, and the next cancel
// point succeeds. The loops cancel after random 0-2 ms delays so that the request races the task's
// entry into the syscall (the window where a signal can be lost).
#include <catch2/catch.hpp>
#include "pool_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace zsync::test::pool;

namespace {

enum class Kind { read, accept, sleep, futex, poll };

const char* kind_name(Kind k) {
    switch (k) {
    case Kind::read: return "read";
    case Kind::accept: return "accept";
    case Kind::sleep: return "sleep";
    case Kind::poll: return "poll";
    default: return "futex";
    }
}
Op kind_op(Kind k) {
    switch (k) {
    case Kind::read: return Op::read;
    case Kind::accept: return Op::accept;
    case Kind::sleep: return Op::sleep;
    case Kind::poll: return Op::poll;
    default: return Op::futex_wait;
    }
}

// What the blocked task saw: its blocking call's error, and whether the next cancel point succeeded.
struct Outcome {
    bool failed = false;
    Errc code = Errc::ok;
    Op op = Op::none;
    bool second_ok = false;
};

Outcome blocked_task(Io io, Kind kind, int fd, std::atomic<std::uint32_t>* word, std::atomic<bool>* entered) {
    entered->store(true);
    Outcome o;
    auto note = [&](const Error& e) { o.failed = true; o.code = e.code(); o.op = e.op(); };
    switch (kind) {
    case Kind::read: {
        std::byte b[8];
        auto r = File{fd}.read(io, b);  // nobody writes: only cancellation ends it
        if (!r) note(r.error());
        break;
    }
    case Kind::accept: {
        Operation op = Operation::accept(fd);  // nobody connects
        auto r = io.operate(op);
        if (!r) note(r.error());
        else ::close(static_cast<int>(*r));
        break;
    }
    case Kind::sleep: {
        auto r = io.sleep(std::chrono::hours(1));
        if (!r) note(r.error());
        break;
    }
    case Kind::poll: {
        Operation op = Operation::poll(fd, PollEvents::readable);  // nobody writes
        auto r = io.operate(op);
        if (!r) note(r.error());
        break;
    }
    case Kind::futex: {
        Result<void> r;
        // nobody changes the word; a spurious return (a stray signal) waits again
        while (word->load() == 0 && (r = io.futex_wait(*word, 0))) {}
        if (!r) note(r.error());
        break;
    }
    }
    o.second_ok = io.check_cancel().has_value();
    return o;
}

struct LoopStats {
    int iterations = 0;
    int canceled = 0;      // first call reported canceled with the right op
    int second_ok = 0;     // the cancel point after it succeeded
    int entered = 0;       // the task had started before cancel was called
    int task_errors = 0;   // cancel's Result itself failed (it must carry the task's Outcome)
    double max_ms = 0;     // the slowest Future::cancel
    Errc odd_code = Errc::ok;
};

// Runs as a pool task: spawns the blocked task, waits `delay`, cancels it, `iterations` times.
LoopStats cancel_loop(Io io, Kind kind, int iterations, unsigned seed, bool settle) {
    LoopStats s;
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> delay_us(0, 2000);
    for (int i = 0; i < iterations; ++i) {
        Pipe pipe;
        Listener* listener = kind == Kind::accept ? new Listener : nullptr;
        int fd = kind == Kind::read || kind == Kind::poll ? pipe.r : listener ? listener->fd : -1;
        std::atomic<std::uint32_t> word{0};
        std::atomic<bool> entered{false};
        auto f = io.async(blocked_task, kind, fd, &word, &entered);
        if (settle) {  // make sure it is inside the syscall: started, then 20 ms
            while (!entered.load()) (void)io.sleep(std::chrono::microseconds(100));
            (void)io.sleep(std::chrono::milliseconds(20));
        } else if (int d = delay_us(rng); d > 0) {
            (void)io.sleep(std::chrono::microseconds(d));
        }
        bool was_entered = entered.load();
        auto t0 = SteadyClock::now();
        auto r = f.cancel(io);
        double ms = ms_since(t0);
        delete listener;
        ++s.iterations;
        if (was_entered) ++s.entered;
        if (ms > s.max_ms) s.max_ms = ms;
        if (!r) { ++s.task_errors; continue; }
        if (r->failed && r->code == Errc::canceled && r->op == kind_op(kind)) ++s.canceled;
        else s.odd_code = r->failed ? r->code : Errc::ok;
        if (r->second_ok) ++s.second_ok;
    }
    return s;
}

void check_loop(Kind kind, int iterations, bool settle) {
    INFO("kind " << kind_name(kind) << ", " << iterations << " iterations, settle " << settle);
    Result<LoopStats> r;
    auto leak = measure_pool([&] {
        ThreadPoolIo rt({.workers = 2});
        r = rt.run(cancel_loop, kind, iterations, 1234u + static_cast<unsigned>(kind), settle);
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE(r.has_value());
    const LoopStats& s = *r;
    CHECK(s.iterations == iterations);
    CHECK(s.task_errors == 0);
    CHECK(s.odd_code == Errc::ok);
    CHECK(s.canceled == iterations);
    CHECK(s.second_ok == iterations);
    CHECK(s.max_ms < 500);  // "well under a second", with room for a loaded 2-core machine
    if (settle) CHECK(s.entered == iterations);
    else CHECK(s.entered > 0);  // the loop did race the task's entry, not only cancel queued tasks
}

}  // namespace

TEST_CASE("pool cancel: a task blocked in a pipe read is interrupted", "[pool][cancel]") {
    check_loop(Kind::read, 5, true);
    check_loop(Kind::read, 200, false);
}

TEST_CASE("pool cancel: a task blocked in accept is interrupted", "[pool][cancel]") {
    check_loop(Kind::accept, 5, true);
    check_loop(Kind::accept, 200, false);
}

TEST_CASE("pool cancel: a task in a one-hour sleep is interrupted", "[pool][cancel]") {
    check_loop(Kind::sleep, 5, true);
    check_loop(Kind::sleep, 200, false);
}

TEST_CASE("pool cancel: a task in futex_wait on a word nobody changes is interrupted", "[pool][cancel]") {
    check_loop(Kind::futex, 5, true);
    check_loop(Kind::futex, 200, false);
}

TEST_CASE("pool cancel: a task polling an empty pipe is interrupted", "[pool][cancel][poll]") {
    check_loop(Kind::poll, 5, true);
    check_loop(Kind::poll, 200, false);
}

// The same races with the blocked task on a thread of its own (io.concurrent): the canceller and the
// blocked task are always on different threads.
namespace {
LoopStats concurrent_loop(Io io, Kind kind, int iterations, unsigned seed) {
    LoopStats s;
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> delay_us(0, 2000);
    for (int i = 0; i < iterations; ++i) {
        Pipe pipe;
        Listener* listener = kind == Kind::accept ? new Listener : nullptr;
        int fd = kind == Kind::read || kind == Kind::poll ? pipe.r : listener ? listener->fd : -1;
        std::atomic<std::uint32_t> word{0};
        std::atomic<bool> entered{false};
        auto f = io.concurrent(blocked_task, kind, fd, &word, &entered);
        if (!f) { ++s.task_errors; delete listener; continue; }
        if (int d = delay_us(rng); d > 0) (void)io.sleep(std::chrono::microseconds(d));
        bool was_entered = entered.load();
        auto t0 = SteadyClock::now();
        auto r = f->cancel(io);
        double ms = ms_since(t0);
        delete listener;
        ++s.iterations;
        if (was_entered) ++s.entered;
        if (ms > s.max_ms) s.max_ms = ms;
        if (!r) { ++s.task_errors; continue; }
        if (r->failed && r->code == Errc::canceled && r->op == kind_op(kind)) ++s.canceled;
        else s.odd_code = r->failed ? r->code : Errc::ok;
        if (r->second_ok) ++s.second_ok;
    }
    return s;
}
}  // namespace

TEST_CASE("pool cancel: blocked concurrent tasks (own threads) are interrupted", "[pool][cancel]") {
    for (Kind kind : {Kind::read, Kind::accept, Kind::sleep, Kind::futex, Kind::poll}) {
        INFO("kind " << kind_name(kind));
        const int n = 100;
        Result<LoopStats> r;
        auto leak = measure_pool([&] {
            ThreadPoolIo rt({.workers = 1});
            r = rt.run(concurrent_loop, kind, n, 77u + static_cast<unsigned>(kind));
        });
        REQUIRE_NO_LEAK(leak);
        REQUIRE(r.has_value());
        CHECK(r->iterations == n);
        CHECK(r->task_errors == 0);
        CHECK(r->odd_code == Errc::ok);
        CHECK(r->canceled == n);
        CHECK(r->second_ok == n);
        CHECK(r->max_ms < 500);
        CHECK(r->entered > 0);
    }
}

namespace {

struct GroupStats {
    int spawned = 0;
    double cancel_ms = 0;
    bool await_canceled = false;  // group_await in a cancelled task reported canceled
    bool second_ok = false;       // and the cancel point after it succeeded
};

// A group of tasks blocked in every kind of wait, then Group::cancel.
GroupStats group_cancel_body(Io io, int per_kind, std::atomic<int>* ended) {
    GroupStats s;
    std::vector<std::unique_ptr<Pipe>> pipes;
    Listener listener;
    std::atomic<std::uint32_t> word{0};
    std::atomic<bool> entered{false};
    Group g;
    auto task = [](Io tio, Kind kind, int fd, std::atomic<std::uint32_t>* w, std::atomic<bool>* e, std::atomic<int>* done) {
        Outcome o = blocked_task(tio, kind, fd, w, e);
        if (o.failed && o.code == Errc::canceled) done->fetch_add(1);
    };
    for (int i = 0; i < per_kind; ++i) {
        pipes.push_back(std::make_unique<Pipe>());
        for (Kind k : {Kind::read, Kind::accept, Kind::sleep, Kind::futex}) {
            int fd = k == Kind::read ? pipes.back()->r : listener.fd;
            (void)g.async(io, task, k, fd, &word, &entered, ended);
            ++s.spawned;
        }
    }
    (void)io.sleep(std::chrono::milliseconds(20));
    auto t0 = SteadyClock::now();
    g.cancel(io);
    s.cancel_ms = ms_since(t0);
    return s;
}

// Awaits a group of blocked tasks; is itself cancelled by its spawner.
GroupStats group_await_body(Io io, std::atomic<int>* ended, std::atomic<bool>* waiting) {
    GroupStats s;
    Pipe p;
    std::atomic<std::uint32_t> word{0};
    std::atomic<bool> entered{false};
    Group g;
    auto task = [](Io tio, Kind kind, int fd, std::atomic<std::uint32_t>* w, std::atomic<bool>* e, std::atomic<int>* done) {
        Outcome o = blocked_task(tio, kind, fd, w, e);
        if (o.failed && o.code == Errc::canceled) done->fetch_add(1);
    };
    (void)g.async(io, task, Kind::read, p.r, &word, &entered, ended);
    (void)g.async(io, task, Kind::futex, -1, &word, &entered, ended);
    s.spawned = 2;
    waiting->store(true);
    auto r = g.await(io);
    s.await_canceled = !r && r.error().canceled();
    s.second_ok = io.check_cancel().has_value();
    return s;
}

}  // namespace

TEST_CASE("pool cancel: Group::cancel interrupts every blocked member", "[pool][cancel][group]") {
    for (unsigned workers : {1u, 2u, 8u}) {
        INFO("workers " << workers);
        std::atomic<int> ended{0};
        Result<GroupStats> r;
        auto leak = measure_pool([&] {
            ThreadPoolIo rt({.workers = workers});
            r = rt.run(group_cancel_body, 5, &ended);
        });
        REQUIRE_NO_LEAK(leak);
        REQUIRE(r.has_value());
        CHECK(r->spawned == 20);
        CHECK(ended.load() == 20);  // every member, started or still queued, ended canceled
        CHECK(r->cancel_ms < 1000);
    }
}

TEST_CASE("pool cancel: cancelling a task blocked in Group::await cancels the group", "[pool][cancel][group]") {
    // With one worker the members run nested inside the awaiting task's Group::await, on its thread.
    for (unsigned workers : {1u, 2u, 8u}) {
        INFO("workers " << workers);
        std::atomic<int> ended{0};
        Result<GroupStats> r;
        double ms = 0;
        auto leak = measure_pool([&] {
            ThreadPoolIo rt({.workers = workers});
            Io io = rt.io();
            std::atomic<bool> waiting{false};
            auto f = io.async(group_await_body, &ended, &waiting);
            wait_flag(waiting);
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            auto t0 = SteadyClock::now();
            r = f.cancel(io);
            ms = ms_since(t0);
        });
        REQUIRE_NO_LEAK(leak);
        REQUIRE(r.has_value());
        CHECK(r->await_canceled);
        CHECK(r->second_ok);
        CHECK(ended.load() == 2);
        CHECK(ms < 1000);
    }
}

namespace {
struct AwaitStats {
    bool child_canceled = false;  // the awaited child's read reported canceled
    bool own_canceled = false;    // the awaiting task's next cancel point reported canceled
    bool own_second_ok = false;   // and the one after it succeeded
};

// Awaits a child blocked in a pipe read; is itself cancelled by its spawner.
AwaitStats await_child_body(Io io, std::atomic<bool>* waiting) {
    AwaitStats s;
    Pipe p;
    std::atomic<std::uint32_t> word{0};
    std::atomic<bool> entered{false};
    auto child = io.async(blocked_task, Kind::read, p.r, &word, &entered);
    waiting->store(true);
    auto r = child.await(io);
    s.child_canceled = r && r->failed && r->code == Errc::canceled;
    auto c = io.check_cancel();
    s.own_canceled = !c && c.error().canceled();
    s.own_second_ok = io.check_cancel().has_value();
    return s;
}
}  // namespace

TEST_CASE("pool cancel: cancelling a task blocked in Future::await reaches the awaited child", "[pool][cancel]") {
    // With one worker the child runs nested inside the parent's await, on the parent's thread.
    for (unsigned workers : {1u, 2u, 8u}) {
        for (int round = 0; round < 20; ++round) {
            INFO("workers " << workers << ", round " << round);
            Result<AwaitStats> r;
            double ms = 0;
            auto leak = measure_pool([&] {
                ThreadPoolIo rt({.workers = workers});
                Io io = rt.io();
                std::atomic<bool> waiting{false};
                auto f = io.async(await_child_body, &waiting);
                wait_flag(waiting);
                std::this_thread::sleep_for(std::chrono::microseconds(round * 100));
                auto t0 = SteadyClock::now();
                r = f.cancel(io);
                ms = ms_since(t0);
            });
            REQUIRE_NO_LEAK(leak);
            REQUIRE(r.has_value());
            CHECK(r->child_canceled);
            CHECK(r->own_canceled);
            CHECK(r->own_second_ok);
            CHECK(ms < 1000);
        }
    }
}
