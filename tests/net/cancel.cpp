// Cancelling a task blocked in accept, recv and connect: on the pools through Future::cancel (the
// SIGURG protocol reaches the syscall or ppoll), on BlockingIo through request_cancel from another
// thread. The request is delivered once as Errc::canceled naming the operation; the next cancel point
// succeeds; nothing leaks.
#include <catch2/catch.hpp>
#include "net_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace zsync::test::net;

namespace {

enum class Kind { accept, accept_deadline, recv, recv_deadline, connect };

const char* kind_name(Kind k) {
    switch (k) {
    case Kind::accept: return "accept";
    case Kind::accept_deadline: return "accept with a deadline";
    case Kind::recv: return "recv";
    case Kind::recv_deadline: return "recv with a deadline";
    default: return "connect";
    }
}
Op kind_op(Kind k) {
    switch (k) {
    case Kind::accept:
    case Kind::accept_deadline: return Op::accept;
    case Kind::connect: return Op::connect;
    default: return Op::recv;
    }
}

struct Outcome {
    ErrInfo first;
    bool second_ok = false;
};

// Blocks in `kind` until cancelled: nobody connects, nobody writes, the backlog stays full.
Outcome blocked(Io io, Kind kind, Handle fd, IpAddress target, std::atomic<bool>* entered) {
    Outcome o;
    entered->store(true);
    switch (kind) {
    case Kind::accept:
    case Kind::accept_deadline: {
        auto r = TcpListener{fd}.accept(io, kind == Kind::accept ? Deadline::never() : Deadline::after(std::chrono::hours(1)));
        o.first = info_of(r);
        if (r) (void)r->stream.close(io);
        break;
    }
    case Kind::recv:
    case Kind::recv_deadline: {
        std::byte b[8];
        TcpStream s;
        s.handle = fd;
        o.first = info_of(s.read(io, b, kind == Kind::recv ? Deadline::never() : Deadline::after(std::chrono::hours(1))));
        break;
    }
    case Kind::connect: {
        auto r = TcpStream::connect(io, target, Deadline::after(std::chrono::hours(1)));
        o.first = info_of(r);
        if (r) (void)r->close(io);
        break;
    }
    }
    o.second_ok = io.check_cancel().has_value();
    return o;
}

// A listener plus what `kind` blocks on: an idle accepted connection (recv) or a full backlog (connect).
struct Scene {
    TcpListener listener;
    TcpStream client, server, filler[4];
    IpAddress at;
    int fillers = 0;
    Result<void> setup(Io io, Kind kind) {
        NET_TRY(l, TcpListener::listen(io, IpAddress::v4_loopback(0), kind == Kind::connect ? 0 : 16));
        listener = l;
        NET_TRY(a, listener.local_address(io));
        at = a;
        if (kind == Kind::recv || kind == Kind::recv_deadline) {
            NET_TRY(c, TcpStream::connect(io, at));
            client = c;
            NET_TRY(s, listener.accept(io));
            server = s.stream;
        }
        if (kind == Kind::connect) {  // fill the queue until a connect would wait
            for (; fillers < 4; ++fillers) {
                auto c = TcpStream::connect(io, at, Deadline::after(std::chrono::milliseconds(50)));
                if (!c) break;
                filler[fillers] = *c;
            }
        }
        return {};
    }
    void close(Io io) {
        (void)listener.close(io);
        if (client.is_open()) (void)client.close(io);
        if (server.is_open()) (void)server.close(io);
        for (int i = 0; i < fillers; ++i) (void)filler[i].close(io);
    }
    Handle fd(Kind kind) const { return kind == Kind::accept || kind == Kind::accept_deadline ? listener.handle : client.handle; }
};

struct LoopStats {
    int iterations = 0, canceled = 0, second_ok = 0, entered = 0, setup_errors = 0, task_errors = 0;
    double max_ms = 0;
    ErrInfo odd;
};

// A pool task: `iterations` times, start the blocked task, let it block (settle) or race it, cancel it.
LoopStats cancel_loop(Io io, Kind kind, int iterations, bool use_concurrent, bool settle) {
    LoopStats s;
    for (int i = 0; i < iterations; ++i) {
        Scene scene;
        if (!scene.setup(io, kind)) { ++s.setup_errors; scene.close(io); continue; }
        std::atomic<bool> entered{false};
        Future<Outcome> f;
        if (use_concurrent) {
            auto c = io.concurrent(blocked, kind, scene.fd(kind), scene.at, &entered);
            if (!c) { ++s.task_errors; scene.close(io); continue; }
            f = std::move(*c);
        } else {
            f = io.async(blocked, kind, scene.fd(kind), scene.at, &entered);
        }
        if (settle) {
            while (!entered.load()) (void)io.sleep(std::chrono::microseconds(100));
            (void)io.sleep(std::chrono::milliseconds(20));
        } else {
            (void)io.sleep(std::chrono::microseconds(137 * (i % 15)));
        }
        if (entered.load()) ++s.entered;
        auto t0 = SteadyClock::now();
        auto r = f.cancel(io);
        double ms = ms_since(t0);
        if (ms > s.max_ms) s.max_ms = ms;
        scene.close(io);
        ++s.iterations;
        if (!r) { ++s.task_errors; continue; }
        if (r->first.failed && r->first.code == Errc::canceled && r->first.op == kind_op(kind)) ++s.canceled;
        else s.odd = r->first;
        if (r->second_ok) ++s.second_ok;
    }
    return s;
}

template <class Pool>
void check_pool_cancel(Kind kind, int iterations, bool settle) {
    constexpr bool one_worker = std::is_same_v<Pool, PoolOf<1>>;
    INFO("kind " << kind_name(kind) << ", " << iterations << " iterations, settle " << settle);
    Result<LoopStats> r;
    auto leak = measure<Pool>([&] {
        Pool rt;
        // With one worker an async child queued behind its sleeping parent would never start before
        // the cancel; it runs on a thread of its own there instead.
        r = rt.run(cancel_loop, kind, iterations, one_worker, settle);
    });
    REQUIRE_NO_LEAK(leak);
    REQUIRE(r);
    const LoopStats& s = *r;
    if (s.odd.failed) INFO("odd outcome: " << s.odd.error.message());
    CHECK(s.setup_errors == 0);
    CHECK(s.task_errors == 0);
    CHECK(s.iterations == iterations);
    CHECK(s.canceled == iterations);
    CHECK(s.second_ok == iterations);
    CHECK(s.max_ms < 1000);
    if (settle) CHECK(s.entered == iterations);
}

using Pools = std::tuple<PoolOf<1>, PoolOf<2>, PoolOf<8>>;

}  // namespace

