// zsync:fs — files and directories, as library code over Io::operate.
//
// File and Dir are plain handle values, as in Zig's std.Io: copying one does not duplicate the OS
// handle, and nothing closes it implicitly (a destructor cannot wait on every backend). Close with
// close(io), which is not a cancel point and always releases the handle. Every other call is a cancel
// point and may suspend the calling task. Errors name the operation that failed.
module;
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>
export module zsync:fs;
import :error;
import :result;
import :operation;
import :io;

export namespace zsync {

class File {
public:
    Handle handle = invalid_handle;

    static constexpr File standard_input() noexcept { return File{0}; }
    static constexpr File standard_output() noexcept { return File{1}; }
    static constexpr File standard_error() noexcept { return File{2}; }

    // Opens `path` relative to the current directory.
    static Result<File> open(Io io, std::string_view path, OpenOptions options = {}) noexcept;
    // Creates (or truncates) `path` for writing.
    static Result<File> create(Io io, std::string_view path, std::uint32_t mode = 0644) noexcept;

    inline bool is_open() const noexcept { return handle != invalid_handle; }

    // Reads up to buffer.size() bytes; 0 at the end of the file (and for an empty buffer). With a
    // deadline, Errc::timeout when nothing can be read before it passes: a pipe, FIFO, tty or device
    // waits for its peer; a regular file is always ready (best effort: the read itself is not bounded).
    inline Result<std::size_t> read(Io io, std::span<std::byte> b, Deadline dl = ::zsync::Deadline::never()) const noexcept { return sized(io, Operation::read(handle, b, dl)); }
    // Writes up to data.size() bytes; returns how many were written. Deadline as for read.
    inline Result<std::size_t> write(Io io, std::span<const std::byte> d, Deadline dl = ::zsync::Deadline::never()) const noexcept { return sized(io, Operation::write(handle, d, dl)); }
    inline Result<std::size_t> pread(Io io, std::span<std::byte> b, std::uint64_t off) const noexcept { return sized(io, Operation::pread(handle, b, off)); }
    inline Result<std::size_t> pwrite(Io io, std::span<const std::byte> d, std::uint64_t off) const noexcept { return sized(io, Operation::pwrite(handle, d, off)); }
    inline Result<std::size_t> readv(Io io, std::span<const IoVec> v, Deadline dl = ::zsync::Deadline::never()) const noexcept { return sized(io, Operation::readv(handle, v, dl)); }
    inline Result<std::size_t> writev(Io io, std::span<const IoVec> v, Deadline dl = ::zsync::Deadline::never()) const noexcept { return sized(io, Operation::writev(handle, v, dl)); }
    inline Result<std::size_t> preadv(Io io, std::span<const IoVec> v, std::uint64_t off) const noexcept { return sized(io, Operation::preadv(handle, v, off)); }
    inline Result<std::size_t> pwritev(Io io, std::span<const IoVec> v, std::uint64_t off) const noexcept { return sized(io, Operation::pwritev(handle, v, off)); }

    // Writes all of `data`, retrying short writes, each before the one deadline.
    Result<void> write_all(Io io, std::span<const std::byte> data, Deadline dl = ::zsync::Deadline::never()) const noexcept;
    Result<void> write_all(Io io, std::string_view text, Deadline dl = ::zsync::Deadline::never()) const noexcept;
    // Fills `buffer` completely, or fails with end_of_stream (nothing is lost: the bytes read so far
    // are in the buffer, and the error's op is read).
    Result<void> read_exact(Io io, std::span<std::byte> buffer, Deadline dl = ::zsync::Deadline::never()) const noexcept;
    // Reads until the end of the file into a string (at most `limit` bytes, else invalid_argument).
    Result<std::string> read_to_string(Io io, std::size_t limit = std::size_t(1) << 30) const;

    Result<FileStat> stat(Io io) const noexcept;
    // Flushes data (and metadata unless data_only) to the device.
    Result<void> sync(Io io, bool data_only = false) const noexcept;
    // Closes the handle and sets it invalid. Not a cancel point; a closed File reports Errc::closed.
    Result<void> close(Io io) noexcept;

    // Copies `len` bytes from `in` to `out` in the kernel (copy_file_range). Offsets < 0 use and
    // advance the files' positions. Returns the bytes copied (0 at the end of `in`).
    static Result<std::size_t> copy_range(Io io, File in, std::int64_t in_offset, File out, std::int64_t out_offset,
                                          std::size_t len) noexcept;
    // Sends `len` bytes of `in` (from in_offset, or its position when < 0) to `out` (sendfile).
    static Result<std::size_t> send_file(Io io, File out, File in, std::int64_t in_offset, std::size_t len) noexcept;

