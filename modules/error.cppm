// zsync:error — what went wrong, and in which operation.
//
// An Error is a small trivially-copyable value (8 bytes): zsync's own condition or an OS error number,
// plus the operation that failed. It never allocates; message() formats on demand.
module;
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
export module zsync:error;

export namespace zsync {

// Every operation and task-core call that can fail. The first group are Operation codes (the things a
// task can wait for); the rest name the task-core call that produced an error.
enum class Op : std::uint8_t {
    nop,
    read, write, pread, pwrite, readv, writev, preadv, pwritev,
    open, close, stat, fsync, sendfile, copy_file_range,
    mkdir, remove, rename, dir_read,
    accept,
    socket, bind, listen, connect, send, recv, sendto, recvfrom, shutdown, socketpair, setsockopt,
    getsockname, getpeername, lookup,
    poll,  // readiness of a handle, nothing transferred
    sleep, futex_wait, yield,
    // Waiting for a task (a Future's await or cancel) or for a group's tasks (await or cancel): the
    // task-core waits as Operations, so a stackless frame can return them (modules/io.cppm).
    wait_task, wait_group,
    operation_count_,  // not an operation: the number of Operation codes above
    // task-core calls (not Operations)
    async = operation_count_, concurrent, await, cancel, group_async, group_concurrent, group_await,
    group_cancel, check_cancel, futex_wake, batch, run,
    parse_address,  // parsing a network address from text (zsync:net), before any Operation
    // synchronisation primitives (modules/sync/): the cancel point or call that failed
    lock, unlock, wait, queue_put, queue_get, select_wait, select_async,
    none,
};

// zsync's own conditions. `system` means "see os_error()".
enum class Errc : std::uint16_t {
    ok = 0,
    system,                   // the OS reported os_error()
    canceled,                 // a cancellation request was delivered at this cancel point
    concurrency_unavailable,  // `concurrent` could not give the task its own unit of concurrency
    end_of_stream,            // a read that needed more bytes met the end of the file or stream
    timeout,                  // the deadline passed before the wait was satisfied
    closed,                   // the handle was already closed by this program
    not_in_frame,             // a wait in code without a frame on a backend that cannot nest its loop
    invalid_argument,         // a bad argument detected before reaching the OS
    io_gone,                  // the Io's backend was destroyed before this call
    already_awaited,          // the Future's result was already taken by await or cancel
    wrong_io,                 // a Future or Group used with another Io than the one that started it
    name_too_long,            // a path longer than the OS accepts
    task_threw,               // the task ended with an exception (native builds)
    shut_down,                // the backend is shutting down and takes no new work
    name_not_found,           // name lookup: the host (or service) is not known
    name_lookup_failed,       // name lookup: the resolver failed (temporarily, or no usable answer)
    not_locked,               // unlock of a Mutex/RwLock that is not locked (in that mode)
    would_deadlock,           // the wait could never end: e.g. a Mutex locked again by the task holding it
    would_block,              // a try_ call that would have had to wait
    outside_directory,        // an open beneath a directory resolved outside it (.., absolute, a symlink out)
    frame_mismatch,           // a function's registered frame reads another argument block than the task's
};

// A failed operation: which one, and why. Equality compares all three parts.
class Error {
public:
    constexpr Error() noexcept = default;
    constexpr Error(Errc code, Op op) noexcept : code_(code), op_(op) {}
    // An OS error number (errno on POSIX) reported by `op`.
    static constexpr Error system(int os_error, Op op) noexcept {
        Error e(Errc::system, op);
        e.os_ = os_error;
        return e;
    }

    constexpr Errc code() const noexcept { return code_; }
    constexpr Op op() const noexcept { return op_; }
    // The OS error number, or 0 when the error is zsync's own.
    constexpr int os_error() const noexcept { return os_; }

    constexpr bool is(Errc c) const noexcept { return code_ == c; }
    // True when the OS reported exactly this portable condition (e.g. std::errc::no_such_file_or_directory).
    constexpr bool is(std::errc e) const noexcept { return code_ == Errc::system && os_ == static_cast<int>(e); }
    constexpr bool canceled() const noexcept { return code_ == Errc::canceled; }

    // "open: No such file or directory (os error 2)". Allocates; never fails.
    std::string message() const;

    friend constexpr bool operator==(const Error&, const Error&) noexcept = default;

private:
    Errc code_ = Errc::ok;
    Op op_ = Op::none;
    std::int32_t os_ = 0;
};

// Lower-case name of an operation or task-core call, e.g. "pread", "group_await".
std::string_view op_name(Op op) noexcept;
// Lower-case name of a zsync condition, e.g. "canceled".
std::string_view errc_name(Errc code) noexcept;

}  // namespace zsync
