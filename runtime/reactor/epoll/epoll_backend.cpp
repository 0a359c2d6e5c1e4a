// The epoll implementation of the reactor: readiness plus a non-blocking retry of the syscall.
//
// Descriptors: the first time a descriptor is used it is classified (fstat): regular files, block
// devices and directories have no readiness, so their Operations go to the offload pool; anything else
// (sockets, pipes, ttys, eventfds) is made O_NONBLOCK and, the first time an Operation on it would
// block, registered once, edge-triggered, for in and out (tokio's scheme: no epoll_ctl per wait).
// Sockets accepted through the reactor are created non-blocking. The table is indexed by the descriptor
// number; Op::close through the reactor forgets the entry (a descriptor closed outside the reactor and
// reused must not have been used through it; see docs/reactor.md).
//
// A submission first tries the syscall; EAGAIN parks it on the descriptor's reader or writer list, and
// every edge retries the whole list. Op::poll parks on a third list, retried on any edge; its "syscall"
// is a poll(2) with a zero timeout, so it completes with what is ready and transfers nothing.
// Completions found during submission or an edge are deferred to the end of the turn (Core::defer), so
// no callback runs while a list is being walked. Cancelling a parked submission unlinks it: nothing is
// in the kernel, the buffer is free at once.
//
// Each driver has its own epoll instance and table; a fiber that migrates uses a descriptor on several.
// What a table caches is checked against fd_epoch.hpp's process-wide count, so a number closed by
// another driver and given to a new file is classified and registered again.
module;
#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <deque>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
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

constexpr std::uint32_t wake_tag = 0xffff'ffffu;

enum class FdKind : std::uint8_t { unknown, pollable, offload };

struct FdState {
    FdKind kind = FdKind::unknown;
    bool registered = false;
    std::uint32_t epoch = 0;  // fd_epoch::get(fd) when kind and registered were cached
    // Heads of doubly linked lists through Slot::next/prev: recv-like and send-like submissions, and
    // Op::poll's (retried on every edge, whatever its bits: a poll may want either or both directions).
    std::uint32_t readers = npos, writers = npos, pollers = npos;
};

// A retry's outcome: done (with the result) or would block.
struct Attempt {
    bool blocked;
    long r;  // >= 0 or -errno
};

class Epoll {
public:
    explicit Epoll(Core& core) noexcept : core_(core) {}
    ~Epoll() {
        if (ep_ >= 0) ::close(ep_);
        if (wake_fd_ >= 0) ::close(wake_fd_);
    }