TEMPLATE_LIST_TEST_CASE("net cancel: a task blocked in accept is interrupted (Future::cancel)", "[net][cancel]", Pools) {
    check_pool_cancel<TestType>(Kind::accept, 3, true);
    check_pool_cancel<TestType>(Kind::accept, 30, false);
    check_pool_cancel<TestType>(Kind::accept_deadline, 3, true);
    check_pool_cancel<TestType>(Kind::accept_deadline, 30, false);
}

TEMPLATE_LIST_TEST_CASE("net cancel: a task blocked in recv is interrupted (Future::cancel)", "[net][cancel]", Pools) {
    check_pool_cancel<TestType>(Kind::recv, 3, true);
    check_pool_cancel<TestType>(Kind::recv, 30, false);
    check_pool_cancel<TestType>(Kind::recv_deadline, 3, true);
    check_pool_cancel<TestType>(Kind::recv_deadline, 30, false);
}

TEMPLATE_LIST_TEST_CASE("net cancel: a task blocked in connect is interrupted (Future::cancel)", "[net][cancel]", Pools) {
    check_pool_cancel<TestType>(Kind::connect, 3, true);
}

namespace {
Outcome blocking_scene(Io io, Kind kind, std::atomic<bool>* entered) {
    Scene scene;
    if (!scene.setup(io, kind)) { scene.close(io); return {}; }
    Outcome o = blocked(io, kind, scene.fd(kind), scene.at, entered);
    scene.close(io);
    return o;
}
}  // namespace

TEST_CASE("net cancel: BlockingIo's request_cancel interrupts accept, recv and connect", "[net][cancel]") {
    for (Kind kind : {Kind::accept, Kind::accept_deadline, Kind::recv, Kind::recv_deadline, Kind::connect}) {
        INFO("kind " << kind_name(kind));
        Result<Outcome> r;
        double ms = 0;
        auto leak = measure<BlockingIo>([&] {
            BlockingIo rt;
            std::atomic<bool> entered{false};
            std::thread canceller([&] {
                while (!entered.load()) std::this_thread::sleep_for(std::chrono::microseconds(100));
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
                rt.request_cancel();
            });
            auto t0 = SteadyClock::now();
            r = rt.run(blocking_scene, kind, &entered);
            ms = ms_since(t0);
            canceller.join();
        });
        REQUIRE_NO_LEAK(leak);
        REQUIRE(r);
        REQUIRE_ZSYNC_ERROR(r->first, Errc::canceled, kind_op(kind));
        CHECK(r->second_ok);
        CHECK(ms < 2000);
    }
}
