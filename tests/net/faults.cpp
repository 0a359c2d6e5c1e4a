// Every step of the socket constructors failing or cancelled in turn (FaultIo over BlockingIo): the
// error names the step, and a socket made by an earlier step is closed (no fd leaks). And Operations
// with arguments no OS call could take are refused with invalid_argument naming the operation.
#include <catch2/catch.hpp>
#include "net_support.hpp"

using namespace zsync;
using namespace zsync::test;
using namespace zsync::test::net;
using zsync::testing::FaultIo;

namespace {

enum class Ctor { tcp_listen, tcp_connect, udp_bind, unix_listen, unix_connect };

const char* ctor_name(Ctor c) {
    switch (c) {
    case Ctor::tcp_listen: return "TcpListener::listen";
    case Ctor::tcp_connect: return "TcpStream::connect";
    case Ctor::udp_bind: return "UdpSocket::bind";
    case Ctor::unix_listen: return "UnixListener::listen";
    default: return "UnixStream::connect";
    }
}

// Runs the constructor through `io`; closes what it made (through the inner Io, not counted).
Result<void> construct(Io io, Io inner, Ctor c, IpAddress tcp_at, const UnixAddress& unix_at, const UnixAddress& fresh_unix) {
    switch (c) {
    case Ctor::tcp_listen: {
        auto r = TcpListener::listen(io, IpAddress::v4_loopback(0));
        if (!r) return r.error();
        return r->close(inner);
    }
    case Ctor::tcp_connect: {
        auto r = TcpStream::connect(io, tcp_at);
        if (!r) return r.error();
        return r->close(inner);
    }
    case Ctor::udp_bind: {
        auto r = UdpSocket::bind(io, IpAddress::v4_loopback(0));
        if (!r) return r.error();
        return r->close(inner);
    }
    case Ctor::unix_listen: {
        auto r = UnixListener::listen(io, fresh_unix);
        if (!r) return r.error();
        ::unlink(fresh_unix.path().c_str());
        return r->close(inner);
    }
    default: {
        auto r = UnixStream::connect(io, unix_at);
        if (!r) return r.error();
        return r->close(inner);
    }
    }
}

}  // namespace

TEST_CASE("net faults: each step of a socket constructor failing or cancelled leaks nothing", "[net][faults]") {
    BlockingIo rt;
    Io inner = rt.io();
    SocketPath unix_path, fresh_path;
    auto listener = TcpListener::listen(inner, IpAddress::v4_loopback(0), 4096);
    REQUIRE(listener);
    auto at = listener->local_address(inner);
    REQUIRE(at);
    auto ua = UnixAddress::make(unix_path.path);
    auto fresh = UnixAddress::make(fresh_path.path);
    REQUIRE(ua);
    REQUIRE(fresh);
    auto ul = UnixListener::listen(inner, *ua, 4096);
    REQUIRE(ul);
    for (Ctor c : {Ctor::tcp_listen, Ctor::tcp_connect, Ctor::udp_bind, Ctor::unix_listen, Ctor::unix_connect}) {
        for (bool cancel : {false, true}) {
            for (std::uint64_t k = 1;; ++k) {
                INFO(ctor_name(c) << ", " << (cancel ? "cancelled" : "failing") << " at operation " << k);
                FaultIo fio(inner);
                if (cancel) fio.cancel_at(k);
                else fio.fail_at(k, Errc::system, 5 /* EIO */);
                int fds_before = open_fd_count();
                auto r = construct(fio.io(), inner, c, *at, *ua, *fresh);
                ::unlink(fresh_path.path.c_str());
                // drain the connections the connect steps queued (the listeners' backlog is large)
                while (true) {
                    auto a = listener->accept(inner, Deadline::after(std::chrono::milliseconds(0)));
                    if (!a) break;
                    (void)a->stream.close(inner);
                }
                while (true) {
                    auto a = ul->accept(inner, Deadline::after(std::chrono::milliseconds(0)));
                    if (!a) break;
                    (void)a->close(inner);
                }
                CHECK(open_fd_count() == fds_before);
                if (!fio.fired()) {
                    CHECK(r);
                    CHECK(k > 1);
                    break;
                }
                REQUIRE_FALSE(r);
                auto trace = fio.trace();
                REQUIRE(trace.size() >= k);
                CHECK(r.error().op() == trace[k - 1].op);  // the error names the step that failed
                CHECK(r.error().code() == (cancel ? Errc::canceled : Errc::system));
                REQUIRE(k < 10);
            }
        }
    }
    (void)ul->close(inner);
    (void)listener->close(inner);
}

