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

// A wait, described completely. Build one with the static factories; read `result` when it completed.
struct Operation {
    // Arguments, by code. Offsets of -1 in `transfer` mean "use and advance the file position".
    struct Rw { Handle fd; void* data; std::uint64_t len; std::uint64_t offset; };        // data = IoVec* for *v
    struct Path { Handle dir; std::uint32_t len; const char* ptr; };                        // not NUL-terminated
    struct Open { Path path; OpenOptions options; };
    struct Stat { Path path; FileStat* out; };                                              // path.len == 0: stat dir itself (fstat)
    struct Transfer { Handle in; Handle out; std::uint64_t len; std::int64_t in_offset; std::int64_t out_offset; };
    struct Mkdir { Path path; std::uint32_t mode; };
    struct Remove { Path path; bool directory; };
    struct Rename { Path from; Path to; };
    struct DirRead { Handle dir; void* buffer; std::uint64_t len; bool rewind; };          // rewind: from the first entry
    struct Futex { const std::atomic<std::uint32_t>* word; std::uint32_t expected; Deadline deadline; };

    Op code = Op::nop;
    bool datasync = false;  // fsync: only the data (fdatasync)
    union {
        Rw rw;
        Open open;
        Handle fd;  // close, fsync, accept
        Stat stat;
        Transfer transfer;
        Mkdir mkdir;
        Remove remove;
        Rename rename;
        DirRead dir_read;
        Deadline sleep;
        Futex futex;
    };
    // Filled by the backend: bytes transferred, the new handle (open), or 0; or the Error.
    Result<std::uint64_t> result{Error(Errc::invalid_argument, Op::nop)};

    constexpr Operation() noexcept : fd(invalid_handle) {}

    static inline Operation nop() noexcept { return {}; }
    static inline Operation read(Handle fd, std::span<std::byte> b) noexcept { return rw_op(Op::read, fd, b.data(), b.size(), 0); }
    static inline Operation write(Handle fd, std::span<const std::byte> b) noexcept { return rw_op(Op::write, fd, const_cast<std::byte*>(b.data()), b.size(), 0); }
    static inline Operation pread(Handle fd, std::span<std::byte> b, std::uint64_t off) noexcept { return rw_op(Op::pread, fd, b.data(), b.size(), off); }
    static inline Operation pwrite(Handle fd, std::span<const std::byte> b, std::uint64_t off) noexcept { return rw_op(Op::pwrite, fd, const_cast<std::byte*>(b.data()), b.size(), off); }
    static inline Operation readv(Handle fd, std::span<const IoVec> v) noexcept { return rw_op(Op::readv, fd, const_cast<IoVec*>(v.data()), v.size(), 0); }
    static inline Operation writev(Handle fd, std::span<const IoVec> v) noexcept { return rw_op(Op::writev, fd, const_cast<IoVec*>(v.data()), v.size(), 0); }
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
    // Accepts a connection on a listening socket; result = the new socket's handle (close-on-exec).
    // The peer's address and the rest of networking arrive with the networking Operations.
    static inline Operation accept(Handle listener) noexcept { Operation op; op.code = Op::accept; op.fd = listener; return op; }
    static inline Operation sleep_until(Deadline d) noexcept { Operation op; op.code = Op::sleep; op.sleep = d; return op; }
    // Waits while `word` holds `expected`, until woken, the deadline, or cancellation. May wake spuriously.
    static inline Operation futex_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected, Deadline d = Deadline::never()) noexcept {
        Operation op; op.code = Op::futex_wait; op.futex = {&word, expected, d}; return op;
    }
    static inline Operation yield() noexcept { Operation op; op.code = Op::yield; return op; }

private:
    static inline Operation rw_op(Op c, Handle fd, void* data, std::uint64_t len, std::uint64_t off) noexcept {
        Operation op; op.code = c; op.rw = {fd, data, len, off}; return op;
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
