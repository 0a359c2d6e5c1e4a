// What perform.cpp (files, time, futex) and perform_net.cpp (sockets) share: error stores, C paths, and
// the interruptible-syscall protocol of cancel_state.hpp. Include in the purview of a `module zsync;`
// unit, after perform.hpp; the global module fragment needs <cerrno>, <climits>, <cstring>, <ctime>,
// <limits>, <fcntl.h>, <unistd.h> and cancel_state.hpp. Everything here is inline or a template (a
// purview definition in two units must be).
#pragma once

namespace zsync::rt::perform_detail {

inline constexpr std::size_t path_max = 4096;

inline void fail(Operation& op, int e) noexcept { op.result = Error::system(e, op.code); }
inline void canceled(Operation& op) noexcept { op.result = Error(Errc::canceled, op.code); }

inline int dir_fd(Handle h) noexcept { return h == cwd_handle ? AT_FDCWD : h; }

// A NUL-terminated copy of an Operation's path, or the error to report.
struct CPath {
    char buf[path_max];
    Errc error = Errc::ok;
    inline explicit CPath(const Operation::Path& p) noexcept {
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

inline timespec to_timespec(Deadline d) noexcept {
    if (d.is_never()) return {std::numeric_limits<time_t>::max() / 4, 0};
    if (d.ns <= 0) return {0, 0};
    return {static_cast<time_t>(d.ns / 1'000'000'000), static_cast<long>(d.ns % 1'000'000'000)};
}

}  // namespace zsync::rt::perform_detail
