// The io_uring implementation of the reactor (liburing). One ring per driver.
//
// Submission: start() only fills SQEs; the turn submits them all with one io_uring_enter (which also
// waits, with the turn's timeout, through IORING_FEAT_EXT_ARG). When the SQ is full, get_sqe() flushes
// it (an extra enter only when more than `entries` SQEs are made in one turn); when even that fails
// (-EBUSY: the CQ overflowed), the submission waits in backlog_ for the next turn: back-pressure, never
// an error. Completions are reaped in batches of 64. user_data is (generation << 32 | slot); two tags
// are not slots: the wake eventfd's read and cancel requests (whose own CQEs are ignored: the target's
// CQE is the completion).
//
// Cancellation: IORING_OP_ASYNC_CANCEL on the target's user_data. The target's CQE still arrives
// (-ECANCELED, -EINTR, or its real result when it won the race) and only then does the completion run,
// so the kernel is done with the buffers. Core::mapped turns -ECANCELED into canceled/timeout.
//
// Which Operation goes where (docs/reactor.md has the table): the ring for I/O, sockets, files, paths,
// futex_wait (IORING_OP_FUTEX_WAIT, probed), poll (IORING_OP_POLL_ADD, single-shot); inline on the
// driver thread for calls that never block (socket, bind, listen, setsockopt, names, shutdown,
// socketpair, the fstat of an open descriptor); the offload pool for what the ring cannot do here
// (sendfile, copy_file_range, dir_read, lookup, and any opcode the probe did not find).
module;
#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>
#include <fcntl.h>
#include <liburing.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>
#include "../../detail/cancel_state.hpp"
module zsync;
#include "../../detail/perform.hpp"
#include "../../detail/perform_common.hpp"
#include "../../detail/perform_os.hpp"
#include "../core.hpp"
#include "../../detail/fd_epoch.hpp"
#include "../offload/offload_pool.hpp"

namespace zsync::rt::reactor {

namespace {

// Not in Debian's liburing 2.3 headers: the kernel's numbers (include/uapi/linux/io_uring.h, 6.7+).
constexpr std::uint8_t op_futex_wait = 51;
constexpr std::uint32_t futex2_size_u32 = 0x02, futex2_private = 128;

constexpr std::uint64_t tag_wake = ~std::uint64_t(0);
constexpr std::uint64_t tag_ignore = ~std::uint64_t(0) - 1;
constexpr unsigned max_rw = 0x7fff'f000;  // what Linux transfers at most per call anyway (MAX_RW_COUNT)

inline std::uint64_t user_data(std::uint32_t idx, std::uint32_t gen) noexcept { return (std::uint64_t(gen) << 32) | idx; }
inline unsigned clamp_len(std::uint64_t n) noexcept { return n > max_rw ? max_rw : static_cast<unsigned>(n); }

enum class Route : std::uint8_t { ring, inline_call, offload, ready, futex_table };

class Uring {
public:
    Uring(Core& core) noexcept : core_(core) {}
    ~Uring() {
        if (ring_ok_) io_uring_queue_exit(&ring_);
        if (wake_fd_ >= 0) ::close(wake_fd_);
    }

    bool init(unsigned entries, std::string_view& why) noexcept {
        io_uring_params p{};
        p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN;
        int r = io_uring_queue_init_params(entries, &ring_, &p);
        if (r == -EINVAL) {
            p = {};
            r = io_uring_queue_init_params(entries, &ring_, &p);
        }
        if (r < 0) { why = r == -ENOSYS ? "io_uring_setup: not implemented (ENOSYS)" : r == -EPERM ? "io_uring_setup: not permitted (EPERM)" : "io_uring_queue_init failed"; return false; }
        ring_ok_ = true;
        if (!(p.features & IORING_FEAT_EXT_ARG)) { why = "kernel lacks IORING_FEAT_EXT_ARG (needs 5.11)"; return false; }
        if (!(p.features & IORING_FEAT_NODROP)) { why = "kernel lacks IORING_FEAT_NODROP"; return false; }
        io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
        if (!probe) { why = "io_uring probe failed"; return false; }
        static constexpr std::uint8_t needed[] = {
            IORING_OP_NOP, IORING_OP_READ, IORING_OP_WRITE, IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_SEND,
            IORING_OP_RECV, IORING_OP_SENDMSG, IORING_OP_RECVMSG, IORING_OP_ACCEPT, IORING_OP_CONNECT,
            IORING_OP_CLOSE, IORING_OP_ASYNC_CANCEL};
        for (auto op : needed)
            if (!io_uring_opcode_supported(probe, op)) { io_uring_free_probe(probe); why = "a required io_uring opcode is missing (kernel older than 5.6)"; return false; }
        for (unsigned i = 0; i < 256; ++i) supported_[i] = io_uring_opcode_supported(probe, static_cast<int>(i)) != 0;
        if (const char* f = std::getenv("ZSYNC_REACTOR_FUTEX"); f && std::string_view(f) == "table") force_futex_table_ = true;
        if (const char* f = std::getenv("ZSYNC_TEST_NO_OPENAT2"); f && f[0] == '1') no_openat2_ = true;
        io_uring_free_probe(probe);
        wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (wake_fd_ < 0) { why = "eventfd failed"; return false; }
        arm_wake();
        return true;
    }

