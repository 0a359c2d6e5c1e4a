// zsync:net — addresses and sockets, as library code over Io::operate.
//
// The address types are zsync's own (no OS header reaches an importer): IpAddress is an IPv4 or IPv6
// address with a port, UnixAddress a Unix socket path. The socket types are plain handle values, like
// File: copying one does not duplicate the OS handle and nothing closes it implicitly; close(io)
// releases it (not a cancel point), after which every call reports Errc::closed. Every other call is a
// cancel point; the ones that wait (accept, connect, read, write, receive_from) are interrupted by
// cancellation on every backend, and take an optional Deadline (Errc::timeout when it passes).
// Writes never raise SIGPIPE: a closed peer is an EPIPE (or ECONNRESET) Error.
//
// Name lookup (lookup) runs getaddrinfo on the calling thread on every backend for now: it cannot be
// interrupted or bounded, so cancellation is checked only before it starts (best effort), and a slow
// resolver blocks the thread (a pool worker, on ThreadPoolIo) until it answers.
module;
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
export module zsync:net;
import :error;
import :result;
import :time;
import :operation;
import :io;

export namespace zsync {

// An IPv4 or IPv6 address and a port. Trivially copyable; compares all fields.
class IpAddress {
public:
    constexpr IpAddress() noexcept = default;  // 0.0.0.0:0

    static constexpr IpAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d, std::uint16_t port = 0) noexcept {
        IpAddress r;
        r.bytes_[0] = a; r.bytes_[1] = b; r.bytes_[2] = c; r.bytes_[3] = d;
        r.port_ = port;
        return r;
    }
    // From 16 bytes in network order (and an optional scope id for link-local addresses).
    static constexpr IpAddress v6(const std::array<std::uint8_t, 16>& b, std::uint16_t port = 0, std::uint32_t scope_id = 0) noexcept {
        IpAddress r;
        r.v6_ = true;
        for (int i = 0; i < 16; ++i) r.bytes_[i] = b[i];
        r.port_ = port;
        r.scope_ = scope_id;
        return r;
    }
    static constexpr IpAddress v4_loopback(std::uint16_t port = 0) noexcept { return v4(127, 0, 0, 1, port); }
    static constexpr IpAddress v4_any(std::uint16_t port = 0) noexcept { return v4(0, 0, 0, 0, port); }
    static constexpr IpAddress v6_loopback(std::uint16_t port = 0) noexcept {
        std::array<std::uint8_t, 16> b{};
        b[15] = 1;
        return v6(b, port);
    }
    static constexpr IpAddress v6_any(std::uint16_t port = 0) noexcept { return v6({}, port); }

    // "127.0.0.1:8080", "[::1]:8080", "[fe80::1%2]:80". The port is required. Errors:
    // Errc::invalid_argument with Op::parse_address.
    static Result<IpAddress> parse(std::string_view text) noexcept;
    // A host literal without a port ("10.0.0.1", "::1", "fe80::1%2"), with `port`.
    static Result<IpAddress> parse(std::string_view host, std::uint16_t port) noexcept;

    inline constexpr bool is_v4() const noexcept { return !v6_; }
    inline constexpr bool is_v6() const noexcept { return v6_; }
    inline constexpr std::uint16_t port() const noexcept { return port_; }
    inline constexpr std::uint32_t scope_id() const noexcept { return scope_; }
    // 4 (IPv4) or 16 (IPv6) bytes in network order.
    inline std::span<const std::uint8_t> bytes() const noexcept { return {bytes_, v6_ ? 16u : 4u}; }
    inline constexpr IpAddress with_port(std::uint16_t p) const noexcept { IpAddress r = *this; r.port_ = p; return r; }
    bool is_loopback() const noexcept;
    bool is_unspecified() const noexcept;

    // "127.0.0.1:8080" / "[::1]:8080" (RFC 5952: lower case, the longest run of zeros as ::).
    std::string to_string() const;
    // The address without the port: "127.0.0.1" / "::1".
    std::string host_string() const;

