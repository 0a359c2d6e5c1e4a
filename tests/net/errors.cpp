// Error paths and deadlines on every backend: closed sockets, bad descriptors, a peer that resets, a
// write to a closed peer (EPIPE, and the process survives: no SIGPIPE), refused connections, addresses in
// use, bad and unknown addresses, and timeouts on recv, accept and connect.
#include <catch2/catch.hpp>
#include "net_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace zsync::test::net;

namespace {

struct ClosedOut {
    ErrInfo read, write, shutdown, close_again, accept, local, udp_send, udp_close, bad_fd_read, bad_fd_accept;
};

Result<ClosedOut> closed_sockets(Io io) {
    ClosedOut o;
    NET_TRY(listener, TcpListener::listen(io, IpAddress::v4_loopback(0)));
    NET_TRY(at, listener.local_address(io));
    NET_TRY(client, TcpStream::connect(io, at));
    NET_TRY_VOID(client.close(io));
    std::byte b[4];
    o.read = info_of(client.read(io, b));
    o.write = info_of(client.write(io, b));
    o.shutdown = info_of(client.shutdown(io, ShutdownHow::both));
    o.close_again = info_of(client.close(io));
    NET_TRY(acc, listener.accept(io));
    NET_TRY_VOID(acc.stream.close(io));
    NET_TRY_VOID(listener.close(io));
    o.accept = info_of(listener.accept(io));
    o.local = info_of(listener.local_address(io));
    NET_TRY(udp, UdpSocket::bind(io, IpAddress::v4_loopback(0)));
    NET_TRY_VOID(udp.close(io));
    o.udp_send = info_of(udp.send_to(io, b, at));
    o.udp_close = info_of(udp.close(io));
    // A handle the OS does not know: its own error, EBADF.
    TcpStream stray;
    stray.handle = 1'000'000;
    o.bad_fd_read = info_of(stray.read(io, b));
    TcpListener stray_listener{1'000'000};
    o.bad_fd_accept = info_of(stray_listener.accept(io));
    return o;
}

}  // namespace

TEMPLATE_LIST_TEST_CASE("net errors: closed sockets report closed, unknown handles EBADF", "[net][errors]", Backends) {
    Result<ClosedOut> r;
    auto leak = measure<TestType>([&] {
        TestType rt;
        r = rt.run(closed_sockets);
    });
    REQUIRE_NO_LEAK(leak);
    if (!r) FAIL(r.error().message());
    REQUIRE_ZSYNC_ERROR(r->read, Errc::closed, Op::recv);
    REQUIRE_ZSYNC_ERROR(r->write, Errc::closed, Op::send);
    REQUIRE_ZSYNC_ERROR(r->shutdown, Errc::closed, Op::shutdown);
    REQUIRE_ZSYNC_ERROR(r->close_again, Errc::closed, Op::close);
    REQUIRE_ZSYNC_ERROR(r->accept, Errc::closed, Op::accept);
    REQUIRE_ZSYNC_ERROR(r->local, Errc::closed, Op::getsockname);
    REQUIRE_ZSYNC_ERROR(r->udp_send, Errc::closed, Op::sendto);
    REQUIRE_ZSYNC_ERROR(r->udp_close, Errc::closed, Op::close);
    REQUIRE_OS_ERROR(r->bad_fd_read, std::errc::bad_file_descriptor, Op::recv);
    REQUIRE_OS_ERROR(r->bad_fd_accept, std::errc::bad_file_descriptor, Op::accept);
}

