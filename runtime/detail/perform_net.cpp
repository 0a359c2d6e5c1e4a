// Socket Operations as Linux syscalls (perform.hpp's perform_net). Blocking ones take part in the
// interrupt protocol of cancel_state.hpp; waits with a deadline poll interruptibly first.
module;
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <limits>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>
#include "cancel_state.hpp"
module zsync;
#include "perform.hpp"
#include "perform_common.hpp"
#include "perform_os.hpp"

namespace zsync::rt {

using namespace perform_detail;

// ---- Networking ---------------------------------------------------------------------------------

// Shared with the reactor (perform_os.hpp).
// zsync's SocketAddress as a sockaddr; false (invalid_argument) for an unspecified family or a bad path.
bool to_sockaddr(const SocketAddress& a, sockaddr_storage& out, socklen_t& len) noexcept {
    std::memset(&out, 0, sizeof out);
    switch (a.family) {
    case AddressFamily::ipv4: {
        auto* s = reinterpret_cast<sockaddr_in*>(&out);
        s->sin_family = AF_INET;
        s->sin_port = htons(a.port);
        std::memcpy(&s->sin_addr, a.ip, 4);
        len = sizeof *s;
        return true;
    }
    case AddressFamily::ipv6: {
        auto* s = reinterpret_cast<sockaddr_in6*>(&out);
        s->sin6_family = AF_INET6;
        s->sin6_port = htons(a.port);
        s->sin6_flowinfo = htonl(a.flowinfo);
        s->sin6_scope_id = a.scope_id;
        std::memcpy(&s->sin6_addr, a.ip, 16);
        len = sizeof *s;
        return true;
    }
    case AddressFamily::unix_path: {
        auto* s = reinterpret_cast<sockaddr_un*>(&out);
        if (a.path_len > SocketAddress::max_path || a.path_len == 0) return false;
        // A path (not an abstract name) must not hold a NUL: the kernel would silently cut it.
        if (a.path[0] != 0 && std::memchr(a.path, 0, a.path_len)) return false;
        s->sun_family = AF_UNIX;
        std::memcpy(s->sun_path, a.path, a.path_len);
        len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + a.path_len + (a.path[0] != 0 ? 1 : 0));
        return true;
    }
    default:
        return false;
    }
}

void from_sockaddr(const sockaddr_storage& in, socklen_t len, SocketAddress& a) noexcept {
    a = SocketAddress{};
    // The kernel may have filled less than a family (recvfrom on a stream socket reports 0): nothing
    // past `len` was written, so nothing past it is read.
    if (len < static_cast<socklen_t>(sizeof(sa_family_t))) return;
    if (in.ss_family == AF_INET && len < static_cast<socklen_t>(sizeof(sockaddr_in))) return;
    if (in.ss_family == AF_INET6 && len < static_cast<socklen_t>(sizeof(sockaddr_in6))) return;
    switch (in.ss_family) {
    case AF_INET: {
        const auto* s = reinterpret_cast<const sockaddr_in*>(&in);
        a.family = AddressFamily::ipv4;
        a.port = ntohs(s->sin_port);
        std::memcpy(a.ip, &s->sin_addr, 4);
        return;
    }
    case AF_INET6: {
        const auto* s = reinterpret_cast<const sockaddr_in6*>(&in);
        a.family = AddressFamily::ipv6;
        a.port = ntohs(s->sin6_port);
        a.flowinfo = ntohl(s->sin6_flowinfo);
        a.scope_id = s->sin6_scope_id;
        std::memcpy(a.ip, &s->sin6_addr, 16);
        return;
    }
    case AF_UNIX: {
        const auto* s = reinterpret_cast<const sockaddr_un*>(&in);
        a.family = AddressFamily::unix_path;
        std::size_t n = len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
        if (n > SocketAddress::max_path) n = SocketAddress::max_path;
        if (n && s->sun_path[0] != 0) n = ::strnlen(s->sun_path, n);  // a path: up to its NUL
        std::memcpy(a.path, s->sun_path, n);
        a.path_len = static_cast<std::uint8_t>(n);
        return;
    }
    default:
        return;
    }
}