    friend constexpr bool operator==(File, File) noexcept = default;

private:
    // The reads and writes are defined here, in the interface, so they inline into the caller: the hot
    // path of every program (docs/benchmarks.md). A function defined in a class in a named module is
    // not implicitly inline, hence the explicit `inline` throughout this module's interfaces.
    static inline Result<std::size_t> sized(Io io, Operation op) noexcept {
        io.vtable->operate(io.ctx, op);
        if (!op.result) return op.result.error();
        return static_cast<std::size_t>(*op.result);
    }
};

// Writes all of `data` to `f`, retrying short writes. Cancel point. Annotated for zsync-gen: a frame
// that calls it embeds its frame (it is generated in the caller's translation unit, like an inline
// function), so it waits without a stack. File::write_all is this function.
[[clang::annotate("zsync::stackless")]]
inline Result<void> write_all(Io io, File f, std::span<const std::byte> data, Deadline dl = ::zsync::Deadline::never()) noexcept {
    while (!data.empty()) {
        auto n = f.write(io, data, dl);
        if (!n) return n.error();
        if (*n == 0) return Error::system(5 /* EIO: the OS accepted nothing */, Op::write);
        data = data.subspan(*n);
    }
    return {};
}

// Fills `buffer` from `f` completely, or fails with end_of_stream (the bytes read so far are in the
// buffer). Cancel point. Annotated for zsync-gen, like write_all; File::read_exact is this function.
[[clang::annotate("zsync::stackless")]]
inline Result<void> read_exact(Io io, File f, std::span<std::byte> buffer, Deadline dl = ::zsync::Deadline::never()) noexcept {
    while (!buffer.empty()) {
        auto n = f.read(io, buffer, dl);
        if (!n) return n.error();
        if (*n == 0) return Error(Errc::end_of_stream, Op::read);
        buffer = buffer.subspan(*n);
    }
    return {};
}

struct DirEntry {
    std::string name;
    FileKind kind = FileKind::unknown;
    std::uint64_t inode = 0;
};

// Reads `f` to its end into a string (at most `limit` bytes, else invalid_argument, op read), 4 KiB at
// a time. Cancel point. Annotated for zsync-gen like write_all: File::read_to_string is this function.
[[clang::annotate("zsync::stackless")]]
inline Result<std::string> read_to_string(Io io, File f, std::size_t limit = std::size_t(1) << 30) {
    std::string out;
    std::byte chunk[4096];
    for (;;) {
        auto n = f.read(io, chunk);
        if (!n) return n.error();
        if (*n == 0) return out;
        if (out.size() + *n > limit) return Error(Errc::invalid_argument, Op::read);
        out.append(reinterpret_cast<const char*>(chunk), *n);
    }
}

// The metadata of the open file `f` (fstat). Cancel point. Annotated for zsync-gen: File::stat is this
// function.
[[clang::annotate("zsync::stackless")]]
inline Result<FileStat> stat(Io io, File f) noexcept {
    FileStat st;
    Operation op = Operation::stat_at(f.handle, {}, st);
    auto r = io.operate(op);
    if (!r) return r.error();
    return st;
}

class Dir {
public:
    Handle handle = invalid_handle;

    // The current working directory; close() on it is a no-op.
    static constexpr Dir cwd() noexcept { return Dir{cwd_handle}; }
    static inline Result<Dir> open(Io io, std::string_view path) noexcept { return cwd().open_dir(io, path); }

    Result<Dir> open_dir(Io io, std::string_view path) const noexcept;
    Result<File> open_file(Io io, std::string_view path, OpenOptions options = {}) const noexcept;
    Result<File> create_file(Io io, std::string_view path, std::uint32_t mode = 0644) const noexcept;
    Result<void> create_dir(Io io, std::string_view path, std::uint32_t mode = 0755) const noexcept;
    Result<void> delete_file(Io io, std::string_view path) const noexcept;
    // Deletes an empty directory.
    Result<void> delete_dir(Io io, std::string_view path) const noexcept;
    Result<void> rename(Io io, std::string_view from, Dir to_dir, std::string_view to) const noexcept;
    Result<FileStat> stat_file(Io io, std::string_view path) const noexcept;
    // Every entry except "." and "..", in the order the OS returns them.
    Result<std::vector<DirEntry>> list(Io io) const;
    Result<void> close(Io io) noexcept;