namespace {
struct ResetOut {
    ErrInfo read_after_reset;
    ErrInfo write_after_close;
    int writes_before_error = 0;
};

Result<ResetOut> peer_resets(Io io) {
    ResetOut o;
    NET_TRY(listener, TcpListener::listen(io, IpAddress::v4_loopback(0)));
    NET_TRY(at, listener.local_address(io));
    // 1. The server closes with linger 0: the kernel sends a reset; the client's read sees ECONNRESET.
    {
        NET_TRY(client, TcpStream::connect(io, at));
        NET_TRY(acc, listener.accept(io));
        NET_TRY_VOID(acc.stream.set_option(io, SocketOption::linger, 0));
        NET_TRY_VOID(acc.stream.close(io));
        std::byte b[16];
        o.read_after_reset = info_of(client.read(io, b, Deadline::after(std::chrono::seconds(10))));
        NET_TRY_VOID(client.close(io));
    }
    // 2. The server closes normally; the client keeps writing. The first write is answered by a reset,
    //    later ones fail with EPIPE (or ECONNRESET) — and no SIGPIPE ends the process.
    {
        NET_TRY(client, TcpStream::connect(io, at));
        NET_TRY(acc, listener.accept(io));
        NET_TRY_VOID(acc.stream.close(io));
        char chunk[512] = {};
        for (int i = 0; i < 1000; ++i) {
            auto w = client.write(io, std::as_bytes(std::span(chunk)));
            if (!w) { o.write_after_close = info_of(w); break; }
            ++o.writes_before_error;
            NET_TRY_VOID(io.sleep(std::chrono::milliseconds(1)));
        }
        NET_TRY_VOID(client.close(io));
    }
    NET_TRY_VOID(listener.close(io));
    return o;
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("net errors: a peer that resets, and writes to a closed peer (no SIGPIPE)", "[net][errors]", Backends) {
    Result<ResetOut> r;
    auto leak = measure<TestType>([&] {
        TestType rt;
        r = rt.run(peer_resets);
    });
    REQUIRE_NO_LEAK(leak);
    if (!r) FAIL(r.error().message());
    REQUIRE_OS_ERROR(r->read_after_reset, std::errc::connection_reset, Op::recv);
    REQUIRE(r->write_after_close.failed);
    CHECK(r->write_after_close.op == Op::send);
    CHECK((r->write_after_close.error.is(std::errc::broken_pipe) || r->write_after_close.error.is(std::errc::connection_reset)));
    CHECK(r->writes_before_error >= 1);
}

namespace {
struct AddrOut {
    ErrInfo in_use, unix_in_use, refused, unix_missing, parse, unix_too_long, unknown_host, empty_host, nul_host;
};

Result<AddrOut> address_errors(Io io, std::string unix_path) {
    AddrOut o;
    NET_TRY(listener, TcpListener::listen(io, IpAddress::v4_loopback(0)));
    NET_TRY(at, listener.local_address(io));
    o.in_use = info_of(TcpListener::listen(io, at));  // SO_REUSEADDR does not allow a second listener
    // A port nobody listens on: bind a listener, learn its port, close it.
    NET_TRY(gone, TcpListener::listen(io, IpAddress::v4_loopback(0)));
    NET_TRY(gone_at, gone.local_address(io));
    NET_TRY_VOID(gone.close(io));
    o.refused = info_of(TcpStream::connect(io, gone_at));
    NET_TRY(uaddr, UnixAddress::make(unix_path));
    NET_TRY(ul, UnixListener::listen(io, uaddr));
    o.unix_in_use = info_of(UnixListener::listen(io, uaddr));
    NET_TRY(missing, UnixAddress::make(unix_path + ".missing"));
    o.unix_missing = info_of(UnixStream::connect(io, missing));
    o.parse = info_of(IpAddress::parse("127.0.0.1:99999"));
    o.unix_too_long = info_of(UnixAddress::make(std::string(200, 'x')));
    o.unknown_host = info_of(lookup(io, "no-such-host.invalid", 80));
    o.empty_host = info_of(lookup(io, "", 80));
    o.nul_host = info_of(lookup(io, std::string_view("local\0host", 10), 80));
    NET_TRY_VOID(ul.close(io));
    NET_TRY_VOID(listener.close(io));
    return o;
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("net errors: addresses in use, refused, bad and unknown addresses", "[net][errors]", Backends) {
    SocketPath path;
    std::string p = path.path;
    Result<AddrOut> r;
    auto leak = measure<TestType>([&] {
        TestType rt;
        r = rt.run(address_errors, p);
    });
    REQUIRE_NO_LEAK(leak);
    if (!r) FAIL(r.error().message());
    REQUIRE_OS_ERROR(r->in_use, std::errc::address_in_use, Op::bind);
    REQUIRE_OS_ERROR(r->unix_in_use, std::errc::address_in_use, Op::bind);
    REQUIRE_OS_ERROR(r->refused, std::errc::connection_refused, Op::connect);
    REQUIRE_OS_ERROR(r->unix_missing, std::errc::no_such_file_or_directory, Op::connect);
    REQUIRE_ZSYNC_ERROR(r->parse, Errc::invalid_argument, Op::parse_address);
    REQUIRE_ZSYNC_ERROR(r->unix_too_long, Errc::name_too_long, Op::parse_address);
    // ".invalid" never resolves (RFC 6761). Without a reachable resolver the answer may be a failure
    // rather than "not found": both are clear, named lookup errors.
    REQUIRE(r->unknown_host.failed);
    CHECK(r->unknown_host.op == Op::lookup);
    CHECK((r->unknown_host.code == Errc::name_not_found || r->unknown_host.code == Errc::name_lookup_failed));
    CHECK(message_names_op(r->unknown_host.error, "lookup"));
    REQUIRE_ZSYNC_ERROR(r->empty_host, Errc::invalid_argument, Op::lookup);
    REQUIRE_ZSYNC_ERROR(r->nul_host, Errc::invalid_argument, Op::lookup);
}

namespace {
struct TimeoutOut {
    ErrInfo recv, accept, unix_accept, udp_recv;
    double recv_ms = 0, accept_ms = 0;
    bool data_after_timeout = false;
};

Result<TimeoutOut> timeouts(Io io, std::string unix_path) {
    TimeoutOut o;
    using namespace std::chrono;
    NET_TRY(listener, TcpListener::listen(io, IpAddress::v4_loopback(0)));
    NET_TRY(at, listener.local_address(io));
    auto t0 = SteadyClock::now();
    o.accept = info_of(listener.accept(io, Deadline::after(milliseconds(50))));
    o.accept_ms = ms_since(t0);
    NET_TRY(client, TcpStream::connect(io, at));
    NET_TRY(acc, listener.accept(io, Deadline::after(seconds(10))));
    std::byte b[8];
    t0 = SteadyClock::now();
    o.recv = info_of(client.read(io, b, Deadline::after(milliseconds(50))));
    o.recv_ms = ms_since(t0);
    // The stream still works after a timed-out read: data sent now arrives, within the deadline.
    NET_TRY_VOID(acc.stream.write_all(io, "x", Deadline::after(seconds(10))));
    NET_TRY(n, client.read(io, b, Deadline::after(seconds(10))));
    o.data_after_timeout = n == 1 && b[0] == std::byte{'x'};
    NET_TRY(uaddr, UnixAddress::make(unix_path));
    NET_TRY(ul, UnixListener::listen(io, uaddr));
    o.unix_accept = info_of(ul.accept(io, Deadline::after(milliseconds(20))));
    NET_TRY(udp, UdpSocket::bind(io, IpAddress::v4_loopback(0)));
    o.udp_recv = info_of(udp.receive_from(io, b, Deadline::after(milliseconds(20))));
    NET_TRY_VOID(udp.close(io));
    NET_TRY_VOID(ul.close(io));
    NET_TRY_VOID(acc.stream.close(io));
    NET_TRY_VOID(client.close(io));
    NET_TRY_VOID(listener.close(io));
    return o;
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("net timeouts: recv, accept, receive_from", "[net][timeout]", Backends) {
    SocketPath path;
    std::string p = path.path;
    Result<TimeoutOut> r;
    auto leak = measure<TestType>([&] {
        TestType rt;
        r = rt.run(timeouts, p);
    });
    REQUIRE_NO_LEAK(leak);
    if (!r) FAIL(r.error().message());
    REQUIRE_ZSYNC_ERROR(r->accept, Errc::timeout, Op::accept);
    REQUIRE_ZSYNC_ERROR(r->recv, Errc::timeout, Op::recv);
    REQUIRE_ZSYNC_ERROR(r->unix_accept, Errc::timeout, Op::accept);
    REQUIRE_ZSYNC_ERROR(r->udp_recv, Errc::timeout, Op::recvfrom);
    CHECK(r->accept_ms >= 45);
    CHECK(r->accept_ms < 2000);
    CHECK(r->recv_ms >= 45);
    CHECK(r->recv_ms < 2000);
    CHECK(r->data_after_timeout);
}

namespace {
// Connect timeout without leaving loopback: a listener with backlog 0 that never accepts. Linux lets one
// connection into the full accept queue and then drops further SYNs, so a later connect waits (the
// client retransmits) until its deadline. Up to 8 attempts, in case the queue takes more than one.
struct ConnectTimeoutOut {
    ErrInfo tcp, unix_;
    int tcp_connected_first = 0, unix_connected_first = 0;
    double tcp_ms = 0, unix_ms = 0;
};

Result<ConnectTimeoutOut> connect_timeouts(Io io, std::string unix_path) {
    using namespace std::chrono;
    ConnectTimeoutOut o;
    NET_TRY(listener, TcpListener::listen(io, IpAddress::v4_loopback(0), 0));
    NET_TRY(at, listener.local_address(io));
    TcpStream held[8];
    for (int i = 0; i < 8; ++i) {
        auto t0 = SteadyClock::now();
        auto c = TcpStream::connect(io, at, Deadline::after(milliseconds(100)));
        if (c) { held[o.tcp_connected_first++] = *c; continue; }
        o.tcp_ms = ms_since(t0);
        o.tcp = info_of(c);
        break;
    }
    for (int i = 0; i < o.tcp_connected_first; ++i) (void)held[i].close(io);
    NET_TRY_VOID(listener.close(io));

    NET_TRY(uaddr, UnixAddress::make(unix_path));
    NET_TRY(ul, UnixListener::listen(io, uaddr, 0));
    UnixStream uheld[8];
    for (int i = 0; i < 8; ++i) {
        auto t0 = SteadyClock::now();
        auto c = UnixStream::connect(io, uaddr, Deadline::after(milliseconds(100)));
        if (c) { uheld[o.unix_connected_first++] = *c; continue; }
        o.unix_ms = ms_since(t0);
        o.unix_ = info_of(c);
        break;
    }
    for (int i = 0; i < o.unix_connected_first; ++i) (void)uheld[i].close(io);
    NET_TRY_VOID(ul.close(io));
    return o;
}
}  // namespace

TEMPLATE_LIST_TEST_CASE("net timeouts: connect to a listener whose backlog is full", "[net][timeout]", Backends) {
    SocketPath path;
    std::string p = path.path;
    Result<ConnectTimeoutOut> r;
    auto leak = measure<TestType>([&] {
        TestType rt;
        r = rt.run(connect_timeouts, p);
    });
    REQUIRE_NO_LEAK(leak);
    if (!r) FAIL(r.error().message());
    INFO("tcp connected " << r->tcp_connected_first << " first; unix " << r->unix_connected_first);
    REQUIRE_ZSYNC_ERROR(r->tcp, Errc::timeout, Op::connect);
    REQUIRE_ZSYNC_ERROR(r->unix_, Errc::timeout, Op::connect);
    CHECK(r->tcp_ms >= 90);
    CHECK(r->tcp_ms < 3000);
    CHECK(r->unix_ms >= 90);
    CHECK(r->unix_ms < 3000);
}