short poll_events_os(std::uint32_t events) noexcept {
    short e = POLLRDHUP;
    if (events & static_cast<std::uint32_t>(PollEvents::readable)) e |= POLLIN;
    if (events & static_cast<std::uint32_t>(PollEvents::writable)) e |= POLLOUT;
    return e;
}

std::uint64_t poll_events_from_os(unsigned revents) noexcept {
    PollEvents r = PollEvents::none;
    if (revents & POLLIN) r |= PollEvents::readable;
    if (revents & POLLOUT) r |= PollEvents::writable;
    if (revents & POLLERR) r |= PollEvents::error;
    if (revents & (POLLHUP | POLLRDHUP)) r |= PollEvents::hang_up;
    return static_cast<std::uint64_t>(r);
}

namespace {

int os_family(AddressFamily f) noexcept {
    switch (f) {
    case AddressFamily::ipv4: return AF_INET;
    case AddressFamily::ipv6: return AF_INET6;
    case AddressFamily::unix_path: return AF_UNIX;
    default: return AF_UNSPEC;
    }
}

// The interruptible-syscall protocol of blocking(), returning instead of storing: r >= 0, -errno, or
// `was_canceled` (the request was delivered). Used where one Operation makes several waits.
constexpr long was_canceled = LONG_MIN;
template <class Sys>
long interruptible(ThreadCancelState& cs, Sys&& sys) noexcept {
    if (!cs.enter_blocking()) return was_canceled;
    long r;
    int e = 0;
    for (;;) {
        r = sys();
        if (r >= 0) break;
        e = errno;
        if (e != EINTR) break;
        if (cs.protection == Protection::unblocked && cs.requested.load(std::memory_order_seq_cst)) break;
    }
    cs.leave_blocking();
    if (r >= 0) return r;
    if (e == EINTR && cs.take()) return was_canceled;
    return -e;
}

// Waits (ppoll, interruptible) until `fd` has `events` or `d` passes. 1: ready, 0: timed out, else
// -errno or was_canceled. The remaining time is recomputed on every retry, so EINTR never extends it.
// `revents`, when given, receives what ppoll reported (POLLNVAL for a closed descriptor).
long wait_ready(ThreadCancelState& cs, int fd, short events, Deadline d, short* revents = nullptr) noexcept {
    // ppoll ignores a negative fd (it would just sleep to the deadline and report timeout): a negative
    // handle is EBADF, as the call itself would say.
    if (fd < 0) return -EBADF;
    pollfd p{fd, events, 0};
    long r = interruptible(cs, [&]() -> long {
        p.revents = 0;
        timespec ts{0, 0};
        if (!d.is_never()) {
            timespec now;
            ::clock_gettime(CLOCK_MONOTONIC, &now);
            std::int64_t left = d.ns - (std::int64_t(now.tv_sec) * 1'000'000'000 + now.tv_nsec);
            if (left > 0) ts = {static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
        }
        return ::ppoll(&p, 1, d.is_never() ? nullptr : &ts, nullptr);
    });
    if (revents) *revents = p.revents;
    return r;
}

// Stores a helper's outcome: a count, canceled, timeout or the OS error.
void store(Operation& op, long r) noexcept {
    if (r == was_canceled) return canceled(op);
    if (r < 0) return fail(op, static_cast<int>(-r));
    op.result = static_cast<std::uint64_t>(r);
}

// A call that would wait (recv, send, accept...), under a deadline: the call first (when try_first),
// then ppoll until `fd` is ready or the deadline passes, then the call again. `try_once` should not
// block (MSG_DONTWAIT); accept4 on a blocking listener can, when another thread takes the connection
// between the poll and the call: it then waits for the next one, past the deadline but still
// interruptible (every call runs under the cancellation protocol).
template <class Sys>
void with_deadline(Operation& op, ThreadCancelState& cs, int fd, short events, Deadline d, bool try_first, Sys&& try_once) noexcept {
    if (cs.take()) return canceled(op);
    for (bool first = true;; first = false) {
        if (!first || try_first) {
            long r = interruptible(cs, try_once);
            if (r >= 0 || r == was_canceled || (r != -EAGAIN && r != -EWOULDBLOCK)) return store(op, r);
        }
        long w = wait_ready(cs, fd, events, d);
        if (w == 0) { op.result = Error(Errc::timeout, op.code); return; }
        if (w < 0) return store(op, w);
    }
}

void do_accept(Operation& op, ThreadCancelState& cs) noexcept {
    auto& a = op.accept_args;
    sockaddr_storage ss;
    socklen_t len = sizeof ss;
    auto call = [&] { len = sizeof ss; return static_cast<long>(::accept4(a.fd, a.peer ? reinterpret_cast<sockaddr*>(&ss) : nullptr, a.peer ? &len : nullptr, SOCK_CLOEXEC)); };
    // With a deadline: poll first (accept4 on a blocking listener would wait). Another thread taking
    // the connection between the poll and the call makes the call wait for the next one.
    if (a.deadline.is_never()) blocking(op, cs, call);
    else with_deadline(op, cs, a.fd, POLLIN, a.deadline, false, call);
    if (op.result && a.peer) from_sockaddr(ss, len, *a.peer);
}

void do_connect(Operation& op, ThreadCancelState& cs) noexcept {
    auto& c = op.connect_args;
    sockaddr_storage ss;
    socklen_t len;
    if (!to_sockaddr(*c.address, ss, len)) { op.result = Error(Errc::invalid_argument, op.code); return; }
    if (c.address->family == AddressFamily::unix_path) {
        // A Unix connect waits only while the listener's backlog is full; the kernel bounds that wait
        // by SO_SNDTIMEO, set to what is left before the deadline on every (re)try. A retry after EINTR
        // is safe: the socket is unchanged until the connection is made.
        bool timed = !c.deadline.is_never();
        blocking(op, cs, [&]() -> long {
            if (timed) {
                timespec now;
                ::clock_gettime(CLOCK_MONOTONIC, &now);
                std::int64_t left = c.deadline.ns - (std::int64_t(now.tv_sec) * 1'000'000'000 + now.tv_nsec);
                if (left <= 0) { errno = EAGAIN; return -1; }
                timeval tv{static_cast<time_t>(left / 1'000'000'000), static_cast<suseconds_t>((left % 1'000'000'000) / 1000)};
                if (tv.tv_sec == 0 && tv.tv_usec == 0) tv.tv_usec = 1;
                if (::setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) return -1;
            }
            return ::connect(c.fd, reinterpret_cast<const sockaddr*>(&ss), len);
        });
        if (timed) {
            timeval off{0, 0};
            (void)::setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &off, sizeof off);
            if (!op.result && op.result.error().is(std::errc::resource_unavailable_try_again))
                op.result = Error(Errc::timeout, op.code);
        }
        return;
    }
    // TCP: a blocking connect interrupted by a signal goes on in the background (a retry would see
    // EALREADY), so connect without blocking and wait for writability (interruptible, to the deadline).
    if (cs.take()) return canceled(op);
    int flags = ::fcntl(c.fd, F_GETFL);
    if (flags < 0) return fail(op, errno);
    if (!(flags & O_NONBLOCK) && ::fcntl(c.fd, F_SETFL, flags | O_NONBLOCK) != 0) return fail(op, errno);
    auto restore = [&] { if (!(flags & O_NONBLOCK)) (void)::fcntl(c.fd, F_SETFL, flags); };
    int r = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&ss), len);
    if (r == 0) { restore(); op.result = std::uint64_t(0); return; }
    int e = errno;
    if (e != EINPROGRESS && e != EINTR) { restore(); return fail(op, e); }
    long w = wait_ready(cs, c.fd, POLLOUT, c.deadline);
    restore();
    if (w == 0) { op.result = Error(Errc::timeout, op.code); return; }
    if (w < 0) return store(op, w);
    int err = 0;
    socklen_t elen = sizeof err;
    if (::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0) return fail(op, errno);
    if (err != 0) return fail(op, err);
    op.result = std::uint64_t(0);
}