    // The Operation form, and back (ipv4/ipv6 only; anything else is invalid_argument).
    SocketAddress to_socket_address() const noexcept;
    static Result<IpAddress> from_socket_address(const SocketAddress& a, Op op = Op::parse_address) noexcept;

    friend constexpr bool operator==(const IpAddress&, const IpAddress&) noexcept = default;

private:
    std::uint8_t bytes_[16]{};
    std::uint16_t port_ = 0;
    bool v6_ = false;
    std::uint32_t scope_ = 0;
};

// A Unix socket path (at most SocketAddress::max_path bytes). A leading NUL names a Linux abstract
// socket (no file is made).
class UnixAddress {
public:
    UnixAddress() = default;
    // Errors: name_too_long past max_path bytes; invalid_argument for an empty path or one with a NUL
    // after the first byte (both with Op::parse_address).
    static Result<UnixAddress> make(std::string_view path);
    inline const std::string& path() const noexcept { return path_; }
    SocketAddress to_socket_address() const noexcept;
    static UnixAddress from_socket_address(const SocketAddress& a);
    friend bool operator==(const UnixAddress&, const UnixAddress&) = default;

private:
    std::string path_;
};

// A connected stream socket (TCP or Unix): the reads and writes both kinds share.
class StreamSocket {
public:
    Handle handle = invalid_handle;

    inline bool is_open() const noexcept { return handle != invalid_handle; }

    // Up to b.size() bytes; 0 at the end of the stream (and for an empty buffer). Inline (the hot path,
    // as File::read: a function defined in a class of a named module is not implicitly inline).
    inline Result<std::size_t> read(Io io, std::span<std::byte> b, Deadline d = ::zsync::Deadline::never()) const noexcept {
        if (handle == invalid_handle) [[unlikely]] return Error(Errc::closed, Op::recv);
        return sized(io, Operation::recv(handle, b, d));
    }
    // Up to data.size() bytes; how many were sent.
    inline Result<std::size_t> write(Io io, std::span<const std::byte> data, Deadline d = ::zsync::Deadline::never()) const noexcept {
        if (handle == invalid_handle) [[unlikely]] return Error(Errc::closed, Op::send);
        return sized(io, Operation::send(handle, data, d));
    }
    // Waits until the socket is ready for `events` (readable and/or writable) without transferring
    // anything: the ready events, plus error / hang_up whenever they hold (Operation::poll). A cancel
    // point that may wait; Errc::timeout when nothing is ready before the deadline.
    inline Result<PollEvents> wait_ready(Io io, PollEvents events, Deadline d = ::zsync::Deadline::never()) const noexcept {
        if (handle == invalid_handle) [[unlikely]] return Error(Errc::closed, Op::poll);
        Operation op = Operation::poll(handle, events, d);
        io.vtable->operate(io.ctx, op);
        if (!op.result) return op.result.error();
        return poll_events_of(*op.result);
    }
    // All of `data`, retrying short writes, before the deadline.
    Result<void> write_all(Io io, std::span<const std::byte> data, Deadline d = ::zsync::Deadline::never()) const noexcept;
    Result<void> write_all(Io io, std::string_view text, Deadline d = ::zsync::Deadline::never()) const noexcept;
    // Fills `buffer`, or end_of_stream (op recv) if the peer finishes first (the bytes read so far are
    // in the buffer).
    Result<void> read_exact(Io io, std::span<std::byte> buffer, Deadline d = ::zsync::Deadline::never()) const noexcept;
    Result<void> shutdown(Io io, ShutdownHow how) const noexcept;
    Result<void> set_option(Io io, SocketOption option, std::int32_t value) const noexcept;
    // Closes the handle and sets it invalid. Not a cancel point.
    Result<void> close(Io io) noexcept;

private:
    static inline Result<std::size_t> sized(Io io, Operation op) noexcept {
        io.vtable->operate(io.ctx, op);
        if (!op.result) return op.result.error();
        return static_cast<std::size_t>(*op.result);
    }
};

