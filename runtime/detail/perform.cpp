// Operations as Linux syscalls (see perform.hpp).
module;
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <limits>
#include <dirent.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/un.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include "cancel_state.hpp"
#include "syscall.hpp"
module zsync;
#include "perform.hpp"

namespace zsync::rt {

static_assert(sizeof(IoVec) == sizeof(iovec) && offsetof(IoVec, base) == offsetof(iovec, iov_base) &&
              offsetof(IoVec, len) == offsetof(iovec, iov_len), "IoVec must match struct iovec");

namespace {

constexpr std::size_t path_max = 4096;

void fail(Operation& op, int e) noexcept { op.result = Error::system(e, op.code); }
void canceled(Operation& op) noexcept { op.result = Error(Errc::canceled, op.code); }

int dir_fd(Handle h) noexcept { return h == cwd_handle ? AT_FDCWD : h; }

// A NUL-terminated copy of an Operation's path, or the error to report.
struct CPath {
    char buf[path_max];
    Errc error = Errc::ok;
    explicit CPath(const Operation::Path& p) noexcept {
        if (p.len >= path_max) { error = Errc::name_too_long; return; }
        if (p.len && std::memchr(p.ptr, 0, p.len)) { error = Errc::invalid_argument; return; }
        if (p.len) std::memcpy(buf, p.ptr, p.len);
        buf[p.len] = 0;
    }
};

// Runs an interruptible syscall (`sys` returns -1 and sets errno on failure) under the protocol of
// cancel_state.hpp, and stores its result.
// The first attempt is the straight-line path; a failure (and the EINTR retry loop) is out of line.
template <class Sys>
[[gnu::noinline, gnu::cold]] void blocking_failed(Operation& op, ThreadCancelState& cs, Sys sys) noexcept {
    long r;
    int e = errno;
    for (;;) {
        if (e != EINTR) break;
        if (cs.protection == Protection::unblocked && cs.requested.load(std::memory_order_seq_cst)) break;
        r = sys();
        if (r >= 0) {
            cs.leave_blocking();
            op.result = static_cast<std::uint64_t>(r);
            return;
        }
        e = errno;
    }
    cs.leave_blocking();
    if (e == EINTR && cs.take()) return canceled(op);
    fail(op, e);
}

template <class Sys>
void blocking(Operation& op, ThreadCancelState& cs, Sys&& sys) noexcept {
    if (!cs.enter_blocking()) [[unlikely]] return canceled(op);
    long r = sys();
    if (r < 0) [[unlikely]] return blocking_failed(op, cs, sys);
    cs.leave_blocking();
    op.result = static_cast<std::uint64_t>(r);
}

// A non-interruptible syscall (local file metadata): only a cancel point before it starts.
template <class Sys>
void quick(Operation& op, ThreadCancelState& cs, Sys&& sys) noexcept {
    if (cs.take()) return canceled(op);
    long r;
    do r = sys(); while (r < 0 && errno == EINTR);
    if (r < 0) return fail(op, errno);
    op.result = static_cast<std::uint64_t>(r);
}

template <class Sys>
void with_path(Operation& op, ThreadCancelState& cs, const Operation::Path& p, Sys&& sys) noexcept {
    CPath path(p);
    if (path.error != Errc::ok) { op.result = Error(path.error, op.code); return; }
    quick(op, cs, [&] { return sys(path.buf); });
}

int open_flags(const OpenOptions& o) noexcept {
    int f = O_CLOEXEC;
    f |= o.access == OpenOptions::read_only ? O_RDONLY : o.access == OpenOptions::write_only ? O_WRONLY : O_RDWR;
    if (o.create) f |= O_CREAT;
    if (o.exclusive) f |= O_EXCL;
    if (o.truncate) f |= O_TRUNC;
    if (o.append) f |= O_APPEND;
    if (o.directory) f |= O_DIRECTORY;
    return f;
}

FileKind kind_of_mode(mode_t m) noexcept {
    switch (m & S_IFMT) {
    case S_IFREG: return FileKind::file;
    case S_IFDIR: return FileKind::directory;
    case S_IFLNK: return FileKind::symlink;
    case S_IFBLK: return FileKind::block_device;
    case S_IFCHR: return FileKind::char_device;
    case S_IFIFO: return FileKind::fifo;
    case S_IFSOCK: return FileKind::socket;
    default: return FileKind::unknown;
    }
}

FileKind kind_of_dtype(unsigned char t) noexcept {
    switch (t) {
    case DT_REG: return FileKind::file;
    case DT_DIR: return FileKind::directory;
    case DT_LNK: return FileKind::symlink;
    case DT_BLK: return FileKind::block_device;
    case DT_CHR: return FileKind::char_device;
    case DT_FIFO: return FileKind::fifo;
    case DT_SOCK: return FileKind::socket;
    default: return FileKind::unknown;
    }
}

void fill_stat(FileStat& out, const struct stat& st) noexcept {
    out.size = static_cast<std::uint64_t>(st.st_size);
    out.inode = st.st_ino;
    out.mtime_ns = std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    out.mode = st.st_mode & 07777;
    out.nlink = static_cast<std::uint32_t>(st.st_nlink);
    out.kind = kind_of_mode(st.st_mode);
}

timespec to_timespec(Deadline d) noexcept {
    if (d.is_never()) return {std::numeric_limits<time_t>::max() / 4, 0};
    if (d.ns <= 0) return {0, 0};
    return {static_cast<time_t>(d.ns / 1'000'000'000), static_cast<long>(d.ns % 1'000'000'000)};
}

// getdents64 into the caller's buffer, then rewrite the records in place into DirEntryRecord form.
// Our records are never longer than the kernel's (16 + name vs 19 + name + NUL), so writing never
// overtakes reading.
void dir_read(Operation& op, ThreadCancelState& cs) noexcept {
    auto& a = op.dir_read;
    if (reinterpret_cast<std::uintptr_t>(a.buffer) % 8) { op.result = Error(Errc::invalid_argument, op.code); return; }
    std::size_t len = a.len > INT_MAX ? INT_MAX : a.len;
    quick(op, cs, [&] {
        if (a.rewind && ::lseek(a.dir, 0, SEEK_SET) < 0) return -1L;
        return ::syscall(SYS_getdents64, a.dir, a.buffer, len);
    });
    if (!op.result) return;
    auto* base = static_cast<unsigned char*>(a.buffer);
    std::size_t n = *op.result, s = 0, d = 0;
    while (s < n) {
        std::uint64_t ino;
        std::uint16_t reclen;
        unsigned char type;
        std::memcpy(&ino, base + s, 8);
        std::memcpy(&reclen, base + s + 16, 2);
        type = base[s + 18];
        const char* name = reinterpret_cast<const char*>(base + s + 19);
        std::size_t name_len = ::strnlen(name, reclen - 19);
        DirEntryRecord rec{};
        rec.record_len = static_cast<std::uint16_t>((sizeof(DirEntryRecord) + name_len + 7) & ~std::size_t(7));
        rec.name_len = static_cast<std::uint16_t>(name_len);
        rec.kind = kind_of_dtype(type);
        rec.inode = ino;
        std::memmove(base + d + sizeof rec, name, name_len);
        std::memcpy(base + d, &rec, sizeof rec);
        d += rec.record_len;
        s += reclen;
    }
    op.result = static_cast<std::uint64_t>(d);
}


// ---- Networking ---------------------------------------------------------------------------------

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
long wait_ready(ThreadCancelState& cs, int fd, short events, Deadline d) noexcept {
    return interruptible(cs, [&]() -> long {
        pollfd p{fd, events, 0};
        timespec ts{0, 0};
        if (!d.is_never()) {
            timespec now;
            ::clock_gettime(CLOCK_MONOTONIC, &now);
            std::int64_t left = d.ns - (std::int64_t(now.tv_sec) * 1'000'000'000 + now.tv_nsec);
            if (left > 0) ts = {static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
        }
        return ::ppoll(&p, 1, d.is_never() ? nullptr : &ts, nullptr);
    });
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
    default:
        op.result = Error(Errc::invalid_argument, op.code);
        return;
    }
}
}  // namespace

void futex_wake_os(const std::atomic<std::uint32_t>* word, std::uint32_t max_waiters) noexcept {
    int n = max_waiters > INT_MAX ? INT_MAX : static_cast<int>(max_waiters);
    ::syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, nullptr, nullptr, 0);
}

// perform() (perform.hpp) only dispatches: each frequent Operation has its own small function, reached by
// a tail jump, and the rest share perform_other, whose path buffers take over 4 KiB of stack and most
// callee-saved registers. One function with every case makes each call pay that frame (docs/benchmarks.md).


void perform_nop(Operation& op, ThreadCancelState& cs) noexcept {
    if (cs.take()) return canceled(op);
    op.result = std::uint64_t(0);
}

void perform_yield(Operation& op, ThreadCancelState& cs) noexcept {
    if (cs.take()) return canceled(op);
    ::sched_yield();
    op.result = std::uint64_t(0);
}

// The general path of read/write/pread/pwrite: protection, a pending request, an unknown tid, errors.
template <Op code>
[[gnu::noinline]] void perform_rw_general(Operation& op, ThreadCancelState& cs) noexcept {
    const auto& a = op.rw;
    if constexpr (code == Op::read) blocking(op, cs, [&] { return sys::read(a.fd, a.data, a.len); });
    else if constexpr (code == Op::write) blocking(op, cs, [&] { return sys::write(a.fd, a.data, a.len); });
    else if constexpr (code == Op::pread) blocking(op, cs, [&] { return sys::pread(a.fd, a.data, a.len, static_cast<off_t>(a.offset)); });
    else blocking(op, cs, [&] { return sys::pwrite(a.fd, a.data, a.len, static_cast<off_t>(a.offset)); });
}

// The fast path: unprotected, tid known, no request, the syscall succeeds. Every other case leaves by a
// tail call to the general path (after undoing what it did), so this needs no stack frame
// (docs/benchmarks.md). Step 1 of the protocol in cancel_state.hpp is the same seq_cst store + load.
template <Op code>
[[gnu::always_inline]] inline void perform_rw(Operation& op, ThreadCancelState& cs) noexcept {
    std::int32_t tid = cached_tid;
    if (cs.protection != Protection::unblocked || tid == 0) [[unlikely]] return perform_rw_general<code>(op, cs);
    cs.blocked_tid.store(tid, std::memory_order_seq_cst);
    if (cs.requested.load(std::memory_order_seq_cst) != 0) [[unlikely]] {
        cs.blocked_tid.store(0, std::memory_order_relaxed);
        return perform_rw_general<code>(op, cs);
    }
    constexpr long nr = code == Op::read ? sys::nr_read : code == Op::write ? sys::nr_write : code == Op::pread ? sys::nr_pread : sys::nr_pwrite;
    const auto& a = op.rw;
    long r = sys::rw_raw(nr, a.fd, a.data, a.len, static_cast<off_t>(a.offset));
    cs.leave_blocking();
    if (r < 0) [[unlikely]] {
        if (r != -EINTR) return fail(op, static_cast<int>(-r));
        return perform_rw_general<code>(op, cs);  // interrupted: the general path decides (cancel or retry)
    }
    op.result = static_cast<std::uint64_t>(r);
}

void perform_futex_wait(Operation& op, ThreadCancelState& cs) noexcept {
    auto& f = op.futex;
    timespec ts = to_timespec(f.deadline);
    if (!cs.enter_blocking()) return canceled(op);
    long r = ::syscall(SYS_futex, f.word, FUTEX_WAIT_BITSET_PRIVATE, f.expected,
                       f.deadline.is_never() ? nullptr : &ts, nullptr, FUTEX_BITSET_MATCH_ANY);
    int e = r < 0 ? errno : 0;
    cs.leave_blocking();
    if (r == 0 || e == EAGAIN) { op.result = std::uint64_t(0); return; }
    if (e == ETIMEDOUT) { op.result = Error(Errc::timeout, op.code); return; }
    if (e == EINTR) {
        if (cs.take()) return canceled(op);
        op.result = std::uint64_t(0);  // a spurious wake: the caller re-checks its condition
        return;
    }
    return fail(op, e);
}

// Every other Operation.
void perform_other(Operation& op, ThreadCancelState& cs) noexcept {
    switch (op.code) {
    case Op::readv:
    case Op::writev:
    case Op::preadv:
    case Op::pwritev: {
        if (op.rw.len > INT_MAX) { op.result = Error(Errc::invalid_argument, op.code); return; }
        auto* v = static_cast<const iovec*>(op.rw.data);
        int cnt = static_cast<int>(op.rw.len);
        auto off = static_cast<off_t>(op.rw.offset);
        switch (op.code) {
        case Op::readv: return blocking(op, cs, [&] { return ::readv(op.rw.fd, v, cnt); });
        case Op::writev: return blocking(op, cs, [&] { return ::writev(op.rw.fd, v, cnt); });
        case Op::preadv: return blocking(op, cs, [&] { return ::preadv(op.rw.fd, v, cnt, off); });
        default: return blocking(op, cs, [&] { return ::pwritev(op.rw.fd, v, cnt, off); });
        }
    }
    case Op::open: {
        // Opening a FIFO can block until a peer opens it: interruptible.
        CPath path(op.open.path);
        if (path.error != Errc::ok) { op.result = Error(path.error, op.code); return; }
        int flags = open_flags(op.open.options);
        return blocking(op, cs, [&] { return ::openat(dir_fd(op.open.path.dir), path.buf, flags, op.open.options.mode); });
    }
    case Op::close: {
        // Not a cancel point, never retried: Linux releases the descriptor even when close fails.
        if (::close(op.fd) == 0 || errno == EINTR) op.result = std::uint64_t(0);
        else fail(op, errno);
        return;
    }
    case Op::stat: {
        FileStat* out = op.stat.out;
        struct stat st;
        if (op.stat.path.len == 0) {
            int fd = op.stat.path.dir;
            if (fd == cwd_handle) quick(op, cs, [&] { return ::fstatat(AT_FDCWD, ".", &st, 0); });
            else quick(op, cs, [&] { return ::fstat(fd, &st); });
        } else {
            with_path(op, cs, op.stat.path, [&](const char* p) { return ::fstatat(dir_fd(op.stat.path.dir), p, &st, 0); });
        }
        if (op.result) fill_stat(*out, st);
        return;
    }
    case Op::fsync:
        return quick(op, cs, [&] { return op.datasync ? ::fdatasync(op.fd) : ::fsync(op.fd); });
    case Op::sendfile: {
        auto& t = op.transfer;
        off_t in_off = t.in_offset;
        return blocking(op, cs, [&] { return ::sendfile(t.out, t.in, t.in_offset >= 0 ? &in_off : nullptr, t.len); });
    }
    case Op::copy_file_range: {
        auto& t = op.transfer;
        off_t in_off = t.in_offset, out_off = t.out_offset;
        return blocking(op, cs, [&] {
            return ::copy_file_range(t.in, t.in_offset >= 0 ? &in_off : nullptr, t.out, t.out_offset >= 0 ? &out_off : nullptr, t.len, 0);
        });
    }
    case Op::mkdir:
        return with_path(op, cs, op.mkdir.path, [&](const char* p) { return ::mkdirat(dir_fd(op.mkdir.path.dir), p, op.mkdir.mode); });
    case Op::remove:
        return with_path(op, cs, op.remove.path, [&](const char* p) {
            return ::unlinkat(dir_fd(op.remove.path.dir), p, op.remove.directory ? AT_REMOVEDIR : 0);
        });
    case Op::rename: {
        CPath to(op.rename.to);
        if (to.error != Errc::ok) { op.result = Error(to.error, op.code); return; }
        return with_path(op, cs, op.rename.from, [&](const char* from) {
            return ::renameat(dir_fd(op.rename.from.dir), from, dir_fd(op.rename.to.dir), to.buf);
        });
    }
    case Op::dir_read:
        return dir_read(op, cs);
    case Op::socket: case Op::bind: case Op::listen: case Op::accept: case Op::connect: case Op::send:
    case Op::recv: case Op::sendto: case Op::recvfrom: case Op::shutdown: case Op::socketpair:
    case Op::setsockopt: case Op::getsockname: case Op::getpeername: case Op::lookup:
        return perform_net(op, cs);
    case Op::sleep: {
        timespec ts = to_timespec(op.sleep);
        if (!cs.enter_blocking()) return canceled(op);
        int rc;
        for (;;) {
            rc = ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
            if (rc != EINTR) break;
            if (cs.protection == Protection::unblocked && cs.requested.load(std::memory_order_seq_cst)) break;
        }
        cs.leave_blocking();
        if (rc == 0) { op.result = std::uint64_t(0); return; }
        if (rc == EINTR && cs.take()) return canceled(op);
        return fail(op, rc);
    }
    default:  // the cases perform() dispatches elsewhere never get here
        op.result = Error(Errc::invalid_argument, op.code);
        return;
    }
}

void perform_read(Operation& op, ThreadCancelState& cs) noexcept { perform_rw<Op::read>(op, cs); }
void perform_write(Operation& op, ThreadCancelState& cs) noexcept { perform_rw<Op::write>(op, cs); }
void perform_pread(Operation& op, ThreadCancelState& cs) noexcept { perform_rw<Op::pread>(op, cs); }
void perform_pwrite(Operation& op, ThreadCancelState& cs) noexcept { perform_rw<Op::pwrite>(op, cs); }

}  // namespace zsync::rt