void do_msg(Operation& op, ThreadCancelState& cs) noexcept {
    auto& m = op.msg;
    bool is_send = op.code == Op::send;
    int flags = is_send ? MSG_NOSIGNAL : 0;
    if (m.deadline.is_never()) {
        if (is_send) return blocking(op, cs, [&] { return ::send(m.fd, m.data, m.len, flags); });
        return blocking(op, cs, [&] { return ::recv(m.fd, m.data, m.len, flags); });
    }
    with_deadline(op, cs, m.fd, is_send ? POLLOUT : POLLIN, m.deadline, true, [&]() -> long {
        return is_send ? ::send(m.fd, m.data, m.len, flags | MSG_DONTWAIT) : ::recv(m.fd, m.data, m.len, flags | MSG_DONTWAIT);
    });
}

void do_msg_to(Operation& op, ThreadCancelState& cs) noexcept {
    auto& m = op.msg_to;
    if (m.len == 0xffff'ffffu) { op.result = Error(Errc::invalid_argument, op.code); return; }
    sockaddr_storage ss;
    socklen_t len = sizeof ss;
    bool is_send = op.code == Op::sendto;
    if (is_send && (!m.address || !to_sockaddr(*m.address, ss, len))) { op.result = Error(Errc::invalid_argument, op.code); return; }
    auto call = [&](int extra) -> long {
        if (is_send) return ::sendto(m.fd, m.data, m.len, MSG_NOSIGNAL | extra, reinterpret_cast<const sockaddr*>(&ss), len);
        len = sizeof ss;
        return ::recvfrom(m.fd, m.data, m.len, extra, m.address ? reinterpret_cast<sockaddr*>(&ss) : nullptr, m.address ? &len : nullptr);
    };
    if (m.deadline.is_never()) blocking(op, cs, [&] { return call(0); });
    else with_deadline(op, cs, m.fd, is_send ? POLLOUT : POLLIN, m.deadline, true, [&] { return call(MSG_DONTWAIT); });
    if (op.result && !is_send && m.address) from_sockaddr(ss, len, *m.address);
}

// Op::poll: one interruptible ppoll to the deadline; nothing is transferred. A closed descriptor is
// POLLNVAL to ppoll: reported as EBADF, as every call on it would be.
void do_poll(Operation& op, ThreadCancelState& cs) noexcept {
    const auto& a = op.poll_args;
    short revents = 0;
    long w = wait_ready(cs, a.fd, poll_events_os(a.events), a.deadline, &revents);
    if (w == 0) { op.result = Error(Errc::timeout, op.code); return; }
    if (w < 0) return store(op, w);
    if (revents & POLLNVAL) return fail(op, EBADF);
    op.result = poll_events_from_os(static_cast<unsigned short>(revents));
}

int sockopt_level_name(SocketOption o, int& name) noexcept {
    switch (o) {
    case SocketOption::reuse_address: name = SO_REUSEADDR; return SOL_SOCKET;
    case SocketOption::reuse_port: name = SO_REUSEPORT; return SOL_SOCKET;
    case SocketOption::no_delay: name = TCP_NODELAY; return IPPROTO_TCP;
    case SocketOption::keep_alive: name = SO_KEEPALIVE; return SOL_SOCKET;
    case SocketOption::broadcast: name = SO_BROADCAST; return SOL_SOCKET;
    case SocketOption::linger: name = SO_LINGER; return SOL_SOCKET;
    case SocketOption::v6_only: name = IPV6_V6ONLY; return IPPROTO_IPV6;
    default: return -1;
    }
}

// getaddrinfo's errors as zsync Errors (EAI_SYSTEM carries errno).
Error lookup_error(int rc, int saved_errno) noexcept {
    switch (rc) {
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
        return Error(Errc::name_not_found, Op::lookup);
    case EAI_SERVICE: case EAI_FAMILY: case EAI_BADFLAGS: case EAI_SOCKTYPE:
        return Error(Errc::invalid_argument, Op::lookup);
    case EAI_MEMORY: return Error::system(ENOMEM, Op::lookup);
    case EAI_SYSTEM: return Error::system(saved_errno ? saved_errno : EIO, Op::lookup);
    default: return Error(Errc::name_lookup_failed, Op::lookup);  // EAI_AGAIN, EAI_FAIL, ...
    }
}

// Name lookup runs getaddrinfo on the calling thread: it cannot be interrupted, so cancellation is
// checked only before it starts and it has no deadline (best effort; an offload pool comes later).
void do_lookup(Operation& op, ThreadCancelState& cs) noexcept {
    auto& l = op.lookup_args;
    if (cs.take()) return canceled(op);
    char host[1025];  // NI_MAXHOST
    if (l.host_len == 0 || l.host_len >= sizeof host || std::memchr(l.host, 0, l.host_len)) {
        op.result = Error(l.host_len >= sizeof host ? Errc::name_too_long : Errc::invalid_argument, op.code);
        return;
    }
    std::memcpy(host, l.host, l.host_len);
    host[l.host_len] = 0;
    addrinfo hints{};
    hints.ai_family = os_family(l.family);
    if (l.family == AddressFamily::unix_path) { op.result = Error(Errc::invalid_argument, op.code); return; }
    hints.ai_socktype = SOCK_STREAM;  // one answer per address, not one per socket type
    addrinfo* res = nullptr;
    errno = 0;
    int rc = ::getaddrinfo(host, nullptr, &hints, &res);
    if (rc != 0) { op.result = lookup_error(rc, errno); return; }
    std::uint32_t n = 0;
    for (addrinfo* p = res; p && n < l.capacity; p = p->ai_next) {
        if (p->ai_family != AF_INET && p->ai_family != AF_INET6) continue;
        sockaddr_storage ss{};
        std::memcpy(&ss, p->ai_addr, p->ai_addrlen);
        SocketAddress a;
        from_sockaddr(ss, p->ai_addrlen, a);
        a.port = l.port;
        bool dup = false;
        for (std::uint32_t i = 0; i < n && !dup; ++i)
            dup = l.out[i].address.family == a.family && std::memcmp(l.out[i].address.ip, a.ip, 16) == 0;
        if (!dup) l.out[n++].address = a;
    }
    ::freeaddrinfo(res);
    if (n == 0) { op.result = Error(Errc::name_not_found, op.code); return; }
    op.result = std::uint64_t(n);
}

}  // namespace

