// zsync:operation — everything a task can wait for, as a value.
//
// An Operation is a code, its arguments and a result slot (DESIGN.md §3). A backend implements the whole
// I/O surface by performing Operations: BlockingIo makes the syscall, a green thread parks until the
// reactor completes it, a stackless frame returns it from resume() and is resumed with the slot filled.
// It holds no pointers to backend state and owns nothing: paths and buffers are borrowed from the caller
// and must outlive the wait. Trivially copyable, at most 64 bytes (checked below).
module;
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>
export module zsync:operation;
import :error;
import :result;
import :time;

export namespace zsync {

// An OS handle: a file descriptor on POSIX.
using Handle = std::int32_t;
inline constexpr Handle invalid_handle = -1;
// Stands for "the current working directory" wherever a directory handle is taken.
inline constexpr Handle cwd_handle = -0x7fff'fff0;

// One buffer of a vectored read or write. Same layout as POSIX `struct iovec` (checked in runtime/).
struct IoVec {
    void* base;
    std::size_t len;
};

// How File::open / Dir::open_file open a file. Bits are zsync's own; backends map them to the OS.
struct OpenOptions {
    enum Access : std::uint8_t { read_only, write_only, read_write };
    Access access = read_only;
    bool create = false;     // create if missing
    bool exclusive = false;  // with create: fail if it exists
    bool truncate = false;
    bool append = false;
    bool directory = false;  // fail unless it is a directory
    // Resolve the path beneath the directory it is opened relative to, or fail with
    // Errc::outside_directory: no "..", absolute path or symbolic link (at any component) may lead
    // out of it. Linux openat2(RESOLVE_BENEATH); on kernels without it, the opened file's own path
    // (/proc/self/fd) is checked against the directory's, so a race cannot slip past the check.
    bool beneath = false;
    std::uint32_t mode = 0644;  // permissions of a created file, before the umask
};

enum class FileKind : std::uint8_t { unknown, file, directory, symlink, block_device, char_device, fifo, socket };

struct FileStat {
    std::uint64_t size = 0;
    std::uint64_t inode = 0;
    std::int64_t mtime_ns = 0;  // since the Unix epoch
    std::uint32_t mode = 0;     // permission bits
    std::uint32_t nlink = 0;
    FileKind kind = FileKind::unknown;
};

// Networking (zsync:net builds its address types and sockets over these).
enum class AddressFamily : std::uint8_t { unspecified, ipv4, ipv6, unix_path };
enum class SocketType : std::uint8_t { stream, datagram };
enum class ShutdownHow : std::uint8_t { read, write, both };
// Socket options settable through Operation::setsockopt. `value` is a flag (0/1), except linger
// (seconds; < 0 turns lingering off, 0 makes close send a reset).
enum class SocketOption : std::uint8_t { reuse_address, reuse_port, no_delay, keep_alive, broadcast, linger, v6_only };

// A socket address in zsync's own, OS-independent form: what socket Operations read and fill.
// IPv4: ip[0..3] in network order; IPv6: all 16 bytes. Unix: `path_len` bytes of `path` (not
// NUL-terminated; a leading NUL is a Linux abstract name; path_len 0 is an unnamed socket).
struct SocketAddress {
    AddressFamily family = AddressFamily::unspecified;
    std::uint8_t path_len = 0;
    std::uint16_t port = 0;       // host byte order
    std::uint32_t flowinfo = 0;   // IPv6
    std::uint32_t scope_id = 0;   // IPv6
    std::uint8_t ip[16]{};
    char path[108]{};
    static constexpr std::size_t max_path = 107;  // bytes of a Unix path (one is kept for the NUL)
};

// Readiness of a handle, as bits: what Operation::poll waits for and what it reports. zsync's own
// values (backends map them to the OS's). `error` and `hang_up` are only reported, never waited for:
// they end every poll, whatever it asked (hang_up: the peer closed or shut down its writing side, so
// reads will reach the end of the stream; error: a pending socket error, e.g. a refused connection).
enum class PollEvents : std::uint32_t { none = 0, readable = 1, writable = 2, error = 4, hang_up = 8 };
constexpr PollEvents operator|(PollEvents a, PollEvents b) noexcept { return PollEvents(std::uint32_t(a) | std::uint32_t(b)); }
constexpr PollEvents operator&(PollEvents a, PollEvents b) noexcept { return PollEvents(std::uint32_t(a) & std::uint32_t(b)); }
constexpr PollEvents& operator|=(PollEvents& a, PollEvents b) noexcept { return a = a | b; }
// True when `set` holds any bit of `bits`.
constexpr bool has_any(PollEvents set, PollEvents bits) noexcept { return (std::uint32_t(set) & std::uint32_t(bits)) != 0; }
// An Operation::poll result as its events (the bits zsync defines; nothing else is ever set).
constexpr PollEvents poll_events_of(std::uint64_t result) noexcept { return PollEvents(std::uint32_t(result) & 0xfu); }

// One answer slot of Operation::lookup.
struct LookupAnswer {
    SocketAddress address;
};

// A wait, described completely. Build one with the static factories; read `result` when it completed.
struct Operation {
    // Arguments, by code. Offsets of -1 in `transfer` mean "use and advance the file position".
    // data = IoVec* for *v. deadline: read/write/readv/writev only (a pipe, FIFO, tty or character
    // device can wait for its peer); a regular file is always ready, so there it is best effort.
    struct Rw { Handle fd; void* data; std::uint64_t len; std::uint64_t offset; Deadline deadline; };
    struct Path { Handle dir; std::uint32_t len; const char* ptr; };                        // not NUL-terminated
    struct Open { Path path; OpenOptions options; };
    struct Stat { Path path; FileStat* out; };                                              // path.len == 0: stat dir itself (fstat)
    struct Transfer { Handle in; Handle out; std::uint64_t len; std::int64_t in_offset; std::int64_t out_offset; };
    struct Mkdir { Path path; std::uint32_t mode; };
    struct Remove { Path path; bool directory; };
    struct Rename { Path from; Path to; };
    struct DirRead { Handle dir; void* buffer; std::uint64_t len; bool rewind; };          // rewind: from the first entry
    struct Futex { const std::atomic<std::uint32_t>* word; std::uint32_t expected; Deadline deadline; };
    // Networking. Deadlines: Deadline::never() waits without a limit; a passed one is Errc::timeout.
    struct Socket { AddressFamily family; SocketType type; };
    struct Bind { Handle fd; bool reuse_address; const SocketAddress* address; };
    struct SockInt { Handle fd; std::int32_t value; SocketOption option; };           // listen backlog, shutdown how, setsockopt
    struct Accept { Handle fd; SocketAddress* peer; Deadline deadline; };             // peer may be null
    struct Connect { Handle fd; const SocketAddress* address; Deadline deadline; };
    struct Msg { Handle fd; void* data; std::uint64_t len; Deadline deadline; };      // send / recv
    struct MsgTo { Handle fd; std::uint32_t len; void* data; SocketAddress* address; Deadline deadline; };  // sendto / recvfrom
    struct Pair { Handle* out; AddressFamily family; SocketType type; };              // out[2]
    struct Name { Handle fd; SocketAddress* out; };                                   // getsockname / getpeername
    // Waiting for tasks (built by zsync:io's wait_task_operation / wait_group_operation, which give the
    // pointers their types): an AnyFuture*, its TaskDescriptor* and the Result buffer; a GroupState*.
    struct TaskWait { void* future; const void* task; void* result; bool cancel; };
    struct GroupWait { void* group; bool cancel; };
    struct Poll { Handle fd; std::uint32_t events; Deadline deadline; };             // events: PollEvents bits
    struct Lookup { const char* host; LookupAnswer* out; std::uint32_t host_len; std::uint32_t capacity; std::uint16_t port; AddressFamily family; };

