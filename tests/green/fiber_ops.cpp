// Operations performed by fibers: they park in the reactor instead of blocking their worker.
#include <catch2/catch.hpp>
#include "green_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace std::chrono_literals;

TEST_CASE("green: files and pipes inside a fiber give the same results as on BlockingIo", "[green]") {
    std::string text;
    bool ok = false;
    bool clean = no_leak([&] {
        GreenThreadsIo rt(GreenThreadsIo::Options{.workers = 2});
        auto r = rt.run([](Io io) -> Result<std::string> {
            char tmpl[] = "/tmp/zsync-green-XXXXXX";
            int fd = ::mkstemp(tmpl);
            if (fd < 0) return Error(Errc::invalid_argument, Op::open);
            ::close(fd);
            auto f = File::create(io, tmpl);
            if (!f) return f.error();
            if (auto w = f->write_all(io, std::string_view("hello fiber")); !w) return w.error();
            (void)f->close(io);
            auto g = File::open(io, tmpl);
            if (!g) return g.error();
            std::byte buf[64];
            auto n = g->read(io, buf);
            (void)g->close(io);
            ::unlink(tmpl);
            if (!n) return n.error();
            return std::string(reinterpret_cast<const char*>(buf), *n);
        });
        ok = r.has_value();
        if (r) text = *r;
    });
    CHECK(clean);
    REQUIRE(ok);
    CHECK(text == "hello fiber");
}

TEST_CASE("green: 200 fibers sleeping 50 ms on ONE worker take about 50 ms, not 10 s", "[green][time]") {
    double ms = 0;
    int done = 0;
    bool clean = no_leak([&] {
        GreenThreadsIo rt(GreenThreadsIo::Options{.workers = 1});
        Io io = rt.io();
        auto t0 = std::chrono::steady_clock::now();
        std::atomic<int> count{0};
        {
            Group g;
            for (int i = 0; i < 200; ++i)
                (void)g.concurrent(io, [&count](Io cio) {
                    if (cio.sleep(50ms)) count.fetch_add(1);
                });
            (void)g.await(io);
        }
        ms = ms_since(t0);
        done = count.load();
    });
    CHECK(clean);
    CHECK(done == 200);
    CHECK(ms < 2000);
}

TEST_CASE("green: a fiber waiting on an empty pipe does not block the other fibers of its worker", "[green]") {
    std::string got;
    bool clean = no_leak([&] {
        GreenThreadsIo rt(GreenThreadsIo::Options{.workers = 1});
        Io io = rt.io();
        Pipe p;
        auto reader = io.concurrent([&p](Io cio) -> Result<std::string> {
            std::byte buf[16];
            auto n = File{p.r}.read(cio, buf);
            if (!n) return n.error();
            return std::string(reinterpret_cast<const char*>(buf), *n);
        });
        REQUIRE(reader);
        // Only one worker: the writer can run only if the reader parked instead of blocking it.
        auto writer = io.concurrent([&p](Io cio) -> Result<void> {
            if (auto s = cio.sleep(20ms); !s) return s;
            auto w = File{p.w}.write(cio, std::as_bytes(std::span("ping", 4)));
            if (!w) return w.error();
            return {};
        });
        REQUIRE(writer);
        REQUIRE(writer->await(io));
        auto r = reader->await(io);
        if (r) got = *r;
    });
    CHECK(clean);
    CHECK(got == "ping");
}