    bool init(std::string_view& why) noexcept {
        ep_ = ::epoll_create1(EPOLL_CLOEXEC);
        if (ep_ < 0) { why = "epoll_create1 failed"; return false; }
        wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (wake_fd_ < 0) { why = "eventfd failed"; return false; }
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = wake_tag;
        if (::epoll_ctl(ep_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) { why = "epoll_ctl on the eventfd failed"; return false; }
        return true;
    }

    void notify() noexcept {
        std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
    }

    void start(std::uint32_t idx, Slot& s) noexcept {
        Operation& op = *s.op;
        switch (op.code) {
        case Op::nop: case Op::yield:
            return core_.defer(idx, std::uint64_t(0));
        case Op::socket: case Op::bind: case Op::listen: case Op::shutdown: case Op::setsockopt:
        case Op::getsockname: case Op::getpeername:
            perform(op, core_.inline_cs);
            if (op.code == Op::socket && op.result) forget(static_cast<int>(*op.result));
            return core_.defer(idx, op.result);
        case Op::socketpair:
            perform(op, core_.inline_cs);
            if (op.result) { forget(op.pair.out[0]); forget(op.pair.out[1]); }
            return core_.defer(idx, op.result);
        case Op::close:
            close_fd(op.fd);
            perform(op, core_.inline_cs);  // counts the close (fd_epoch.hpp)
            return core_.defer(idx, op.result);
        case Op::read: case Op::write: case Op::pread: case Op::pwrite: case Op::readv: case Op::writev:
        case Op::preadv: case Op::pwritev:
            if ((op.code == Op::readv || op.code == Op::writev || op.code == Op::preadv || op.code == Op::pwritev) && op.rw.len > INT_MAX)
                return core_.defer(idx, Error(Errc::invalid_argument, op.code));
            return readiness(idx, s, op.rw.fd);
        case Op::send: case Op::recv:
            return readiness(idx, s, op.msg.fd);
        case Op::sendto: case Op::recvfrom:
            if (op.msg_to.len == 0xffff'ffffu) return core_.defer(idx, Error(Errc::invalid_argument, op.code));
            if (op.code == Op::sendto && (!op.msg_to.address || !to_sockaddr(*op.msg_to.address, s.s.net.addr, s.s.net.len)))
                return core_.defer(idx, Error(Errc::invalid_argument, op.code));
            return readiness(idx, s, op.msg_to.fd);
        case Op::accept:
            return readiness(idx, s, op.accept_args.fd);
        case Op::poll:
            return readiness(idx, s, op.poll_args.fd);
        case Op::connect:
            if (!to_sockaddr(*op.connect_args.address, s.s.net.addr, s.s.net.len)) return core_.defer(idx, Error(Errc::invalid_argument, op.code));
            return readiness(idx, s, op.connect_args.fd);
        case Op::futex_wait:
            return futex_table_wait(core_, idx, s);
        default:  // open, stat, fsync, paths, dir_read, sendfile, copy_file_range, lookup
            s.where = Where::offload;
            return core_.offload().push(idx, s.gen, &op);
        }
    }

    void cancel(std::uint32_t idx, Slot& s) noexcept {
        if (s.where == Where::offload) return core_.offload().cancel(idx, s.gen);
        if (s.where == Where::futex) return futex_table_cancel(core_, idx, s);
        if (s.where != Where::fd_wait) return;
        unlink(idx, s);
        core_.defer(idx, Error(Errc::canceled, s.op->code));
    }

    void turn(std::int64_t timeout_ns) noexcept {
        epoll_event evs[128];
        timespec ts{0, 0};
        if (timeout_ns > 0) ts = {static_cast<time_t>(timeout_ns / 1'000'000'000), static_cast<long>(timeout_ns % 1'000'000'000)};
        int n = ::epoll_pwait2(ep_, evs, 128, timeout_ns < 0 ? nullptr : &ts, nullptr);
        for (int i = 0; i < n; ++i) {
            std::uint32_t tag = evs[i].data.u32;
            if (tag == wake_tag) {
                std::uint64_t v;
                [[maybe_unused]] auto r = ::read(wake_fd_, &v, sizeof v);
                core_.woken();
                continue;
            }
            std::uint32_t e = evs[i].events;
            int fd = static_cast<int>(tag);
            if (static_cast<std::size_t>(fd) >= fds_.size()) continue;
            if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) retry(fds_[fd].readers);
            if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) retry(fds_[fd].writers);
            retry(fds_[fd].pollers);
        }
    }

private:
    FdState& state(int fd) noexcept {
        if (static_cast<std::size_t>(fd) >= fds_.size()) fds_.resize(static_cast<std::size_t>(fd) + 64);
        return fds_[static_cast<std::size_t>(fd)];
    }

    // fd was just created (and counted) by perform() on this driver.
    void forget(int fd) noexcept {
        if (fd < 0) return;
        renew(fd, state(fd), FdKind::unknown);
    }

    // A new file under fd's number, as of the current count: the cache is dropped, and submissions still
    // parked on the old file (closed under them through another driver, or outside the reactor) fail
    // with EBADF as a close through this driver would have failed them, instead of being woken by
    // the new file's edges and reading its bytes.
    void renew(int fd, FdState& st, FdKind kind) noexcept {
        fail_waiters(st);
        st.kind = kind;
        st.registered = false;
        st.epoch = fd_epoch::get(fd);
    }

    void fail_waiters(FdState& st) noexcept {
        for (std::uint32_t* head : {&st.readers, &st.writers, &st.pollers})
            while (*head != npos) {
                std::uint32_t i = *head;
                unlink(i, core_.slot(i));
                core_.defer(i, Error::system(EBADF, core_.slot(i).op->code));
            }
    }

    // fd's entry, renewed when the number was closed or reborn since (by any driver or thread).
    FdState& current(int fd) noexcept {
        FdState& st = state(fd);
        if (st.epoch != fd_epoch::get(fd)) renew(fd, st, FdKind::unknown);
        return st;
    }

