// Round trips on every backend (tests/support/backends.hpp): TCP echo over IPv4 and IPv6 loopback, Unix
// stream sockets, socket_pair, UDP, name lookup. Each case runs measured: no fd or allocation is left.
#include <catch2/catch.hpp>
#include "net_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace zsync::test::net;

namespace {

constexpr std::string_view message = "hello over zsync:net";

struct EchoOut {
    char got[64]{};
    std::size_t got_len = 0;
    IpAddress listen_at, peer_seen, client_local, client_peer;
    bool eof_after = false;
};

// Listener, client connect, accept, client writes and half-closes, server echoes until EOF, client reads.
// Sequential, so it runs the same on BlockingIo (where async is inline) and on the pools.
Result<EchoOut> tcp_echo(Io io, IpAddress bind_at) {
    EchoOut out;
    NET_TRY(listener, TcpListener::listen(io, bind_at, 16));
    NET_TRY(at, listener.local_address(io));
    out.listen_at = at;
    NET_TRY(client, TcpStream::connect(io, at));
    NET_TRY(accepted, listener.accept(io));
    out.peer_seen = accepted.peer;
    NET_TRY(cl, client.local_address(io));
    out.client_local = cl;
    NET_TRY(cp, client.peer_address(io));
    out.client_peer = cp;
    NET_TRY_VOID(client.write_all(io, message));
    NET_TRY_VOID(client.shutdown(io, ShutdownHow::write));
    char buf[64];
    std::size_t n = 0;
    for (;;) {
        NET_TRY(k, accepted.stream.read(io, wbytes(buf + n, sizeof buf - n)));
        if (k == 0) break;
        n += k;
    }
    NET_TRY_VOID(accepted.stream.write_all(io, std::as_bytes(std::span(buf, n))));
    NET_TRY_VOID(accepted.stream.close(io));
    NET_TRY_VOID(client.read_exact(io, wbytes(out.got, n)));
    out.got_len = n;
    std::byte extra[1];
    NET_TRY(tail, client.read(io, extra));
    out.eof_after = tail == 0;
    NET_TRY_VOID(client.close(io));
    NET_TRY_VOID(listener.close(io));
    return out;
}

template <class B>
void check_tcp_echo(IpAddress bind_at) {
    Result<EchoOut> r;
    auto leak = measure<B>([&] {
        B rt;
        r = rt.run(tcp_echo, bind_at);
    });
    REQUIRE_NO_LEAK(leak);
    if (!r) FAIL(r.error().message());
    CHECK(std::string_view(r->got, r->got_len) == message);
    CHECK(r->eof_after);
    CHECK(r->listen_at.port() != 0);
    CHECK(r->listen_at.is_v6() == bind_at.is_v6());
    CHECK(r->listen_at.is_loopback());
    CHECK(r->peer_seen == r->client_local);  // accept filled the peer address
    CHECK(r->client_peer == r->listen_at);
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("tcp echo over IPv4 loopback", "[net][tcp]", Backends) {
    check_tcp_echo<TestType>(IpAddress::v4_loopback(0));
}

TEMPLATE_LIST_TEST_CASE("tcp echo over IPv6 loopback", "[net][tcp]", Backends) {
    if (!ipv6_available()) {
        WARN("::1 is not available here: IPv6 echo skipped");
        return;
    }
    check_tcp_echo<TestType>(IpAddress::v6_loopback(0));
}

namespace {
struct UnixOut {
    char got[64]{};
    std::size_t got_len = 0;
    char back[64]{};
    std::size_t back_len = 0;
};

Result<UnixOut> unix_round_trip(Io io, std::string path) {
    UnixOut out;
    NET_TRY(addr, UnixAddress::make(path));
    NET_TRY(listener, UnixListener::listen(io, addr, 4));
    NET_TRY(client, UnixStream::connect(io, addr));
    NET_TRY(server, listener.accept(io));
    NET_TRY_VOID(client.write_all(io, message));
    NET_TRY_VOID(server.read_exact(io, wbytes(out.got, message.size())));
    out.got_len = message.size();
    NET_TRY_VOID(server.write_all(io, "pong"));
    NET_TRY_VOID(client.read_exact(io, wbytes(out.back, 4)));
    out.back_len = 4;
    NET_TRY_VOID(server.close(io));
    NET_TRY_VOID(client.close(io));
    NET_TRY_VOID(listener.close(io));
    return out;
}

Result<UnixOut> pair_round_trip(Io io) {
    UnixOut out;
    NET_TRY(pair, socket_pair(io));
    auto [a, b] = pair;
    NET_TRY_VOID(a.write_all(io, message));
    NET_TRY_VOID(b.read_exact(io, wbytes(out.got, message.size())));
    out.got_len = message.size();
    NET_TRY_VOID(b.write_all(io, "pong"));
    NET_TRY_VOID(b.shutdown(io, ShutdownHow::both));
    NET_TRY_VOID(a.read_exact(io, wbytes(out.back, 4)));
    out.back_len = 4;
    std::byte x[1];
    NET_TRY(n, a.read(io, x));
    if (n != 0) return Error(Errc::invalid_argument, Op::recv);  // expected the end of the stream
    NET_TRY_VOID(a.close(io));
    NET_TRY_VOID(b.close(io));
    return out;
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("unix stream socket round trip", "[net][unix]", Backends) {
    SocketPath path;
    std::string p = path.path;
    Result<UnixOut> r;
    auto leak = measure<TestType>([&] {
        TestType rt;
        r = rt.run(unix_round_trip, p);
    });
    REQUIRE_NO_LEAK(leak);
    if (!r) FAIL(r.error().message());
    CHECK(std::string_view(r->got, r->got_len) == message);
    CHECK(std::string_view(r->back, r->back_len) == "pong");
}

TEMPLATE_LIST_TEST_CASE("socket_pair round trip and shutdown", "[net][unix]", Backends) {
    Result<UnixOut> r;
    auto leak = measure<TestType>([&] {
        TestType rt;
        r = rt.run(pair_round_trip);
    });
    REQUIRE_NO_LEAK(leak);
    if (!r) FAIL(r.error().message());
    CHECK(std::string_view(r->got, r->got_len) == message);
    CHECK(std::string_view(r->back, r->back_len) == "pong");
}

namespace {
struct UdpOut {
    char got[64]{};
    std::size_t got_len = 0;
    IpAddress from, sender_at;
    char reply[8]{};
    std::size_t reply_len = 0;
    std::size_t truncated_len = 0;
};

Result<UdpOut> udp_round_trip(Io io, IpAddress bind_at) {
    UdpOut out;
    NET_TRY(a, UdpSocket::bind(io, bind_at));
    NET_TRY(b, UdpSocket::bind(io, bind_at));
    NET_TRY(b_at, b.local_address(io));
    NET_TRY(a_at, a.local_address(io));
    out.sender_at = a_at;
    NET_TRY(sent, a.send_to(io, std::as_bytes(std::span(message.data(), message.size())), b_at));
    if (sent != message.size()) return Error(Errc::invalid_argument, Op::sendto);
    NET_TRY(got, b.receive_from(io, wbytes(out.got, sizeof out.got), Deadline::after(std::chrono::seconds(10))));
    out.got_len = got.size;
    out.from = got.from;
    NET_TRY(sent2, b.send_to(io, std::as_bytes(std::span("ok", 2)), got.from));
    (void)sent2;
    NET_TRY(back, a.receive_from(io, wbytes(out.reply, sizeof out.reply)));
    out.reply_len = back.size;
    // A datagram longer than the buffer is truncated to it.
    NET_TRY(sent3, a.send_to(io, std::as_bytes(std::span(message.data(), message.size())), b_at));
    (void)sent3;
    char small[4];
    NET_TRY(part, b.receive_from(io, wbytes(small, sizeof small)));
    out.truncated_len = part.size;
    NET_TRY_VOID(a.close(io));
    NET_TRY_VOID(b.close(io));
    return out;
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("udp round trip", "[net][udp]", Backends) {
    for (IpAddress at : {IpAddress::v4_loopback(0), IpAddress::v6_loopback(0)}) {
        if (at.is_v6() && !ipv6_available()) {
            WARN("::1 is not available here: IPv6 UDP skipped");
            continue;
        }
        Result<UdpOut> r;
        auto leak = measure<TestType>([&] {
            TestType rt;
            r = rt.run(udp_round_trip, at);
        });
        REQUIRE_NO_LEAK(leak);
        if (!r) FAIL(r.error().message());
        CHECK(std::string_view(r->got, r->got_len) == message);
        CHECK(r->from == r->sender_at);
        CHECK(std::string_view(r->reply, r->reply_len) == "ok");
        CHECK(r->truncated_len == 4);
    }
}

namespace {
Result<std::vector<IpAddress>> do_lookup(Io io, std::string host, std::uint16_t port) { return lookup(io, host, port); }
}  // namespace

TEMPLATE_LIST_TEST_CASE("lookup localhost and IP literals", "[net][lookup]", Backends) {
    TestType rt;
    auto r = rt.run(do_lookup, std::string("localhost"), std::uint16_t(8080));
    if (!r) FAIL(r.error().message());
    REQUIRE_FALSE(r->empty());
    for (const IpAddress& a : *r) {
        INFO(a.to_string());
        CHECK(a.is_loopback());
        CHECK(a.port() == 8080);
    }
    auto lit = rt.run(do_lookup, std::string("::1"), std::uint16_t(1));
    REQUIRE(lit);
    REQUIRE(lit->size() == 1);
    CHECK((*lit)[0] == IpAddress::v6_loopback(1));
    auto lit4 = rt.run(do_lookup, std::string("127.0.0.2"), std::uint16_t(2));
    REQUIRE(lit4);
    REQUIRE(lit4->size() == 1);
    CHECK((*lit4)[0].to_string() == "127.0.0.2:2");
}

namespace {
// Connects to a looked-up address: lookup's answers are usable as they are.
Result<bool> connect_via_lookup(Io io) {
    NET_TRY(listener, TcpListener::listen(io, IpAddress::v4_loopback(0)));
    NET_TRY(at, listener.local_address(io));
    NET_TRY(addrs, lookup(io, "localhost", at.port()));
    Result<TcpStream> c = Error(Errc::invalid_argument, Op::connect);
    for (const IpAddress& a : addrs)
        if (a.is_v4() && (c = TcpStream::connect(io, a))) break;
    if (!c) { (void)listener.close(io); return c.error(); }
    NET_TRY(acc, listener.accept(io));
    (void)acc.stream.close(io);
    (void)c->close(io);
    NET_TRY_VOID(listener.close(io));
    return true;
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("connect to an address lookup returned", "[net][lookup]", Backends) {
    Result<bool> r;
    auto leak = measure<TestType>([&] {
        TestType rt;
        r = rt.run(connect_via_lookup);
    });
    REQUIRE_NO_LEAK(leak);
    if (!r) FAIL(r.error().message());
}