// A read or write that may wait for a peer (pipe, FIFO, tty, device) under a deadline: poll until the
// handle is ready or the deadline passes, then the call (which then has data or room and returns at
// once; another reader or writer taking it between the two makes the call wait, still interruptibly).
// A regular file is always ready: the call runs at once, so there the deadline is best effort.
void perform_rw_deadline(Operation& op, ThreadCancelState& cs) noexcept {
    const auto& a = op.rw;
    const bool reading = op.code == Op::read || op.code == Op::readv;
    if ((op.code == Op::readv || op.code == Op::writev) && a.len > INT_MAX) { op.result = Error(Errc::invalid_argument, op.code); return; }
    with_deadline(op, cs, a.fd, reading ? POLLIN : POLLOUT, a.deadline, false, [&]() -> long {
        auto* v = static_cast<const iovec*>(a.data);
        switch (op.code) {
        case Op::read: return ::read(a.fd, a.data, a.len);
        case Op::write: return ::write(a.fd, a.data, a.len);
        case Op::readv: return ::readv(a.fd, v, static_cast<int>(a.len));
        default: return ::writev(a.fd, v, static_cast<int>(a.len));
        }
    });
}

void perform_net(Operation& op, ThreadCancelState& cs) noexcept {
    switch (op.code) {
    case Op::socket: {
        int fam = os_family(op.socket_args.family);
        if (fam == AF_UNSPEC) { op.result = Error(Errc::invalid_argument, op.code); return; }
        int type = (op.socket_args.type == SocketType::datagram ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC;
        return quick(op, cs, [&] { return static_cast<long>(::socket(fam, type, 0)); });
    }
    case Op::bind: {
        auto& b = op.bind_args;
        sockaddr_storage ss;
        socklen_t len;
        if (!to_sockaddr(*b.address, ss, len)) { op.result = Error(Errc::invalid_argument, op.code); return; }
        return quick(op, cs, [&]() -> long {
            int one = 1;
            if (b.reuse_address && ::setsockopt(b.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) return -1;
            return ::bind(b.fd, reinterpret_cast<const sockaddr*>(&ss), len);
        });
    }
    case Op::listen:
        return quick(op, cs, [&] { return static_cast<long>(::listen(op.sock_int.fd, op.sock_int.value)); });
    case Op::accept:
        return do_accept(op, cs);
    case Op::connect:
        return do_connect(op, cs);
    case Op::send:
    case Op::recv:
        return do_msg(op, cs);
    case Op::sendto:
    case Op::recvfrom:
        return do_msg_to(op, cs);
    case Op::shutdown: {
        int how;
        switch (static_cast<ShutdownHow>(op.sock_int.value)) {
        case ShutdownHow::read: how = SHUT_RD; break;
        case ShutdownHow::write: how = SHUT_WR; break;
        case ShutdownHow::both: how = SHUT_RDWR; break;
        default: op.result = Error(Errc::invalid_argument, op.code); return;
        }
        return quick(op, cs, [&] { return static_cast<long>(::shutdown(op.sock_int.fd, how)); });
    }
    case Op::socketpair: {
        auto& p = op.pair;
        int fam = os_family(p.family);
        if (fam == AF_UNSPEC || !p.out) { op.result = Error(Errc::invalid_argument, op.code); return; }
        int fds[2];
        int type = (p.type == SocketType::datagram ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC;
        quick(op, cs, [&] { return static_cast<long>(::socketpair(fam, type, 0, fds)); });
        if (op.result) { p.out[0] = fds[0]; p.out[1] = fds[1]; }
        return;
    }
    case Op::setsockopt: {
        auto& o = op.sock_int;
        int name;
        int level = sockopt_level_name(o.option, name);
        if (level < 0) { op.result = Error(Errc::invalid_argument, op.code); return; }
        if (o.option == SocketOption::linger) {
            linger lg{o.value >= 0 ? 1 : 0, o.value >= 0 ? o.value : 0};
            return quick(op, cs, [&] { return static_cast<long>(::setsockopt(o.fd, level, name, &lg, sizeof lg)); });
        }
        int v = o.value;
        return quick(op, cs, [&] { return static_cast<long>(::setsockopt(o.fd, level, name, &v, sizeof v)); });
    }
    case Op::getsockname:
    case Op::getpeername: {
        sockaddr_storage ss;
        socklen_t len = sizeof ss;
        bool peer = op.code == Op::getpeername;
        quick(op, cs, [&] {
            len = sizeof ss;
            return static_cast<long>(peer ? ::getpeername(op.name.fd, reinterpret_cast<sockaddr*>(&ss), &len)
                                          : ::getsockname(op.name.fd, reinterpret_cast<sockaddr*>(&ss), &len));
        });
        if (op.result) from_sockaddr(ss, len, *op.name.out);
        return;
    }
    case Op::lookup:
        return do_lookup(op, cs);
    case Op::poll:
        return do_poll(op, cs);
    default:
        op.result = Error(Errc::invalid_argument, op.code);
        return;
    }
}

}  // namespace zsync::rt