    // Close through the reactor: waiters on it can never be woken again; they fail as the OS would
    // answer them now (EBADF).
    void close_fd(int fd) noexcept {
        if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size()) return;
        FdState& st = fds_[fd];
        if (st.registered) ::epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
        fail_waiters(st);
        st.kind = FdKind::unknown;
        st.registered = false;  // the count moves with the close (perform), so the next use renews
    }

    // Classifies fd on first use (kind unknown): false when it has no readiness (offload it).
    bool pollable(int fd) noexcept {
        if (fd < 0) return true;  // the syscall itself reports EBADF
        FdState& st = current(fd);
        if (st.kind == FdKind::unknown) {
            struct stat sb;
            if (::fstat(fd, &sb) != 0) return true;  // EBADF and the like: let the call report it
            if (S_ISREG(sb.st_mode) || S_ISBLK(sb.st_mode) || S_ISDIR(sb.st_mode)) {
                st.kind = FdKind::offload;
            } else {
                int fl = ::fcntl(fd, F_GETFL);
                if (fl >= 0 && !(fl & O_NONBLOCK)) ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
                st.kind = FdKind::pollable;
            }
        }
        return st.kind == FdKind::pollable;
    }

    void readiness(std::uint32_t idx, Slot& s, int fd) noexcept {
        if (!pollable(fd)) {
            // A regular file, block device or directory is always ready: poll(2) answers at once (the
            // syscall, not the cache, so a closed number is still EBADF). Not ready means the cache is
            // stale (the number was reborn outside the reactor): BlockingIo's ppoll on the offload pool.
            if (s.op->code == Op::poll) {
                if (long r = poll_now(*s.op); r != -EAGAIN) return done(idx, s, r);
            }
            s.where = Where::offload;
            return core_.offload().push(idx, s.gen, s.op);
        }
        Attempt a = attempt(s);
        if (!a.blocked) return done(idx, s, a.r);
        park(idx, s, fd, wants_write(*s.op));
    }

    static bool wants_write(const Operation& op) noexcept {
        switch (op.code) {
        case Op::write: case Op::pwrite: case Op::writev: case Op::pwritev: case Op::send: case Op::sendto: case Op::connect:
            return true;
        default: return false;
        }
    }

    static long sys(long r) noexcept { return r < 0 ? -errno : r; }

    // Op::poll's try: poll(2) without waiting. Ready: the events; nothing yet: -EAGAIN (park);
    // a closed descriptor (POLLNVAL) or a negative one (which poll(2) would skip): -EBADF.
    static long poll_now(const Operation& op) noexcept {
        if (op.poll_args.fd < 0) return -EBADF;
        pollfd p{op.poll_args.fd, poll_events_os(op.poll_args.events), 0};
        int n = ::poll(&p, 1, 0);
        if (n < 0) return -errno;
        if (n == 0) return -EAGAIN;
        if (p.revents & POLLNVAL) return -EBADF;
        return static_cast<long>(poll_events_from_os(static_cast<unsigned short>(p.revents)));
    }

    // One non-blocking try of the syscall behind s.op (EINTR retried).
    Attempt attempt(Slot& s) noexcept {
        Operation& op = *s.op;
        auto& n = s.s.net;
        long r;
        for (;;) {
            switch (op.code) {
            case Op::read: r = sys(::read(op.rw.fd, op.rw.data, op.rw.len)); break;
            case Op::write: r = sys(::write(op.rw.fd, op.rw.data, op.rw.len)); break;
            case Op::pread: r = sys(::pread(op.rw.fd, op.rw.data, op.rw.len, static_cast<off_t>(op.rw.offset))); break;
            case Op::pwrite: r = sys(::pwrite(op.rw.fd, op.rw.data, op.rw.len, static_cast<off_t>(op.rw.offset))); break;
            case Op::readv: r = sys(::readv(op.rw.fd, static_cast<const iovec*>(op.rw.data), int(op.rw.len))); break;
            case Op::writev: r = sys(::writev(op.rw.fd, static_cast<const iovec*>(op.rw.data), int(op.rw.len))); break;
            case Op::preadv: r = sys(::preadv(op.rw.fd, static_cast<const iovec*>(op.rw.data), int(op.rw.len), static_cast<off_t>(op.rw.offset))); break;
            case Op::pwritev: r = sys(::pwritev(op.rw.fd, static_cast<const iovec*>(op.rw.data), int(op.rw.len), static_cast<off_t>(op.rw.offset))); break;
            case Op::send: r = sys(::send(op.msg.fd, op.msg.data, op.msg.len, MSG_NOSIGNAL | MSG_DONTWAIT)); break;
            case Op::recv: r = sys(::recv(op.msg.fd, op.msg.data, op.msg.len, MSG_DONTWAIT)); break;
            case Op::sendto:
                r = sys(::sendto(op.msg_to.fd, op.msg_to.data, op.msg_to.len, MSG_NOSIGNAL | MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&n.addr), n.len));
                break;
            case Op::recvfrom:
                n.len = sizeof n.addr;
                r = sys(::recvfrom(op.msg_to.fd, op.msg_to.data, op.msg_to.len, MSG_DONTWAIT,
                                   op.msg_to.address ? reinterpret_cast<sockaddr*>(&n.addr) : nullptr, op.msg_to.address ? &n.len : nullptr));
                break;
            case Op::accept:
                n.len = sizeof n.addr;
                r = sys(::accept4(op.accept_args.fd, op.accept_args.peer ? reinterpret_cast<sockaddr*>(&n.addr) : nullptr,
                                  op.accept_args.peer ? &n.len : nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
                if (r >= 0) {
                    int fd = static_cast<int>(r);
                    fd_epoch::bump(fd);  // before anyone learns the number (fd_epoch.hpp)
                    renew(fd, state(fd), FdKind::pollable);  // created non-blocking
                }
                break;
            case Op::connect:
                if (s.phase & 1) {  // in progress: writability means it finished; SO_ERROR says how
                    int err = 0;
                    socklen_t el = sizeof err;
                    if (::getsockopt(op.connect_args.fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0) r = -errno;
                    else if (err == 0) r = 0;
                    else if (err == EINPROGRESS || err == EALREADY) return {true, 0};
                    else r = -err;
                    break;
                }
                r = sys(::connect(op.connect_args.fd, reinterpret_cast<const sockaddr*>(&n.addr), n.len));
                if (r == -EINPROGRESS || r == -EALREADY) { s.phase = 1; return {true, 0}; }
                break;
            case Op::poll: r = poll_now(op); break;
            default: r = -EINVAL; break;
            }
            if (r == -EINTR) continue;
            if (r == -EAGAIN || r == -EWOULDBLOCK) {
                // A Unix connect to a full backlog says EAGAIN: retried when writable.
                return {true, 0};
            }
            return {false, r};
        }
    }

    void done(std::uint32_t idx, Slot& s, long r) noexcept {
        Operation& op = *s.op;
        if (r < 0) return core_.defer(idx, Error::system(static_cast<int>(-r), op.code));
        auto& n = s.s.net;
        if (op.code == Op::accept && op.accept_args.peer) from_sockaddr(n.addr, n.len, *op.accept_args.peer);
        if (op.code == Op::recvfrom && op.msg_to.address) from_sockaddr(n.addr, n.len, *op.msg_to.address);
        core_.defer(idx, static_cast<std::uint64_t>(r));
    }

    void park(std::uint32_t idx, Slot& s, int fd, bool write) noexcept {
        FdState& st = current(fd);
        if (!st.registered) {
            epoll_event ev{};
            ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
            ev.data.u32 = static_cast<std::uint32_t>(fd);
            if (::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0 && errno != EEXIST) {
                return core_.defer(idx, Error::system(errno, s.op->code));
            }
            st.registered = true;
        }
        s.where = Where::fd_wait;
        s.phase = static_cast<std::uint8_t>((s.phase & 1) | (write ? 2 : 0) | (s.op->code == Op::poll ? 4 : 0));
        std::uint32_t& head = list_of(st, s.phase);
        s.prev = npos;
        s.next = head;
        if (head != npos) core_.slot(head).prev = idx;
        head = idx;
    }

    static int fd_of(const Operation& op) noexcept {
        switch (op.code) {
        case Op::send: case Op::recv: return op.msg.fd;
        case Op::sendto: case Op::recvfrom: return op.msg_to.fd;
        case Op::accept: return op.accept_args.fd;
        case Op::connect: return op.connect_args.fd;
        case Op::poll: return op.poll_args.fd;
        default: return op.rw.fd;
        }
    }

    // The list a parked submission is on, by its phase bits (4: poller, 2: writer, else reader).
    static std::uint32_t& list_of(FdState& st, std::uint8_t phase) noexcept {
        return (phase & 4) ? st.pollers : (phase & 2) ? st.writers : st.readers;
    }

    void unlink(std::uint32_t, Slot& s) noexcept {
        FdState& st = state(fd_of(*s.op));
        std::uint32_t& head = list_of(st, s.phase);
        if (s.prev != npos) core_.slot(s.prev).next = s.next;
        else head = s.next;
        if (s.next != npos) core_.slot(s.next).prev = s.prev;
        s.next = s.prev = npos;
        s.where = Where::kernel;  // neither parked nor free: about to be deferred
    }

    // An edge on a list: every parked submission tries again (in arrival order is not promised).
    void retry(std::uint32_t head) noexcept {
        std::uint32_t i = head;
        while (i != npos) {
            Slot& s = core_.slot(i);
            std::uint32_t next = s.next;
            Attempt a = attempt(s);
            if (!a.blocked) {
                unlink(i, s);
                done(i, s, a.r);
            }
            i = next;
        }
    }

    Core& core_;
    int ep_ = -1;
    int wake_fd_ = -1;
    std::vector<FdState> fds_;
};

}  // namespace

std::unique_ptr<Backend> make_epoll(Core& core, std::string_view& why) noexcept {
    static constexpr BackendOps ops = backend_ops_of<Epoll>(Kind::epoll);
    auto* e = new Epoll(core);
    if (!e->init(why)) { delete e; return nullptr; }
    return std::make_unique<Backend>(e, &ops);
}

}  // namespace zsync::rt::reactor