    Op code = Op::nop;
    bool datasync = false;  // fsync: only the data (fdatasync)
    union {
        Rw rw;
        Open open;
        Handle fd;  // close, fsync
        Stat stat;
        Transfer transfer;
        Mkdir mkdir;
        Remove remove;
        Rename rename;
        DirRead dir_read;
        Deadline sleep;
        Futex futex;
        Socket socket_args;
        Bind bind_args;
        SockInt sock_int;
        Accept accept_args;
        Connect connect_args;
        Msg msg;
        MsgTo msg_to;
        Pair pair;
        Name name;
        Lookup lookup_args;
        Poll poll_args;
        TaskWait task_wait;
        GroupWait group_wait;
    };
    // Filled by the backend: bytes transferred, the new handle (open), or 0; or the Error.
    Result<std::uint64_t> result{Error(Errc::invalid_argument, Op::nop)};

    constexpr Operation() noexcept : fd(invalid_handle) {}

    static inline Operation nop() noexcept { return {}; }
    // With a deadline: Errc::timeout when the handle is not ready before it passes (best effort for
    // regular files, which are always ready; docs/reference/time.md).
    static inline Operation read(Handle fd, std::span<std::byte> b, Deadline d = Deadline::never()) noexcept { return rw_op(Op::read, fd, b.data(), b.size(), 0, d); }
    static inline Operation write(Handle fd, std::span<const std::byte> b, Deadline d = Deadline::never()) noexcept { return rw_op(Op::write, fd, const_cast<std::byte*>(b.data()), b.size(), 0, d); }
    static inline Operation pread(Handle fd, std::span<std::byte> b, std::uint64_t off) noexcept { return rw_op(Op::pread, fd, b.data(), b.size(), off); }
    static inline Operation pwrite(Handle fd, std::span<const std::byte> b, std::uint64_t off) noexcept { return rw_op(Op::pwrite, fd, const_cast<std::byte*>(b.data()), b.size(), off); }
    static inline Operation readv(Handle fd, std::span<const IoVec> v, Deadline d = Deadline::never()) noexcept { return rw_op(Op::readv, fd, const_cast<IoVec*>(v.data()), v.size(), 0, d); }
    static inline Operation writev(Handle fd, std::span<const IoVec> v, Deadline d = Deadline::never()) noexcept { return rw_op(Op::writev, fd, const_cast<IoVec*>(v.data()), v.size(), 0, d); }
    static inline Operation preadv(Handle fd, std::span<const IoVec> v, std::uint64_t off) noexcept { return rw_op(Op::preadv, fd, const_cast<IoVec*>(v.data()), v.size(), off); }
    static inline Operation pwritev(Handle fd, std::span<const IoVec> v, std::uint64_t off) noexcept { return rw_op(Op::pwritev, fd, const_cast<IoVec*>(v.data()), v.size(), off); }
    static inline Operation open_at(Handle dir, std::string_view path, OpenOptions o) noexcept { Operation op; op.code = Op::open; op.open = {make_path(dir, path), o}; return op; }
    static inline Operation close(Handle fd) noexcept { Operation op; op.code = Op::close; op.fd = fd; return op; }
    static inline Operation fsync(Handle fd, bool data_only = false) noexcept { Operation op; op.code = Op::fsync; op.fd = fd; op.datasync = data_only; return op; }
    static inline Operation stat_at(Handle dir, std::string_view path, FileStat& out) noexcept { Operation op; op.code = Op::stat; op.stat = {make_path(dir, path), &out}; return op; }
    static inline Operation sendfile(Handle out, Handle in, std::int64_t in_offset, std::uint64_t len) noexcept { Operation op; op.code = Op::sendfile; op.transfer = {in, out, len, in_offset, -1}; return op; }
    static inline Operation copy_file_range(Handle in, std::int64_t in_offset, Handle out, std::int64_t out_offset, std::uint64_t len) noexcept { Operation op; op.code = Op::copy_file_range; op.transfer = {in, out, len, in_offset, out_offset}; return op; }
    static inline Operation mkdir_at(Handle dir, std::string_view path, std::uint32_t mode) noexcept { Operation op; op.code = Op::mkdir; op.mkdir = {make_path(dir, path), mode}; return op; }
    static inline Operation remove_at(Handle dir, std::string_view path, bool directory) noexcept { Operation op; op.code = Op::remove; op.remove = {make_path(dir, path), directory}; return op; }
    static inline Operation rename_at(Handle from_dir, std::string_view from, Handle to_dir, std::string_view to) noexcept { Operation op; op.code = Op::rename; op.rename = {make_path(from_dir, from), make_path(to_dir, to)}; return op; }
    // Fills `buffer` with packed directory entries (see DirEntryRecord); result = bytes used, 0 at the end.
    // Continues where the previous dir_read on the handle stopped, or from the first entry with `rewind`.
    static inline Operation dir_read_into(Handle dir, std::span<std::byte> buffer, bool rewind = false) noexcept {
        Operation op; op.code = Op::dir_read; op.dir_read = {dir, buffer.data(), buffer.size(), rewind}; return op;
    }
    // --- Networking. Every one is a cancel point; the ones that wait are interruptible by cancellation.
    // A new socket (close-on-exec); result = its handle.
    static inline Operation socket(AddressFamily f, SocketType t) noexcept { Operation op; op.code = Op::socket; op.socket_args = {f, t}; return op; }
    // Binds to `addr` (SO_REUSEADDR first when reuse_address). `addr` must outlive the wait.
    static inline Operation bind(Handle fd, const SocketAddress& addr, bool reuse_address = false) noexcept { Operation op; op.code = Op::bind; op.bind_args = {fd, reuse_address, &addr}; return op; }
    static inline Operation listen(Handle fd, std::int32_t backlog) noexcept { Operation op; op.code = Op::listen; op.sock_int = {fd, backlog, SocketOption::reuse_address}; return op; }
    // Accepts a connection on a listening socket; result = the new socket's handle (close-on-exec).
    // Fills *peer when given. With a deadline, waits (poll) until it passes: Errc::timeout.
    static inline Operation accept(Handle listener, SocketAddress* peer = nullptr, Deadline d = Deadline::never()) noexcept {
        Operation op; op.code = Op::accept; op.accept_args = {listener, peer, d}; return op;
    }
    // Connects; with a deadline, Errc::timeout when it passes (the socket is then unusable: close it).
    static inline Operation connect(Handle fd, const SocketAddress& addr, Deadline d = Deadline::never()) noexcept {
        Operation op; op.code = Op::connect; op.connect_args = {fd, &addr, d}; return op;
    }
    // Sends up to b.size() bytes (never raises SIGPIPE: a closed peer is EPIPE); result = bytes sent.
    static inline Operation send(Handle fd, std::span<const std::byte> b, Deadline d = Deadline::never()) noexcept {
        Operation op; op.code = Op::send; op.msg = {fd, const_cast<std::byte*>(b.data()), b.size(), d}; return op;
    }
    // Receives up to b.size() bytes; result = bytes received, 0 at the end of the stream.
    static inline Operation recv(Handle fd, std::span<std::byte> b, Deadline d = Deadline::never()) noexcept {
        Operation op; op.code = Op::recv; op.msg = {fd, b.data(), b.size(), d}; return op;
    }
    // One datagram to `to` (at most 4 GiB - 1 bytes; longer is invalid_argument).
    static inline Operation sendto(Handle fd, std::span<const std::byte> b, const SocketAddress& to, Deadline d = Deadline::never()) noexcept {
        Operation op; op.code = Op::sendto; op.msg_to = {fd, clamp32(b.size()), const_cast<std::byte*>(b.data()), const_cast<SocketAddress*>(&to), d}; return op;
    }
    // One datagram into `b` (truncated to b.size()), the sender in *from (when given).
    static inline Operation recvfrom(Handle fd, std::span<std::byte> b, SocketAddress* from, Deadline d = Deadline::never()) noexcept {
        Operation op; op.code = Op::recvfrom; op.msg_to = {fd, clamp32(b.size()), b.data(), from, d}; return op;
    }
    static inline Operation shutdown(Handle fd, ShutdownHow how) noexcept {
        Operation op; op.code = Op::shutdown; op.sock_int = {fd, static_cast<std::int32_t>(how), SocketOption::reuse_address}; return op;
    }
    // A connected pair of sockets (close-on-exec) written to out[0], out[1]; result = 0.
    static inline Operation socketpair(Handle* out, AddressFamily f = AddressFamily::unix_path, SocketType t = SocketType::stream) noexcept {
        Operation op; op.code = Op::socketpair; op.pair = {out, f, t}; return op;
    }
    static inline Operation setsockopt(Handle fd, SocketOption o, std::int32_t value) noexcept {
        Operation op; op.code = Op::setsockopt; op.sock_int = {fd, value, o}; return op;
    }
    static inline Operation getsockname(Handle fd, SocketAddress& out) noexcept { Operation op; op.code = Op::getsockname; op.name = {fd, &out}; return op; }
    static inline Operation getpeername(Handle fd, SocketAddress& out) noexcept { Operation op; op.code = Op::getpeername; op.name = {fd, &out}; return op; }
    // Resolves `host` (getaddrinfo) into up to out.size() addresses with `port`; result = how many.
    // Family unspecified: both IPv4 and IPv6. The resolver cannot be interrupted: this is a cancel
    // point before it starts, and the wait has no deadline. It runs on the calling thread on every backend
    // for now (see the top of modules/net.cppm).
    static inline Operation lookup(std::string_view host, std::uint16_t port, std::span<LookupAnswer> out,
                                   AddressFamily f = AddressFamily::unspecified) noexcept {
        Operation op; op.code = Op::lookup; op.lookup_args = {host.data(), out.data(), clamp32(host.size()), clamp32(out.size()), port, f}; return op;
    }
    // Waits until `fd` is ready for `events` (readable and/or writable; other bits are ignored) without
    // transferring anything; result = the ready events as PollEvents bits (poll_events_of): a subset of
    // what was asked, plus error and hang_up whenever they hold (those end the wait even when not asked
    // for, as poll(2)). Readiness is a hint: the next read or write may still find nothing and wait.
    // A cancel point, interruptible by cancellation (Errc::canceled) on every backend; may wait. With a
    // deadline, Errc::timeout when nothing is ready before it passes (a passed deadline still reports
    // what is ready at once). A regular file is always readable and writable. An invalid or closed
    // handle is the OS error EBADF, as for every other Operation.
    static inline Operation poll(Handle fd, PollEvents events, Deadline d = Deadline::never()) noexcept {
        Operation op; op.code = Op::poll; op.poll_args = {fd, static_cast<std::uint32_t>(events), d}; return op;
    }
    static inline Operation sleep_until(Deadline d) noexcept { Operation op; op.code = Op::sleep; op.sleep = d; return op; }
    // Waits while `word` holds `expected`, until woken, the deadline, or cancellation. May wake spuriously.
    static inline Operation futex_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected, Deadline d = Deadline::never()) noexcept {
        Operation op; op.code = Op::futex_wait; op.futex = {&word, expected, d}; return op;
    }
    static inline Operation yield() noexcept { Operation op; op.code = Op::yield; return op; }

private:
    static constexpr std::uint32_t clamp32(std::size_t n) noexcept { return n > 0xffff'ffffu ? 0xffff'ffffu : static_cast<std::uint32_t>(n); }
    static inline Operation rw_op(Op c, Handle fd, void* data, std::uint64_t len, std::uint64_t off, Deadline d = Deadline::never()) noexcept {
        Operation op; op.code = c; op.rw = {fd, data, len, off, d}; return op;
    }
    static inline Path make_path(Handle dir, std::string_view p) noexcept {
        // A path longer than 4 GiB cannot be represented; its length saturates and the backend reports
        // name_too_long, as it does for any path past the OS limit.
        return {dir, p.size() > 0xffff'ffffu ? 0xffff'ffffu : static_cast<std::uint32_t>(p.size()), p.data()};
    }
};

static_assert(sizeof(Operation) <= 64, "an Operation is embedded in every frame that waits: keep it small");
static_assert(std::is_trivially_copyable_v<Operation>);

// The packed record format dir_read writes (OS-independent): a header followed by `name_len` bytes of
// name, the next record starting at the next 8-byte boundary.
struct DirEntryRecord {
    std::uint16_t record_len;
    std::uint16_t name_len;
    FileKind kind;
    std::uint8_t reserved[3];
    std::uint64_t inode;
};

}  // namespace zsync