class TcpStream : public StreamSocket {
public:
    // Connects to `addr`; Errc::timeout if not connected by `d`.
    static Result<TcpStream> connect(Io io, const IpAddress& addr, Deadline d = ::zsync::Deadline::never()) noexcept;
    Result<IpAddress> local_address(Io io) const noexcept;
    Result<IpAddress> peer_address(Io io) const noexcept;
};

class TcpListener {
public:
    Handle handle = invalid_handle;

    struct Accepted;
    // Binds `addr` (port 0: the OS chooses; see local_address) and listens.
    static Result<TcpListener> listen(Io io, const IpAddress& addr, int backlog = 128, bool reuse_address = true) noexcept;
    // The next connection and its peer; Errc::timeout if none arrives by `d`.
    Result<Accepted> accept(Io io, Deadline d = ::zsync::Deadline::never()) const noexcept;
    Result<IpAddress> local_address(Io io) const noexcept;
    Result<void> close(Io io) noexcept;
};

struct TcpListener::Accepted {
    TcpStream stream;
    IpAddress peer;
};

class UnixStream : public StreamSocket {
public:
    static Result<UnixStream> connect(Io io, const UnixAddress& addr, Deadline d = ::zsync::Deadline::never()) noexcept;
};

class UnixListener {
public:
    Handle handle = invalid_handle;
    // Binds `addr` (the file must not exist: EADDRINUSE) and listens. close() does not remove the file.
    static Result<UnixListener> listen(Io io, const UnixAddress& addr, int backlog = 128) noexcept;
    Result<UnixStream> accept(Io io, Deadline d = ::zsync::Deadline::never()) const noexcept;
    Result<void> close(Io io) noexcept;
};

// Two connected Unix stream sockets.
Result<std::pair<UnixStream, UnixStream>> socket_pair(Io io) noexcept;

class UdpSocket {
public:
    Handle handle = invalid_handle;

    struct Received {
        std::size_t size;  // bytes of the datagram stored (a longer one is truncated)
        IpAddress from;
    };
    // A socket bound to `addr` (port 0: the OS chooses).
    static Result<UdpSocket> bind(Io io, const IpAddress& addr, bool reuse_address = false) noexcept;
    // One datagram; how many bytes were sent.
    Result<std::size_t> send_to(Io io, std::span<const std::byte> data, const IpAddress& to, Deadline d = ::zsync::Deadline::never()) const noexcept;
    Result<Received> receive_from(Io io, std::span<std::byte> buffer, Deadline d = ::zsync::Deadline::never()) const noexcept;
    Result<IpAddress> local_address(Io io) const noexcept;
    Result<void> set_option(Io io, SocketOption option, std::int32_t value) const noexcept;
    Result<void> close(Io io) noexcept;
};

// The addresses `host` resolves to (IPv4 and IPv6), each with `port`; an IP literal is returned as is
// without asking the resolver. Errors (op lookup): name_not_found for an unknown host,
// name_lookup_failed when the resolver fails, invalid_argument for an empty host or one with a NUL.
// Runs on the calling thread; cancellation only before it starts (see the top of this file).
Result<std::vector<IpAddress>> lookup(Io io, std::string_view host, std::uint16_t port);

}  // namespace zsync

// What zsync-gen's frames call for the socket leaves (codegen/src/leaves.def): the Operation the
// stackful function performs, or, on a closed handle, a nop Operation carrying the same `closed` error
// (no wait).
export namespace zsync::gen {

inline Operation socket_operation(Handle handle, Op code, const Operation& op) noexcept {
    if (handle != invalid_handle) return op;
    Operation closed = Operation::nop();
    closed.result = Error(Errc::closed, code);
    return closed;
}

}  // namespace zsync::gen
