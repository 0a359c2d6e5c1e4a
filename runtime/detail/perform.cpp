// Operations as Linux syscalls (see perform.hpp).
module;
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/futex.h>
#include <sched.h>
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
#include "perform_common.hpp"
#include "perform_os.hpp"
#include "fd_epoch.hpp"

namespace zsync::rt {

using namespace perform_detail;

static_assert(sizeof(IoVec) == sizeof(iovec) && offsetof(IoVec, base) == offsetof(iovec, iov_base) &&
              offsetof(IoVec, len) == offsetof(iovec, iov_len), "IoVec must match struct iovec");

// Shared with the reactor (perform_os.hpp).
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

namespace {
// OpenOptions::beneath without openat2 (Linux < 5.6, or a seccomp filter refusing it): open, then
// compare the opened file's path with the directory's (both read back from /proc/self/fd, so what is
// checked is the file actually opened, not a path a racing rename could change). An absolute path is
// refused before anything is opened. EXDEV reports "outside".
long open_beneath_checked(int dir, const char* path, int flags, mode_t mode) noexcept {
    if (path[0] == '/') { errno = EXDEV; return -1; }
    int fd = ::openat(dir, path, flags, mode);
    if (fd < 0) return -1;
    char link[64], base[path_max], got[path_max];
    auto read_back = [&](int which, char* out) -> bool {
        ssize_t n;
        if (which == AT_FDCWD) return ::getcwd(out, path_max) != nullptr;
        std::snprintf(link, sizeof link, "/proc/self/fd/%d", which);
        n = ::readlink(link, out, path_max - 1);
        if (n < 0) return false;
        out[n] = 0;
        return true;
    };
    if (!read_back(dir, base) || !read_back(fd, got)) {
        int e = errno;
        ::close(fd);
        errno = e;
        return -1;
    }
    std::size_t bl = std::strlen(base);
    bool inside = std::strcmp(base, "/") == 0 ||
                  (std::strncmp(got, base, bl) == 0 && (got[bl] == 0 || got[bl] == '/'));
    if (!inside) {
        ::close(fd);
        errno = EXDEV;
        return -1;
    }
    return fd;
}

// 1 until openat2 is found missing (ENOSYS); ZSYNC_TEST_NO_OPENAT2=1 in the environment starts it at
// 0, so that tests can run the fallback on a kernel that has openat2.
std::atomic<int> have_openat2{-1};

long open_beneath(int dir, const char* path, int flags, mode_t mode) noexcept {
    int have = have_openat2.load(std::memory_order_relaxed);  // relaxed: a cached probe; racing probes agree
    if (have < 0) {
        const char* env = std::getenv("ZSYNC_TEST_NO_OPENAT2");
        have = env && env[0] == '1' ? 0 : 1;
        have_openat2.store(have, std::memory_order_relaxed);
    }
    if (have) {
        open_how how{};
        how.flags = static_cast<std::uint64_t>(flags);
        how.mode = (flags & O_CREAT) ? mode : 0;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        long r;
        // EAGAIN: a concurrent rename or mount under the directory made the kernel give up; try again.
        int tries = 0;
        do r = ::syscall(SYS_openat2, dir, path, &how, sizeof how); while (r < 0 && errno == EAGAIN && ++tries < 16);
        if (r >= 0 || errno != ENOSYS) return r;
        have_openat2.store(0, std::memory_order_relaxed);
    }
    return open_beneath_checked(dir, path, flags, mode);
}
}  // namespace

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

namespace {

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


}  // namespace

const void* thread_identity(void*) noexcept {
    static thread_local char token;  // one distinct address per live thread
    return &token;
}

void futex_wake_os(const std::atomic<std::uint32_t>* word, std::uint32_t max_waiters) noexcept {
    int n = max_waiters > INT_MAX ? INT_MAX : static_cast<int>(max_waiters);
    ::syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, nullptr, nullptr, 0);
    futex_wake_reactor(word, max_waiters);
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
    if constexpr (code == Op::read || code == Op::write)
        if (!a.deadline.is_never()) return perform_rw_deadline(op, cs);
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
    if constexpr (code == Op::read || code == Op::write)
        if (!op.rw.deadline.is_never()) [[unlikely]] return perform_rw_deadline(op, cs);
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

namespace {
// fd_epoch.hpp's count, for the codes that make or free descriptor numbers.
void count_descriptors(const Operation& op) noexcept {
    switch (op.code) {
    case Op::close: fd_epoch::bump(op.fd); break;
    case Op::open: case Op::accept: case Op::socket:
        if (op.result) fd_epoch::bump(static_cast<int>(*op.result));
        break;
    case Op::socketpair:
        if (op.result) { fd_epoch::bump(op.pair.out[0]); fd_epoch::bump(op.pair.out[1]); }
        break;
    default: break;
    }
}

// Every other Operation (perform_other adds the descriptor count).
void perform_rest(Operation& op, ThreadCancelState& cs) noexcept {
    switch (op.code) {
    case Op::readv:
    case Op::writev:
    case Op::preadv:
    case Op::pwritev: {
        if (op.rw.len > INT_MAX) { op.result = Error(Errc::invalid_argument, op.code); return; }
        if ((op.code == Op::readv || op.code == Op::writev) && !op.rw.deadline.is_never()) return perform_rw_deadline(op, cs);
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
        if (op.open.options.beneath) {
            blocking(op, cs, [&] { return open_beneath(dir_fd(op.open.path.dir), path.buf, flags, op.open.options.mode); });
            if (!op.result && op.result.error().is(std::errc::cross_device_link)) op.result = Error(Errc::outside_directory, op.code);
            return;
        }
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
    case Op::setsockopt: case Op::getsockname: case Op::getpeername: case Op::lookup: case Op::poll:
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
}  // namespace

void perform_other(Operation& op, ThreadCancelState& cs) noexcept {
    perform_rest(op, cs);
    count_descriptors(op);
}

void perform_read(Operation& op, ThreadCancelState& cs) noexcept { perform_rw<Op::read>(op, cs); }
void perform_write(Operation& op, ThreadCancelState& cs) noexcept { perform_rw<Op::write>(op, cs); }
void perform_pread(Operation& op, ThreadCancelState& cs) noexcept { perform_rw<Op::pread>(op, cs); }
void perform_pwrite(Operation& op, ThreadCancelState& cs) noexcept { perform_rw<Op::pwrite>(op, cs); }

}  // namespace zsync::rt