    void notify() noexcept {
        std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
    }

    void start(std::uint32_t idx, Slot& s) noexcept {
        Operation& op = *s.op;
        switch (route(op)) {
        case Route::ready:
            return core_.defer(idx, std::uint64_t(0));
        case Route::inline_call:
            perform(op, core_.inline_cs);
            return core_.defer(idx, op.result);
        case Route::offload:
            s.where = Where::offload;
            return core_.offload().push(idx, s.gen, &op);
        case Route::futex_table:
            return futex_table_wait(core_, idx, s);
        case Route::ring:
            break;
        }
        // Argument errors BlockingIo reports before the syscall are reported the same way here.
        if (Errc e = precheck(s); e != Errc::ok) {
            if (e == Errc::system) { espipe_ = false; return core_.defer(idx, Error::system(ESPIPE, op.code)); }
            return core_.defer(idx, Error(e, op.code));
        }
        s.where = Where::kernel;
        io_uring_sqe* sqe = get_sqe();
        if (!sqe) { backlog_.push_back(idx); return; }
        prep(sqe, idx, s);
    }

    void cancel(std::uint32_t idx, Slot& s) noexcept {
        if (s.where == Where::offload) return core_.offload().cancel(idx, s.gen);
        if (s.where == Where::futex) return futex_table_cancel(core_, idx, s);
        if (s.where != Where::kernel) return;
        for (auto it = backlog_.begin(); it != backlog_.end(); ++it)
            if (*it == idx) {  // never reached the kernel
                backlog_.erase(it);
                return core_.defer(idx, Error(Errc::canceled, s.op->code));
            }
        std::uint64_t target = user_data(idx, s.gen);
        io_uring_sqe* sqe = get_sqe();
        if (!sqe) { cancel_backlog_.push_back(target); return; }
        io_uring_prep_cancel64(sqe, target, 0);
        io_uring_sqe_set_data64(sqe, tag_ignore);
    }