    friend constexpr bool operator==(Dir, Dir) noexcept = default;
};

// The metadata of `path` relative to `dir` (following symbolic links). An empty path is ENOENT, as
// the OS reports it. Cancel point. Annotated for zsync-gen: Dir::stat_file is this function.
[[clang::annotate("zsync::stackless")]]
inline Result<FileStat> stat_file(Io io, Dir dir, std::string_view path) noexcept {
    if (path.empty()) return Error::system(2 /* ENOENT */, Op::stat);
    FileStat st;
    Operation op = Operation::stat_at(dir.handle, path, st);
    auto r = io.operate(op);
    if (!r) return r.error();
    return st;
}

// Every entry of `dir` except "." and "..", in the order the OS returns them, from the first entry.
// Cancel point. Annotated for zsync-gen: Dir::list is this function.
[[clang::annotate("zsync::stackless")]]
inline Result<std::vector<DirEntry>> list_dir(Io io, Dir dir) {
    std::vector<DirEntry> out;
    std::byte buffer[4096];
    bool first = true;
    for (;;) {
        // The first read rewinds: the handle's position may be past entries an earlier walk read.
        Operation op = Operation::dir_read_into(dir.handle, buffer, first);
        auto n = io.operate(op);
        if (!n) return n.error();
        first = false;
        if (*n == 0) return out;
        for (std::size_t pos = 0; pos < *n;) {
            DirEntryRecord rec;
            __builtin_memcpy(&rec, buffer + pos, sizeof rec);
            std::string_view name(reinterpret_cast<const char*>(buffer + pos + sizeof rec), rec.name_len);
            pos += rec.record_len;
            if (name != "." && name != "..") out.push_back(DirEntry{std::string(name), rec.kind, rec.inode});
        }
    }
}

// Reads a directory's entries a buffer at a time (no allocation per entry), from the first entry even
// when the handle was walked before (one iterator per handle at a time). Not thread-safe.
class DirIterator {
public:
    explicit DirIterator(Dir dir) noexcept : dir_(dir) {}
    // The next entry, or an empty name at the end. The view is valid until the next call.
    struct Entry { std::string_view name; FileKind kind; std::uint64_t inode; };
    Result<Entry> next(Io io) noexcept;

private:
    Dir dir_;
    std::size_t pos_ = 0, end_ = 0;
    bool done_ = false;
    bool started_ = false;
    alignas(8) std::byte buffer_[4096];
};

}  // namespace zsync

// What zsync-gen's frames call for the File and Dir leaves (codegen/src/leaves.def): the same
// Operations and the same results as the stackful functions above and in fs.cpp.
export namespace zsync::gen {

inline Result<File> leaf_file(const Operation& op) noexcept {
    if (!op.result) return op.result.error();
    return File{static_cast<Handle>(*op.result)};
}
inline Result<Dir> leaf_dir(const Operation& op) noexcept {
    if (!op.result) return op.result.error();
    return Dir{static_cast<Handle>(*op.result)};
}
inline void leaf_nothing(const Operation&) noexcept {}
// Dir::create_file / File::create: write-only, created, truncated.
inline Operation create_operation(Handle dir, std::string_view path, std::uint32_t mode) noexcept {
    OpenOptions o;
    o.access = OpenOptions::write_only;
    o.create = true;
    o.truncate = true;
    o.mode = mode;
    return Operation::open_at(dir, path, o);
}
inline Operation open_dir_operation(Handle dir, std::string_view path) noexcept {
    OpenOptions o;
    o.directory = true;
    return Operation::open_at(dir, path, o);
}
// File::close / Dir::close: nothing to wait for (nop, its result set) when already closed (closed)
// or, for a Dir, the current directory (success); else the handle is marked closed first, as the
// stackful close does, and the close Operation returned.
inline Operation close_operation(Handle& handle, bool is_dir) noexcept {
    Operation op = Operation::nop();
    if (is_dir && handle == cwd_handle) {
        op.result = 0;
        return op;
    }
    if (handle == invalid_handle) {
        op.result = Error(Errc::closed, Op::close);
        return op;
    }
    op = Operation::close(handle);
    handle = invalid_handle;
    return op;
}

}  // namespace zsync::gen
