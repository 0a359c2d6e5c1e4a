// File and Dir: library code over Io::operate (no OS calls here).
module;
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>
module zsync;

namespace zsync {

namespace {
Result<void> done(Io io, Operation&& op) noexcept {
    io.vtable->operate(io.ctx, op);
    if (!op.result) return op.result.error();
    return {};
}
Result<Handle> opened(Io io, Operation&& op) noexcept {
    io.vtable->operate(io.ctx, op);
    if (!op.result) return op.result.error();
    return static_cast<Handle>(*op.result);
}
std::span<const std::byte> bytes_of(std::string_view s) noexcept { return std::as_bytes(std::span(s.data(), s.size())); }
}  // namespace

Result<File> File::open(Io io, std::string_view path, OpenOptions options) noexcept { return Dir::cwd().open_file(io, path, options); }
Result<File> File::create(Io io, std::string_view path, std::uint32_t mode) noexcept { return Dir::cwd().create_file(io, path, mode); }

Result<void> File::write_all(Io io, std::span<const std::byte> data, Deadline dl) const noexcept { return zsync::write_all(io, *this, data, dl); }
Result<void> File::write_all(Io io, std::string_view text, Deadline dl) const noexcept { return write_all(io, bytes_of(text), dl); }

Result<void> File::read_exact(Io io, std::span<std::byte> buffer, Deadline dl) const noexcept { return zsync::read_exact(io, *this, buffer, dl); }

Result<std::string> File::read_to_string(Io io, std::size_t limit) const { return zsync::read_to_string(io, *this, limit); }

Result<FileStat> File::stat(Io io) const noexcept { return zsync::stat(io, *this); }

Result<void> File::sync(Io io, bool data_only) const noexcept { return done(io, Operation::fsync(handle, data_only)); }

Result<void> File::close(Io io) noexcept {
    if (handle == invalid_handle) return Error(Errc::closed, Op::close);
    Handle h = handle;
    handle = invalid_handle;  // the OS releases the descriptor even when close reports an error
    return done(io, Operation::close(h));
}

Result<std::size_t> File::copy_range(Io io, File in, std::int64_t in_off, File out, std::int64_t out_off, std::size_t len) noexcept {
    return sized(io, Operation::copy_file_range(in.handle, in_off, out.handle, out_off, len));
}
Result<std::size_t> File::send_file(Io io, File out, File in, std::int64_t in_off, std::size_t len) noexcept {
    return sized(io, Operation::sendfile(out.handle, in.handle, in_off, len));
}

Result<Dir> Dir::open_dir(Io io, std::string_view path) const noexcept {
    OpenOptions o;
    o.directory = true;
    auto h = opened(io, Operation::open_at(handle, path, o));
    if (!h) return h.error();
    return Dir{*h};
}
Result<File> Dir::open_file(Io io, std::string_view path, OpenOptions options) const noexcept {
    auto h = opened(io, Operation::open_at(handle, path, options));
    if (!h) return h.error();
    return File{*h};
}
Result<File> Dir::create_file(Io io, std::string_view path, std::uint32_t mode) const noexcept {
    OpenOptions o;
    o.access = OpenOptions::write_only;
    o.create = true;
    o.truncate = true;
    o.mode = mode;
    return open_file(io, path, o);
}
Result<void> Dir::create_dir(Io io, std::string_view path, std::uint32_t mode) const noexcept { return done(io, Operation::mkdir_at(handle, path, mode)); }
Result<void> Dir::delete_file(Io io, std::string_view path) const noexcept { return done(io, Operation::remove_at(handle, path, false)); }
Result<void> Dir::delete_dir(Io io, std::string_view path) const noexcept { return done(io, Operation::remove_at(handle, path, true)); }
Result<void> Dir::rename(Io io, std::string_view from, Dir to_dir, std::string_view to) const noexcept {
    return done(io, Operation::rename_at(handle, from, to_dir.handle, to));
}
Result<FileStat> Dir::stat_file(Io io, std::string_view path) const noexcept { return zsync::stat_file(io, *this, path); }
Result<void> Dir::close(Io io) noexcept {
    if (handle == cwd_handle) return {};
    if (handle == invalid_handle) return Error(Errc::closed, Op::close);
    Handle h = handle;
    handle = invalid_handle;
    return done(io, Operation::close(h));
}

Result<std::vector<DirEntry>> Dir::list(Io io) const { return zsync::list_dir(io, *this); }

Result<DirIterator::Entry> DirIterator::next(Io io) noexcept {
    for (;;) {
        if (pos_ >= end_) {
            if (done_) return Entry{{}, FileKind::unknown, 0};
            // The first read rewinds: the handle's position may be past entries an earlier walk read.
            Operation op = Operation::dir_read_into(dir_.handle, buffer_, !started_);
            io.vtable->operate(io.ctx, op);
            if (!op.result) return op.result.error();
            started_ = true;
            pos_ = 0;
            end_ = static_cast<std::size_t>(*op.result);
            if (end_ == 0) { done_ = true; return Entry{{}, FileKind::unknown, 0}; }
        }
        DirEntryRecord rec;
        std::memcpy(&rec, buffer_ + pos_, sizeof rec);
        std::string_view name(reinterpret_cast<const char*>(buffer_ + pos_ + sizeof rec), rec.name_len);
        pos_ += rec.record_len;
        if (name == "." || name == "..") continue;
        return Entry{name, rec.kind, rec.inode};
    }
}

}  // namespace zsync