    void turn(std::int64_t timeout_ns) noexcept {
        flush_backlog();
        int r = 0;
        bool wait = timeout_ns != 0 && io_uring_cq_ready(&ring_) == 0;
        if (wait) {
            io_uring_cqe* cqe = nullptr;
            if (timeout_ns < 0) {
                r = io_uring_submit_and_wait(&ring_, 1);
            } else {
                __kernel_timespec ts{timeout_ns / 1'000'000'000, timeout_ns % 1'000'000'000};
                r = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
            }
        } else if (io_uring_sq_ready(&ring_) > 0) {
            r = io_uring_submit(&ring_);
        }
        // -EBUSY/-EAGAIN: the CQ is full (overflow): reaping below makes room; what was not submitted stays
        // in the SQ for the next turn. -ETIME: the wait timed out. -EINTR: a signal.
        (void)r;
        reap();
    }

private:
    Route route(const Operation& op) const noexcept {
        switch (op.code) {
        case Op::nop: case Op::read: case Op::write: case Op::pread: case Op::pwrite: case Op::readv:
        case Op::writev: case Op::preadv: case Op::pwritev: case Op::send: case Op::recv: case Op::sendto:
        case Op::recvfrom: case Op::accept: case Op::connect: case Op::close:
            return Route::ring;
        // beneath: IORING_OP_OPENAT2 with RESOLVE_BENEATH (the kernel walks a cached path inline, as for
        // OPENAT); without it, or with ZSYNC_TEST_NO_OPENAT2=1, BlockingIo's code on the offload pool.
        case Op::open:
            if (op.open.options.beneath) return supported_[IORING_OP_OPENAT2] && !no_openat2_ ? Route::ring : Route::offload;
            return supported_[IORING_OP_OPENAT] ? Route::ring : Route::offload;
        // The stat of an open descriptor (no path) walks nothing and reads in-memory inode data: fstat
        // inline, where io_uring's STATX would always hand it to an io-wq thread (docs/reactor.md).
        case Op::stat:
            if (op.stat.path.len == 0 && op.stat.path.dir != cwd_handle) return Route::inline_call;
            return supported_[IORING_OP_STATX] ? Route::ring : Route::offload;
        case Op::fsync: return supported_[IORING_OP_FSYNC] ? Route::ring : Route::offload;
        case Op::mkdir: return supported_[IORING_OP_MKDIRAT] ? Route::ring : Route::offload;
        case Op::remove: return supported_[IORING_OP_UNLINKAT] ? Route::ring : Route::offload;
        case Op::rename: return supported_[IORING_OP_RENAMEAT] ? Route::ring : Route::offload;
        case Op::futex_wait: return supported_[op_futex_wait] && !force_futex_table_ ? Route::ring : Route::futex_table;
        // Single-shot IORING_OP_POLL_ADD (5.1+, so always there in practice); else BlockingIo's ppoll.
        case Op::poll: return supported_[IORING_OP_POLL_ADD] ? Route::ring : Route::offload;
        case Op::socket: case Op::bind: case Op::listen: case Op::shutdown: case Op::socketpair:
        case Op::setsockopt: case Op::getsockname: case Op::getpeername:
            return Route::inline_call;
        case Op::yield: return Route::ready;
        default: return Route::offload;  // sendfile, copy_file_range, dir_read, lookup
        }
    }

    // Copies a path into the slot (NUL-terminated) at `at` (0 or path_max); the error BlockingIo gives.
    Errc copy_path(Slot& s, const Operation::Path& p, std::size_t at) noexcept {
        perform_detail::CPath c(p);
        if (c.error != Errc::ok) return c.error;
        if (!s.path) s.path = std::make_unique<char[]>(2 * perform_detail::path_max);
        std::memcpy(s.path.get() + at, c.buf, p.len + 1);
        return Errc::ok;
    }