TEST_CASE("green: TCP echo between 64 client fibers and a server fiber per connection", "[green][net]") {
    int good = 0;
    bool clean = no_leak([&] {
        GreenThreadsIo rt(GreenThreadsIo::Options{.workers = 2});
        Io io = rt.io();
        auto l = TcpListener::listen(io, IpAddress::v4_loopback(0));
        REQUIRE(l);
        auto addr = l->local_address(io);
        REQUIRE(addr);
        constexpr int clients = 64;
        std::atomic<int> ok{0};
        Group servers;
        auto acceptor = io.concurrent([&](Io cio) -> Result<void> {
            for (int i = 0; i < clients; ++i) {
                auto a = l->accept(cio);
                if (!a) return a.error();
                (void)servers.concurrent(cio, [](Io sio, TcpStream s) {
                    std::byte buf[4096];
                    for (;;) {
                        auto n = s.read(sio, buf);
                        if (!n || *n == 0) break;
                        if (!s.write_all(sio, std::span<const std::byte>(buf, *n))) break;
                    }
                    (void)s.close(sio);
                }, a->stream);
            }
            return {};
        });
        REQUIRE(acceptor);
        {
            Group cg;
            for (int i = 0; i < clients; ++i)
                (void)cg.concurrent(io, [&ok, a = *addr, i](Io cio) {
                    auto s = TcpStream::connect(cio, a);
                    if (!s) return;
                    std::string msg(1000 + i * 37, char('a' + i % 26));
                    bool fine = s->write_all(cio, std::string_view(msg)).has_value();
                    std::string back(msg.size(), '\0');
                    fine = fine && s->read_exact(cio, std::as_writable_bytes(std::span(back))).has_value();
                    (void)s->close(cio);
                    if (fine && back == msg) ok.fetch_add(1);
                });
            (void)cg.await(io);
        }
        (void)acceptor->await(io);
        (void)servers.await(io);
        (void)l->close(io);
        good = ok.load();
    });
    CHECK(clean);
    CHECK(good == 64);
}

TEST_CASE("green: a batch inside a fiber completes every operation", "[green][batch]") {
    bool all_ok = false;
    std::size_t read_n = 0;
    bool clean = no_leak([&] {
        GreenThreadsIo rt(GreenThreadsIo::Options{.workers = 1});
        Pipe a, b;
        REQUIRE(::write(a.w, "xyz", 3) == 3);
        (void)rt.run([&](Io io) {
            std::byte buf[8];
            Operation ops[3] = {Operation::read(a.r, buf), Operation::write(b.w, std::as_bytes(std::span("qq", 2))), Operation::yield()};
            io.batch(ops);
            all_ok = ops[0].result && ops[1].result && ops[2].result;
            if (ops[0].result) read_n = *ops[0].result;
        });
    });
    CHECK(clean);
    CHECK(all_ok);
    CHECK(read_n == 3);
}

TEST_CASE("green: running out of stacks is concurrency_unavailable from concurrent, async then runs inline", "[green][limits]") {
    ErrInfoLite e;
    int inline_value = 0;
    bool clean = no_leak([&] {
        GreenThreadsIo rt(GreenThreadsIo::Options{.workers = 1, .max_fibers = 3});
        Io io = rt.io();
        std::atomic<std::uint32_t> gate{0};
        std::vector<Future<void>> held;
        for (int i = 0; i < 3; ++i) {
            auto f = io.concurrent([&gate](Io cio) {
                while (gate.load() == 0) (void)cio.futex_wait(gate, 0);
            });
            REQUIRE(f);
            held.push_back(std::move(*f));
        }
        auto over = io.concurrent([](Io) {});
        if (!over) e = {true, over.error().code(), over.error().op()};
        auto a = io.async([](Io) { return 7; });
        auto av = a.await(io);
        if (av) inline_value = *av;
        gate.store(1);
        io.futex_wake(gate, 100);
        for (auto& f : held) (void)f.await(io);
    });
    CHECK(clean);
    CHECK(e.failed);
    CHECK(e.code == Errc::concurrency_unavailable);
    CHECK(e.op == Op::concurrent);
    CHECK(inline_value == 7);
}

TEST_CASE("green: fibers migrate between workers and a million-yield ping-pong stays correct", "[green][migration]") {
    std::uint64_t migrations = 0;
    long total = 0;
    bool clean = no_leak([&] {
        GreenThreadsIo rt(GreenThreadsIo::Options{.workers = 2});
        Io io = rt.io();
        std::atomic<long> sum{0};
        for (int round = 0; round < 20 && rt.stats().migrations == 0; ++round) {
            Group g;
            for (int i = 0; i < 64; ++i)
                (void)g.concurrent(io, [&sum](Io cio) {
                    for (int k = 0; k < 50; ++k) {
                        (void)cio.yield();
                        if (k % 10 == 0) (void)cio.sleep(std::chrono::microseconds(200));
                        sum.fetch_add(1);
                    }
                });
            (void)g.await(io);
        }
        migrations = rt.stats().migrations;
        total = sum.load();
    });
    CHECK(clean);
    CHECK(migrations > 0);
    CHECK(total % (64 * 50) == 0);
    CHECK(total > 0);
}
