// 1,000 concurrent loopback TCP connections on ThreadPoolIo, every byte checked.
//
// Shape: a server task on its own thread (io.concurrent) accepts 1,000 connections and starts one echo
// task per connection (Group::async: io.async semantics); it keeps every accepted connection open until
// all were echoed, so all 1,000 are established at once. Client tasks (io.async) connect, write a
// payload unique to them, half-close and return their open stream. Only when every connection is open
// and echoed do reader tasks check the replies. The phases matter on a pool of blocking syscalls: a
// task blocked in a read holds its worker, so a client that waited for its echo while the echo task
// sat queued behind it on a busy pool could deadlock; here nothing waits on a task that is not running.
#include <catch2/catch.hpp>
#include "net_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace zsync::test::net;

namespace {

constexpr int connections = 1000;

std::size_t payload_size(int i) { return 1 + static_cast<std::size_t>(i * 37 % 4000); }
std::byte payload_byte(int i, std::size_t k) { return static_cast<std::byte>((i * 131 + static_cast<int>(k) * 7 + 3) & 0xff); }

struct Counters {
    std::atomic<int> echoed{0};
    std::atomic<long> echo_bytes{0};
    std::atomic<int> echo_errors{0};
    std::atomic<int> max_open{0};  // server-side connections open at once
};

// Echoes until the client's end of stream; the connection stays open (the server closes every one at
// the end, so all 1,000 are established at once).
Result<void> echo(Io io, TcpStream s, Counters* c) {
    char buf[8192];
    std::size_t n = 0;
    for (;;) {
        auto k = s.read(io, wbytes(buf + n, sizeof buf - n));
        if (!k) { c->echo_errors++; return k.error(); }
        if (*k == 0) break;
        n += *k;
    }
    auto w = s.write_all(io, std::as_bytes(std::span(buf, n)));
    if (!w) { c->echo_errors++; return w.error(); }
    c->echoed++;
    c->echo_bytes += static_cast<long>(n);
    return {};
}

Result<int> serve(Io io, TcpListener listener, int n, Counters* c) {
    Group g;
    std::vector<TcpStream> open;
    open.reserve(static_cast<std::size_t>(n));
    Result<int> out = 0;
    for (int accepted = 0; accepted < n; ++accepted) {
        auto a = listener.accept(io, Deadline::after(std::chrono::seconds(60)));
        if (!a) { out = a.error(); break; }
        open.push_back(a->stream);
        c->max_open = static_cast<int>(open.size());
        if (auto r = g.async(io, echo, a->stream, c); !r) { out = r.error(); break; }
    }
    if (auto r = g.await(io); !r && out) out = r.error();
    for (TcpStream& s : open) (void)s.close(io);
    if (out) out = static_cast<int>(open.size());
    return out;
}

Result<TcpStream> client(Io io, IpAddress at, int i) {
    NET_TRY(s, TcpStream::connect(io, at, Deadline::after(std::chrono::seconds(60))));
    std::vector<std::byte> data(payload_size(i));
    for (std::size_t k = 0; k < data.size(); ++k) data[k] = payload_byte(i, k);
    if (auto w = s.write_all(io, data); !w) { (void)s.close(io); return w.error(); }
    if (auto h = s.shutdown(io, ShutdownHow::write); !h) { (void)s.close(io); return h.error(); }
    return s;
}

// Reads the echo: exactly the payload, then the end of the stream.
Result<long> check(Io io, TcpStream s, int i) {
    std::vector<std::byte> got(payload_size(i));
    auto r = s.read_exact(io, got, Deadline::after(std::chrono::seconds(60)));
    std::byte extra[1];
    auto tail = r ? s.read(io, extra, Deadline::after(std::chrono::seconds(60))) : Result<std::size_t>(r.error());
    (void)s.close(io);
    if (!r) return r.error();
    if (!tail) return tail.error();
    if (*tail != 0) return Error(Errc::invalid_argument, Op::recv);
    for (std::size_t k = 0; k < got.size(); ++k)
        if (got[k] != payload_byte(i, k)) return Error(Errc::invalid_argument, Op::recv);
    return static_cast<long>(got.size());
}

struct StressOut {
    int accepted = 0, clients_ok = 0, checked_ok = 0;
    long bytes_checked = 0;
    ErrInfo first_error;
};

Result<StressOut> stress(Io io, Counters* c) {
    StressOut out;
    NET_TRY(listener, TcpListener::listen(io, IpAddress::v4_loopback(0), 2048));
    NET_TRY(at, listener.local_address(io));
    auto server = io.concurrent(serve, listener, connections, c);
    if (!server) { (void)listener.close(io); return server.error(); }
    std::vector<Future<TcpStream>> clients;
    clients.reserve(connections);
    for (int i = 0; i < connections; ++i) clients.push_back(io.async(client, at, i));
    std::vector<TcpStream> streams(connections);
    for (int i = 0; i < connections; ++i) {
        auto s = clients[i].await(io);
        if (s) { streams[i] = *s; ++out.clients_ok; }
        else if (!out.first_error.failed) out.first_error = info_of(s);
    }
    auto served = server->await(io);
    if (served) out.accepted = *served;
    else if (!out.first_error.failed) out.first_error = info_of(served);
    std::vector<Future<long>> checks;
    checks.reserve(connections);
    for (int i = 0; i < connections; ++i)
        if (streams[i].is_open()) checks.push_back(io.async(check, streams[i], i));
    for (auto& f : checks) {
        auto r = f.await(io);
        if (r) { ++out.checked_ok; out.bytes_checked += *r; }
        else if (!out.first_error.failed) out.first_error = info_of(r);
    }
    (void)listener.close(io);
    return out;
}

}  // namespace

TEST_CASE("net stress: 1,000 concurrent loopback TCP connections on ThreadPoolIo", "[net][stress]") {
    rlim_t limit = raise_fd_limit(4 * connections + 256);
    if (limit < 2 * connections + 64) {
        WARN("RLIMIT_NOFILE is " << limit << ": too low for 1,000 connections; skipped");
        return;
    }
    long expected_bytes = 0;
    for (int i = 0; i < connections; ++i) expected_bytes += static_cast<long>(payload_size(i));
    Counters c;
    Result<StressOut> r;
    auto t0 = SteadyClock::now();
    auto leak = measure<ThreadPoolIo>([&] {
        ThreadPoolIo rt({.workers = 4});
        r = rt.run(stress, &c);
    });
    double ms = ms_since(t0);
    REQUIRE_NO_LEAK(leak);
    REQUIRE(r);
    INFO("took " << ms << " ms; most connections open at once on the server: " << c.max_open.load());
    if (r->first_error.failed) FAIL(r->first_error.error.message());
    CHECK(r->clients_ok == connections);
    CHECK(r->accepted == connections);
    CHECK(c.echoed.load() == connections);
    CHECK(c.echo_errors.load() == 0);
    CHECK(c.echo_bytes.load() == expected_bytes);
    CHECK(r->checked_ok == connections);
    CHECK(r->bytes_checked == expected_bytes);
    CHECK(c.max_open.load() == connections);
}
