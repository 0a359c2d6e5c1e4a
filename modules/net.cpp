// Addresses (parsing and formatting, OS-independent) and sockets over Io::operate (no OS calls here).
module;
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
module zsync;

namespace zsync {

namespace {

Error bad_address() noexcept { return Error(Errc::invalid_argument, Op::parse_address); }

Result<std::uint64_t> run(Io io, Operation& op) noexcept {
    io.vtable->operate(io.ctx, op);
    return op.result;
}
Result<void> done(Io io, Operation&& op) noexcept {
    io.vtable->operate(io.ctx, op);
    if (!op.result) return op.result.error();
    return {};
}
// A closed socket value (handle invalid) fails before reaching the OS.
Error closed(Op op) noexcept { return Error(Errc::closed, op); }

// Decimal digits only, value <= max; false on anything else (empty, sign, overflow).
bool parse_decimal(std::string_view s, std::uint32_t max, std::uint32_t& out) noexcept {
    if (s.empty() || s.size() > 10) return false;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + std::uint64_t(c - '0');
    }
    if (v > max) return false;
    out = static_cast<std::uint32_t>(v);
    return true;
}

// Dotted quad: four decimal parts 0-255; a part with a leading zero ("01") is refused, since C's
// inet_aton would read it as octal.
bool parse_v4(std::string_view s, std::uint8_t out[4]) noexcept {
    for (int i = 0; i < 4; ++i) {
        std::size_t dot = i < 3 ? s.find('.') : s.size();
        if (dot == std::string_view::npos) return false;
        std::string_view part = s.substr(0, dot);
        if (part.size() > 3 || (part.size() > 1 && part[0] == '0')) return false;
        std::uint32_t v;
        if (!parse_decimal(part, 255, v)) return false;
        out[i] = static_cast<std::uint8_t>(v);
        s = i < 3 ? s.substr(dot + 1) : std::string_view{};
    }
    return true;
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// RFC 4291 text form: up to eight groups of 1-4 hex digits, one "::" for a run of zero groups, an
// optional dotted quad in the last 32 bits.
bool parse_v6(std::string_view s, std::uint8_t out[16]) noexcept {
    std::uint16_t groups[8]{};
    int n = 0, gap = -1;
    if (s.size() < 2) return false;
    if (s.starts_with("::")) { gap = 0; s.remove_prefix(2); if (s.empty()) { std::memset(out, 0, 16); return true; } }
    else if (s[0] == ':') return false;
    for (;;) {
        std::size_t colon = s.find(':');
        std::string_view part = s.substr(0, colon);
        if (part.find('.') != std::string_view::npos) {  // embedded IPv4: must be last
            if (colon != std::string_view::npos || n > 6) return false;
            std::uint8_t q[4];
            if (!parse_v4(part, q)) return false;
            groups[n++] = std::uint16_t(q[0] << 8 | q[1]);
            groups[n++] = std::uint16_t(q[2] << 8 | q[3]);
            break;
        }
        if (part.empty() || part.size() > 4 || n == 8) return false;
        std::uint32_t v = 0;
        for (char c : part) {
            int h = hex_value(c);
            if (h < 0) return false;
            v = v << 4 | std::uint32_t(h);
        }
        groups[n++] = static_cast<std::uint16_t>(v);
        if (colon == std::string_view::npos) break;
        s.remove_prefix(colon + 1);
        if (s.starts_with(":")) {  // "::" in the middle (or at the end)
            if (gap >= 0) return false;
            gap = n;
            s.remove_prefix(1);
            if (s.empty()) break;
        } else if (s.empty()) {
            return false;  // a trailing single ':'
        }
    }
    if (gap < 0 && n != 8) return false;
    if (gap >= 0 && n > 7) return false;
    std::uint16_t full[8]{};
    if (gap < 0) {
        for (int i = 0; i < 8; ++i) full[i] = groups[i];
    } else {
        int tail = n - gap;
        for (int i = 0; i < gap; ++i) full[i] = groups[i];
        for (int i = 0; i < tail; ++i) full[8 - tail + i] = groups[gap + i];
    }
    for (int i = 0; i < 8; ++i) {
        out[2 * i] = static_cast<std::uint8_t>(full[i] >> 8);
        out[2 * i + 1] = static_cast<std::uint8_t>(full[i]);
    }
    return true;
}

// A host literal: IPv4, or IPv6 with an optional numeric "%scope".
bool parse_host(std::string_view host, IpAddress& out, std::uint16_t port) noexcept {
    std::uint8_t b[16];
    if (host.find(':') == std::string_view::npos) {
        if (!parse_v4(host, b)) return false;
        out = IpAddress::v4(b[0], b[1], b[2], b[3], port);
        return true;
    }
    std::uint32_t scope = 0;
    if (auto pct = host.find('%'); pct != std::string_view::npos) {
        if (!parse_decimal(host.substr(pct + 1), 0xffff'ffffu, scope)) return false;
        host = host.substr(0, pct);
    }
    if (!parse_v6(host, b)) return false;
    std::array<std::uint8_t, 16> a;
    std::memcpy(a.data(), b, 16);
    out = IpAddress::v6(a, port, scope);
    return true;
}

void append_v4(std::string& s, const std::uint8_t* b) {
    for (int i = 0; i < 4; ++i) {
        if (i) s += '.';
        s += std::to_string(b[i]);
    }
}

}  // namespace

// ---- IpAddress ------------------------------------------------------------------------------------

Result<IpAddress> IpAddress::parse(std::string_view text) noexcept {
    std::string_view host, port_text;
    if (text.starts_with("[")) {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return bad_address();
        host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
        if (host.find(':') == std::string_view::npos) return bad_address();  // brackets are for IPv6
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return bad_address();
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return bad_address();  // IPv6 needs brackets
    }
    std::uint32_t port;
    if (port_text.size() > 5 || !parse_decimal(port_text, 65535, port)) return bad_address();
    return parse(host, static_cast<std::uint16_t>(port));
}

Result<IpAddress> IpAddress::parse(std::string_view host, std::uint16_t port) noexcept {
    IpAddress a;
    if (!parse_host(host, a, port)) return bad_address();
    return a;
}

bool IpAddress::is_loopback() const noexcept {
    if (!v6_) return bytes_[0] == 127;
    for (int i = 0; i < 15; ++i) if (bytes_[i]) return false;
    return bytes_[15] == 1;
}

bool IpAddress::is_unspecified() const noexcept {
    for (int i = 0; i < (v6_ ? 16 : 4); ++i) if (bytes_[i]) return false;
    return true;
}

std::string IpAddress::host_string() const {
    std::string s;
    if (!v6_) {
        append_v4(s, bytes_);
        return s;
    }
    std::uint16_t g[8];
    for (int i = 0; i < 8; ++i) g[i] = std::uint16_t(bytes_[2 * i] << 8 | bytes_[2 * i + 1]);
    // IPv4-mapped (::ffff:a.b.c.d) is written with its dotted quad, as RFC 5952 §5 recommends.
    bool mapped = g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 && g[4] == 0 && g[5] == 0xffff;
    int words = mapped ? 6 : 8;
    // The longest run of two or more zero groups (the first one on a tie) becomes "::".
    int best = -1, best_len = 0;
    for (int i = 0; i < words;) {
        if (g[i] != 0) { ++i; continue; }
        int j = i;
        while (j < words && g[j] == 0) ++j;
        if (j - i > best_len) { best = i; best_len = j - i; }
        i = j;
    }
    if (best_len < 2) best = -1;
    static constexpr char hex[] = "0123456789abcdef";
    for (int i = 0; i < words;) {
        if (i == best) {
            s += "::";
            i += best_len;
            continue;
        }
        if (i != 0 && i != best + best_len) s += ':';  // right after "::" no separator
        char buf[4];
        int n = 0;
        for (int shift = 12; shift >= 0; shift -= 4) {
            int d = (g[i] >> shift) & 0xf;
            if (n || d || shift == 0) buf[n++] = hex[d];
        }
        s.append(buf, static_cast<std::size_t>(n));
        ++i;
    }
    if (mapped) {
        if (!s.ends_with(":")) s += ':';
        append_v4(s, bytes_ + 12);
    }
    if (scope_) {
        s += '%';
        s += std::to_string(scope_);
    }
    return s;
}

std::string IpAddress::to_string() const {
    std::string s;
    if (v6_) s += '[';
    s += host_string();
    if (v6_) s += ']';
    s += ':';
    s += std::to_string(port_);
    return s;
}

SocketAddress IpAddress::to_socket_address() const noexcept {
    SocketAddress a;
    a.family = v6_ ? AddressFamily::ipv6 : AddressFamily::ipv4;
    a.port = port_;
    a.scope_id = scope_;
    std::memcpy(a.ip, bytes_, v6_ ? 16 : 4);
    return a;
}

Result<IpAddress> IpAddress::from_socket_address(const SocketAddress& a, Op op) noexcept {
    IpAddress r;
    if (a.family == AddressFamily::ipv4) {
        r = v4(a.ip[0], a.ip[1], a.ip[2], a.ip[3], a.port);
    } else if (a.family == AddressFamily::ipv6) {
        std::array<std::uint8_t, 16> b;
        std::memcpy(b.data(), a.ip, 16);
        r = v6(b, a.port, a.scope_id);
    } else {
        return Error(Errc::invalid_argument, op);
    }
    return r;
}

// ---- UnixAddress ----------------------------------------------------------------------------------

Result<UnixAddress> UnixAddress::make(std::string_view path) {
    if (path.size() > SocketAddress::max_path) return Error(Errc::name_too_long, Op::parse_address);
    if (path.empty() || path.substr(1).find('\0') != std::string_view::npos) return bad_address();
    UnixAddress u;
    u.path_ = std::string(path);
    return u;
}

SocketAddress UnixAddress::to_socket_address() const noexcept {
    SocketAddress a;
    a.family = AddressFamily::unix_path;
    std::size_t n = path_.size() > SocketAddress::max_path ? SocketAddress::max_path : path_.size();
    std::memcpy(a.path, path_.data(), n);
    a.path_len = static_cast<std::uint8_t>(n);
    return a;
}

UnixAddress UnixAddress::from_socket_address(const SocketAddress& a) {
    UnixAddress u;
    u.path_.assign(a.path, a.path_len);
    return u;
}

// ---- StreamSocket ---------------------------------------------------------------------------------

Result<void> StreamSocket::write_all(Io io, std::span<const std::byte> data, Deadline d) const noexcept {
    if (handle == invalid_handle) return closed(Op::send);
    while (!data.empty()) {
        auto n = write(io, data, d);
        if (!n) return n.error();
        if (*n == 0) return Error::system(5 /* EIO: the OS accepted nothing */, Op::send);
        data = data.subspan(*n);
    }
    return {};
}

Result<void> StreamSocket::write_all(Io io, std::string_view text, Deadline d) const noexcept {
    return write_all(io, std::as_bytes(std::span(text.data(), text.size())), d);
}

Result<void> StreamSocket::read_exact(Io io, std::span<std::byte> buffer, Deadline d) const noexcept {
    if (handle == invalid_handle) return closed(Op::recv);
    while (!buffer.empty()) {
        auto n = read(io, buffer, d);
        if (!n) return n.error();
        if (*n == 0) return Error(Errc::end_of_stream, Op::recv);
        buffer = buffer.subspan(*n);
    }
    return {};
}

Result<void> StreamSocket::shutdown(Io io, ShutdownHow how) const noexcept {
    if (handle == invalid_handle) return closed(Op::shutdown);
    return done(io, Operation::shutdown(handle, how));
}

Result<void> StreamSocket::set_option(Io io, SocketOption option, std::int32_t value) const noexcept {
    if (handle == invalid_handle) return closed(Op::setsockopt);
    return done(io, Operation::setsockopt(handle, option, value));
}

namespace {
Result<void> close_handle(Io io, Handle& handle) noexcept {
    if (handle == invalid_handle) return closed(Op::close);
    Handle h = handle;
    handle = invalid_handle;  // the OS releases the descriptor even when close reports an error
    return done(io, Operation::close(h));
}

Result<Handle> new_socket(Io io, AddressFamily f, SocketType t) noexcept {
    Operation op = Operation::socket(f, t);
    auto r = run(io, op);
    if (!r) return r.error();
    return static_cast<Handle>(*r);
}

// Closes `h` (not a cancel point) and returns `e`: nothing leaks when a later step fails.
Error discard(Io io, Handle h, Error e) noexcept {
    (void)done(io, Operation::close(h));
    return e;
}

Result<IpAddress> ip_name(Io io, Handle h, bool peer) noexcept {
    Op code = peer ? Op::getpeername : Op::getsockname;
    if (h == invalid_handle) return closed(code);
    SocketAddress a;
    Operation op = peer ? Operation::getpeername(h, a) : Operation::getsockname(h, a);
    auto r = run(io, op);
    if (!r) return r.error();
    return IpAddress::from_socket_address(a, code);
}

// socket + bind (+ listen when backlog >= 0), closing the socket on any failure.
Result<Handle> bound_socket(Io io, const SocketAddress& addr, SocketType type, bool reuse, int backlog) noexcept {
    auto h = new_socket(io, addr.family, type);
    if (!h) return h.error();
    if (auto r = done(io, Operation::bind(*h, addr, reuse)); !r) return discard(io, *h, r.error());
    if (backlog >= 0)
        if (auto r = done(io, Operation::listen(*h, backlog)); !r) return discard(io, *h, r.error());
    return *h;
}

Result<Handle> connected_socket(Io io, const SocketAddress& addr, Deadline d) noexcept {
    auto h = new_socket(io, addr.family, SocketType::stream);
    if (!h) return h.error();
    if (auto r = done(io, Operation::connect(*h, addr, d)); !r) return discard(io, *h, r.error());
    return *h;
}
}  // namespace

Result<void> StreamSocket::close(Io io) noexcept { return close_handle(io, handle); }

// ---- TCP ------------------------------------------------------------------------------------------

Result<TcpStream> TcpStream::connect(Io io, const IpAddress& addr, Deadline d) noexcept {
    auto h = connected_socket(io, addr.to_socket_address(), d);
    if (!h) return h.error();
    TcpStream s;
    s.handle = *h;
    return s;
}

Result<IpAddress> TcpStream::local_address(Io io) const noexcept { return ip_name(io, handle, false); }
Result<IpAddress> TcpStream::peer_address(Io io) const noexcept { return ip_name(io, handle, true); }

Result<TcpListener> TcpListener::listen(Io io, const IpAddress& addr, int backlog, bool reuse_address) noexcept {
    if (backlog < 0) return Error(Errc::invalid_argument, Op::listen);
    auto h = bound_socket(io, addr.to_socket_address(), SocketType::stream, reuse_address, backlog);
    if (!h) return h.error();
    return TcpListener{*h};
}

Result<TcpListener::Accepted> TcpListener::accept(Io io, Deadline d) const noexcept {
    if (handle == invalid_handle) return closed(Op::accept);
    SocketAddress peer;
    Operation op = Operation::accept(handle, &peer, d);
    auto r = run(io, op);
    if (!r) return r.error();
    Accepted a;
    a.stream.handle = static_cast<Handle>(*r);
    auto p = IpAddress::from_socket_address(peer, Op::accept);
    if (!p) return discard(io, a.stream.handle, p.error());
    a.peer = *p;
    return a;
}

Result<IpAddress> TcpListener::local_address(Io io) const noexcept { return ip_name(io, handle, false); }
Result<void> TcpListener::close(Io io) noexcept { return close_handle(io, handle); }

// ---- Unix -----------------------------------------------------------------------------------------

Result<UnixStream> UnixStream::connect(Io io, const UnixAddress& addr, Deadline d) noexcept {
    if (addr.path().empty()) return Error(Errc::invalid_argument, Op::connect);
    auto h = connected_socket(io, addr.to_socket_address(), d);
    if (!h) return h.error();
    UnixStream s;
    s.handle = *h;
    return s;
}

Result<UnixListener> UnixListener::listen(Io io, const UnixAddress& addr, int backlog) noexcept {
    if (backlog < 0 || addr.path().empty()) return Error(Errc::invalid_argument, Op::listen);
    auto h = bound_socket(io, addr.to_socket_address(), SocketType::stream, false, backlog);
    if (!h) return h.error();
    return UnixListener{*h};
}

Result<UnixStream> UnixListener::accept(Io io, Deadline d) const noexcept {
    if (handle == invalid_handle) return closed(Op::accept);
    Operation op = Operation::accept(handle, nullptr, d);
    auto r = run(io, op);
    if (!r) return r.error();
    UnixStream s;
    s.handle = static_cast<Handle>(*r);
    return s;
}

Result<void> UnixListener::close(Io io) noexcept { return close_handle(io, handle); }

Result<std::pair<UnixStream, UnixStream>> socket_pair(Io io) noexcept {
    Handle fds[2] = {invalid_handle, invalid_handle};
    Operation op = Operation::socketpair(fds);
    auto r = run(io, op);
    if (!r) return r.error();
    UnixStream a, b;
    a.handle = fds[0];
    b.handle = fds[1];
    return std::pair{a, b};
}

// ---- UDP ------------------------------------------------------------------------------------------

Result<UdpSocket> UdpSocket::bind(Io io, const IpAddress& addr, bool reuse_address) noexcept {
    auto h = bound_socket(io, addr.to_socket_address(), SocketType::datagram, reuse_address, -1);
    if (!h) return h.error();
    return UdpSocket{*h};
}

Result<std::size_t> UdpSocket::send_to(Io io, std::span<const std::byte> data, const IpAddress& to, Deadline d) const noexcept {
    if (handle == invalid_handle) return closed(Op::sendto);
    SocketAddress a = to.to_socket_address();
    Operation op = Operation::sendto(handle, data, a, d);
    auto r = run(io, op);
    if (!r) return r.error();
    return static_cast<std::size_t>(*r);
}

Result<UdpSocket::Received> UdpSocket::receive_from(Io io, std::span<std::byte> buffer, Deadline d) const noexcept {
    if (handle == invalid_handle) return closed(Op::recvfrom);
    SocketAddress from;
    Operation op = Operation::recvfrom(handle, buffer, &from, d);
    auto r = run(io, op);
    if (!r) return r.error();
    auto ip = IpAddress::from_socket_address(from, Op::recvfrom);
    if (!ip) return ip.error();
    return Received{static_cast<std::size_t>(*r), *ip};
}

Result<IpAddress> UdpSocket::local_address(Io io) const noexcept { return ip_name(io, handle, false); }

Result<void> UdpSocket::set_option(Io io, SocketOption option, std::int32_t value) const noexcept {
    if (handle == invalid_handle) return closed(Op::setsockopt);
    return done(io, Operation::setsockopt(handle, option, value));
}

Result<void> UdpSocket::close(Io io) noexcept { return close_handle(io, handle); }

// ---- lookup ---------------------------------------------------------------------------------------

Result<std::vector<IpAddress>> lookup(Io io, std::string_view host, std::uint16_t port) {
    if (IpAddress lit; parse_host(host, lit, port)) {
        if (auto c = io.check_cancel(); !c) return Error(c.error().code(), Op::lookup);
        return std::vector<IpAddress>{lit};
    }
    LookupAnswer answers[32];
    Operation op = Operation::lookup(host, port, answers);
    auto r = run(io, op);
    if (!r) return r.error();
    std::vector<IpAddress> out;
    out.reserve(static_cast<std::size_t>(*r));
    for (std::uint64_t i = 0; i < *r; ++i) {
        auto a = IpAddress::from_socket_address(answers[i].address, Op::lookup);
        if (a) out.push_back(*a);
    }
    return out;
}

}  // namespace zsync