    Errc precheck(Slot& s) noexcept {
        Operation& op = *s.op;
        switch (op.code) {
        case Op::readv: case Op::writev: case Op::preadv: case Op::pwritev:
            if (op.rw.len > INT_MAX) return Errc::invalid_argument;
            if (op.code == Op::readv || op.code == Op::writev) return Errc::ok;
            [[fallthrough]];
        case Op::pread: case Op::pwrite:
            // io_uring ignores the offset on a stream (a pipe or socket) where pread(2) says ESPIPE:
            // one lseek finds out (a cost of the positional codes only; see docs/reactor.md).
            if (::lseek(op.rw.fd, 0, SEEK_CUR) < 0 && errno == ESPIPE) { espipe_ = true; return Errc::system; }
            return Errc::ok;
        case Op::open: return copy_path(s, op.open.path, 0);
        case Op::stat: return op.stat.path.len ? copy_path(s, op.stat.path, 0) : Errc::ok;
        case Op::mkdir: return copy_path(s, op.mkdir.path, 0);
        case Op::remove: return copy_path(s, op.remove.path, 0);
        case Op::rename: {
            // BlockingIo checks the destination first.
            if (Errc e = copy_path(s, op.rename.to, perform_detail::path_max); e != Errc::ok) return e;
            return copy_path(s, op.rename.from, 0);
        }
        case Op::connect:
            return to_sockaddr(*op.connect_args.address, s.s.net.addr, s.s.net.len) ? Errc::ok : Errc::invalid_argument;
        case Op::sendto:
            if (op.msg_to.len == 0xffff'ffffu) return Errc::invalid_argument;
            return op.msg_to.address && to_sockaddr(*op.msg_to.address, s.s.net.addr, s.s.net.len) ? Errc::ok : Errc::invalid_argument;
        case Op::recvfrom:
            return op.msg_to.len == 0xffff'ffffu ? Errc::invalid_argument : Errc::ok;
        default:
            return Errc::ok;
        }
    }

    void prep(io_uring_sqe* sqe, std::uint32_t idx, Slot& s) noexcept {
        Operation& op = *s.op;
        auto& n = s.s.net;
        char* path = s.path.get();
        switch (op.code) {
        case Op::nop: io_uring_prep_nop(sqe); break;
        case Op::read: io_uring_prep_read(sqe, op.rw.fd, op.rw.data, clamp_len(op.rw.len), ~std::uint64_t(0)); break;
        case Op::write: io_uring_prep_write(sqe, op.rw.fd, op.rw.data, clamp_len(op.rw.len), ~std::uint64_t(0)); break;
        case Op::pread: io_uring_prep_read(sqe, op.rw.fd, op.rw.data, clamp_len(op.rw.len), op.rw.offset); break;
        case Op::pwrite: io_uring_prep_write(sqe, op.rw.fd, op.rw.data, clamp_len(op.rw.len), op.rw.offset); break;
        case Op::readv: io_uring_prep_readv(sqe, op.rw.fd, static_cast<const iovec*>(op.rw.data), unsigned(op.rw.len), ~std::uint64_t(0)); break;
        case Op::writev: io_uring_prep_writev(sqe, op.rw.fd, static_cast<const iovec*>(op.rw.data), unsigned(op.rw.len), ~std::uint64_t(0)); break;
        case Op::preadv: io_uring_prep_readv(sqe, op.rw.fd, static_cast<const iovec*>(op.rw.data), unsigned(op.rw.len), op.rw.offset); break;
        case Op::pwritev: io_uring_prep_writev(sqe, op.rw.fd, static_cast<const iovec*>(op.rw.data), unsigned(op.rw.len), op.rw.offset); break;
        case Op::send: io_uring_prep_send(sqe, op.msg.fd, op.msg.data, clamp_len(op.msg.len), MSG_NOSIGNAL); break;
        case Op::recv: io_uring_prep_recv(sqe, op.msg.fd, op.msg.data, clamp_len(op.msg.len), 0); break;
        case Op::sendto:
        case Op::recvfrom: {
            std::memset(&n.msg, 0, sizeof n.msg);
            n.iov = {op.msg_to.data, op.msg_to.len};
            n.msg.msg_iov = &n.iov;
            n.msg.msg_iovlen = 1;
            if (op.code == Op::sendto) {
                n.msg.msg_name = &n.addr;
                n.msg.msg_namelen = n.len;
                io_uring_prep_sendmsg(sqe, op.msg_to.fd, &n.msg, MSG_NOSIGNAL);
            } else {
                if (op.msg_to.address) { n.msg.msg_name = &n.addr; n.msg.msg_namelen = sizeof n.addr; }
                io_uring_prep_recvmsg(sqe, op.msg_to.fd, &n.msg, 0);
            }
            break;
        }
        case Op::accept:
            n.len = sizeof n.addr;
            io_uring_prep_accept(sqe, op.accept_args.fd, op.accept_args.peer ? reinterpret_cast<sockaddr*>(&n.addr) : nullptr,
                                 op.accept_args.peer ? &n.len : nullptr, SOCK_CLOEXEC);
            break;
        case Op::connect: io_uring_prep_connect(sqe, op.connect_args.fd, reinterpret_cast<const sockaddr*>(&n.addr), n.len); break;
        case Op::close: io_uring_prep_close(sqe, op.fd); break;
        case Op::poll: io_uring_prep_poll_add(sqe, op.poll_args.fd, static_cast<unsigned short>(poll_events_os(op.poll_args.events))); break;
        case Op::fsync: io_uring_prep_fsync(sqe, op.fd, op.datasync ? IORING_FSYNC_DATASYNC : 0); break;
        case Op::open:
            if (op.open.options.beneath) {
                // As BlockingIo's open_beneath (perform.cpp): mode only with O_CREAT, no magic links.
                static_assert(sizeof(open_how) == sizeof(Slot::Scratch::OpenHow));
                int flags = open_flags(op.open.options);
                s.s.how = {static_cast<std::uint64_t>(flags), (flags & O_CREAT) ? op.open.options.mode : 0u,
                           RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
                io_uring_prep_openat2(sqe, perform_detail::dir_fd(op.open.path.dir), path, reinterpret_cast<open_how*>(&s.s.how));
                break;
            }
            io_uring_prep_openat(sqe, perform_detail::dir_fd(op.open.path.dir), path, open_flags(op.open.options), op.open.options.mode);
            break;
        case Op::stat:
            if (op.stat.path.len == 0) {
                bool cwd = op.stat.path.dir == cwd_handle;
                io_uring_prep_statx(sqe, cwd ? AT_FDCWD : op.stat.path.dir, cwd ? "." : "", cwd ? 0 : AT_EMPTY_PATH, STATX_BASIC_STATS, &s.s.stx);
            } else {
                io_uring_prep_statx(sqe, perform_detail::dir_fd(op.stat.path.dir), path, 0, STATX_BASIC_STATS, &s.s.stx);
            }
            break;
        case Op::mkdir: io_uring_prep_mkdirat(sqe, perform_detail::dir_fd(op.mkdir.path.dir), path, op.mkdir.mode); break;
        case Op::remove: io_uring_prep_unlinkat(sqe, perform_detail::dir_fd(op.remove.path.dir), path, op.remove.directory ? AT_REMOVEDIR : 0); break;
        case Op::rename:
            io_uring_prep_renameat(sqe, perform_detail::dir_fd(op.rename.from.dir), path, perform_detail::dir_fd(op.rename.to.dir),
                                   path + perform_detail::path_max, 0);
            break;
        case Op::futex_wait:
            io_uring_prep_rw(op_futex_wait, sqe, int(futex2_size_u32 | futex2_private), op.futex.word, 0, 0);
            sqe->addr2 = op.futex.expected;
            sqe->addr3 = 0xffff'ffffu;  // FUTEX_BITSET_MATCH_ANY
            break;
        default: io_uring_prep_nop(sqe); break;  // route() sends nothing else here
        }
        io_uring_sqe_set_data64(sqe, user_data(idx, s.gen));
    }

    io_uring_sqe* get_sqe() noexcept {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
        if (sqe) return sqe;
        io_uring_submit(&ring_);  // the SQ is full: flush it (back-pressure)
        return io_uring_get_sqe(&ring_);
    }

    void arm_wake() noexcept {
        io_uring_sqe* sqe = get_sqe();
        if (!sqe) { wake_backlog_ = true; return; }
        io_uring_prep_read(sqe, wake_fd_, &wake_buf_, sizeof wake_buf_, 0);
        io_uring_sqe_set_data64(sqe, tag_wake);
    }

    void flush_backlog() noexcept {
        if (wake_backlog_) { wake_backlog_ = false; arm_wake(); }
        while (!cancel_backlog_.empty()) {
            io_uring_sqe* sqe = get_sqe();
            if (!sqe) return;
            io_uring_prep_cancel64(sqe, cancel_backlog_.back(), 0);
            io_uring_sqe_set_data64(sqe, tag_ignore);
            cancel_backlog_.pop_back();
        }
        std::size_t done = 0;
        for (; done < backlog_.size(); ++done) {
            io_uring_sqe* sqe = get_sqe();
            if (!sqe) break;
            prep(sqe, backlog_[done], core_.slot(backlog_[done]));
        }
        backlog_.erase(backlog_.begin(), backlog_.begin() + static_cast<std::ptrdiff_t>(done));
    }

    void reap() noexcept {
        io_uring_cqe* cqes[64];
        for (;;) {
            unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, 64);
            if (n == 0) return;
            for (unsigned i = 0; i < n; ++i) {
                std::uint64_t ud = io_uring_cqe_get_data64(cqes[i]);
                int res = cqes[i]->res;
                if (ud == tag_ignore) continue;
                if (ud == tag_wake) {
                    core_.woken();
                    arm_wake();
                    continue;
                }
                complete(static_cast<std::uint32_t>(ud), res);
            }
            io_uring_cq_advance(&ring_, n);
            if (n < 64) return;
        }
    }

    void complete(std::uint32_t idx, int res) noexcept {
        Slot& s = core_.slot(idx);
        Operation& op = *s.op;
        // The kernel made or freed a descriptor number: count it before anyone learns it (fd_epoch.hpp).
        if (op.code == Op::close) fd_epoch::bump(op.fd);
        else if (res >= 0 && (op.code == Op::open || op.code == Op::accept || op.code == Op::socket)) fd_epoch::bump(res);
        if (res < 0) {
            int e = -res;
            // BlockingIo's futex_wait: EAGAIN (the word had changed) is a wake; so is a spurious EINTR.
            if (op.code == Op::futex_wait && (e == EAGAIN || (e == EINTR && s.reason == Reason::none)))
                return core_.finish(idx, std::uint64_t(0));
            if (op.code == Op::futex_wait && e == ETIMEDOUT) return core_.finish(idx, Error(Errc::timeout, op.code));
            if (op.code == Op::close && e == EINTR) return core_.finish(idx, std::uint64_t(0));
            if (op.code == Op::open && op.open.options.beneath) {
                // EAGAIN: a concurrent rename made the kernel give up (BlockingIo retries); ENOSYS: a
                // filter refuses openat2 (BlockingIo falls back to its checked open). Either way,
                // BlockingIo's code on the offload pool gives BlockingIo's result.
                if (e == EAGAIN || e == ENOSYS) {
                    // A stop already asked for cannot reach the offload job (Core::cancel sends one
                    // only): end it here, as cancelled.
                    if (s.reason != Reason::none) return core_.finish(idx, Error(Errc::canceled, op.code));
                    if (e == ENOSYS) no_openat2_ = true;  // as BlockingIo, remembered
                    s.where = Where::offload;
                    return core_.offload().push(idx, s.gen, &op);
                }
                if (e == EXDEV) return core_.finish(idx, Error(Errc::outside_directory, op.code));
            }
            return core_.finish(idx, Error::system(e, op.code));
        }
        auto& n = s.s.net;
        switch (op.code) {
        case Op::accept:
            if (op.accept_args.peer) from_sockaddr(n.addr, n.len, *op.accept_args.peer);
            break;
        case Op::recvfrom:
            if (op.msg_to.address) from_sockaddr(n.addr, n.msg.msg_namelen, *op.msg_to.address);
            break;
        case Op::poll:  // res is the ready mask (the kernel's EPOLL* bits equal poll(2)'s POLL* here)
            if (res & POLLNVAL) return core_.finish(idx, Error::system(EBADF, op.code));
            return core_.finish(idx, poll_events_from_os(static_cast<unsigned>(res)));
        case Op::stat: {
            const auto& x = s.s.stx;
            FileStat& out = *op.stat.out;
            out.size = x.stx_size;
            out.inode = x.stx_ino;
            out.mtime_ns = std::int64_t(x.stx_mtime.tv_sec) * 1'000'000'000 + x.stx_mtime.tv_nsec;
            out.mode = x.stx_mode & 07777;
            out.nlink = x.stx_nlink;
            out.kind = kind_of_mode(x.stx_mode);
            res = 0;
            break;
        }
        default: break;
        }
        core_.finish(idx, static_cast<std::uint64_t>(res));
    }

    Core& core_;
    io_uring ring_{};
    bool ring_ok_ = false;
    bool wake_backlog_ = false;
    int wake_fd_ = -1;
    std::uint64_t wake_buf_ = 0;
    bool supported_[256]{};
    bool force_futex_table_ = false;
    bool no_openat2_ = false;  // ZSYNC_TEST_NO_OPENAT2=1: beneath opens take BlockingIo's fallback
    bool espipe_ = false;  // ZSYNC_REACTOR_FUTEX=table: test the table on io_uring too
    std::vector<std::uint32_t> backlog_;
    std::vector<std::uint64_t> cancel_backlog_;
};

}  // namespace

std::unique_ptr<Backend> make_uring(Core& core, unsigned entries, std::string_view& why) noexcept {
    static constexpr BackendOps ops = backend_ops_of<Uring>(Kind::uring);
    auto* u = new Uring(core);
    if (!u->init(entries, why)) { delete u; return nullptr; }
    return std::make_unique<Backend>(u, &ops);
}

}  // namespace zsync::rt::reactor