TEMPLATE_LIST_TEST_CASE("net operations refuse arguments no OS call could take", "[net][errors]", Backends) {
    TestType rt;
    Io io = rt.io();
    auto run = [&](Operation op) { return io.operate(op); };
    auto err = [&](Operation op) { return info_of(run(op)); };
    SocketAddress none;  // family unspecified
    SocketAddress nul_path = UnixAddress::make("/tmp/x")->to_socket_address();
    nul_path.path[2] = '\0';  // a NUL inside a path (not an abstract name)
    SocketAddress empty_unix;
    empty_unix.family = AddressFamily::unix_path;
    Handle pair[2] = {invalid_handle, invalid_handle};
    auto sock = run(Operation::socket(AddressFamily::ipv4, SocketType::stream));
    REQUIRE(sock);
    Handle s = static_cast<Handle>(*sock);
    std::byte b[4]{};
    REQUIRE_ZSYNC_ERROR(err(Operation::socket(AddressFamily::unspecified, SocketType::stream)), Errc::invalid_argument, Op::socket);
    REQUIRE_ZSYNC_ERROR(err(Operation::bind(s, none)), Errc::invalid_argument, Op::bind);
    REQUIRE_ZSYNC_ERROR(err(Operation::connect(s, none)), Errc::invalid_argument, Op::connect);
    REQUIRE_ZSYNC_ERROR(err(Operation::connect(s, nul_path)), Errc::invalid_argument, Op::connect);
    REQUIRE_ZSYNC_ERROR(err(Operation::connect(s, empty_unix)), Errc::invalid_argument, Op::connect);
    REQUIRE_ZSYNC_ERROR(err(Operation::sendto(s, b, none)), Errc::invalid_argument, Op::sendto);
    REQUIRE_ZSYNC_ERROR(err(Operation::socketpair(pair, AddressFamily::unspecified)), Errc::invalid_argument, Op::socketpair);
    REQUIRE_ZSYNC_ERROR(err(Operation::setsockopt(s, static_cast<SocketOption>(99), 1)), Errc::invalid_argument, Op::setsockopt);
    REQUIRE_ZSYNC_ERROR(err(Operation::shutdown(s, static_cast<ShutdownHow>(9))), Errc::invalid_argument, Op::shutdown);
    LookupAnswer answers[2];
    REQUIRE_ZSYNC_ERROR(err(Operation::lookup(std::string(2000, 'a'), 1, answers)), Errc::name_too_long, Op::lookup);
    REQUIRE_ZSYNC_ERROR(err(Operation::lookup("localhost", 1, answers, AddressFamily::unix_path)), Errc::invalid_argument, Op::lookup);
    // A socket that is not connected: the OS's own errors, named.
    REQUIRE_OS_ERROR(err(Operation::recv(s, b)), std::errc::not_connected, Op::recv);
    REQUIRE_OS_ERROR(err(Operation::send(s, b)), std::errc::broken_pipe, Op::send);
    REQUIRE_OS_ERROR(err(Operation::getpeername(s, none)), std::errc::not_connected, Op::getpeername);
    // A datagram socket pair works at the Operation level too.
    auto pr = run(Operation::socketpair(pair, AddressFamily::unix_path, SocketType::datagram));
    REQUIRE(pr);
    REQUIRE(run(Operation::send(pair[0], std::as_bytes(std::span("dgram", 5)))));
    char got[16];
    auto n = run(Operation::recv(pair[1], wbytes(got, sizeof got), Deadline::after(std::chrono::seconds(5))));
    REQUIRE(n);
    CHECK(std::string_view(got, *n) == "dgram");
    for (Handle h : {s, pair[0], pair[1]}) CHECK(run(Operation::close(h)));
}
