// Names and messages for zsync::Error.
module;
#include <array>
#include <cstring>
#include <string>
#include <string_view>
module zsync;

namespace zsync {

namespace {
// strerror_r comes in two shapes: XSI (int, text in buf) and GNU (char*, text in buf or static). One
// overload for each, so this compiles against either C library without feature-test macros.
[[maybe_unused]] const char* strerror_text(int rc, const char* buf) noexcept { return rc == 0 ? buf : "unknown error"; }
[[maybe_unused]] const char* strerror_text(const char* text, const char*) noexcept { return text; }

constexpr std::array<std::string_view, static_cast<std::size_t>(Op::none) + 1> op_names{
    "nop", "read", "write", "pread", "pwrite", "readv", "writev", "preadv", "pwritev",
    "open", "close", "stat", "fsync", "sendfile", "copy_file_range",
    "mkdir", "remove", "rename", "dir_read",
    "accept",
    "socket", "bind", "listen", "connect", "send", "recv", "sendto", "recvfrom", "shutdown", "socketpair",
    "setsockopt", "getsockname", "getpeername", "lookup", "poll",
    "sleep", "futex_wait", "yield", "wait_task", "wait_group",
    "async", "concurrent", "await", "cancel", "group_async", "group_concurrent", "group_await",
    "group_cancel", "check_cancel", "futex_wake", "batch", "run", "parse_address",
    "lock", "unlock", "wait", "queue_put", "queue_get", "select_wait", "select_async", "none",
};
static_assert(static_cast<std::size_t>(Op::async) == 40, "op_names must follow Op");

constexpr std::array<std::string_view, static_cast<std::size_t>(Errc::frame_mismatch) + 1> errc_names{
    "ok", "system", "canceled", "concurrency unavailable", "end of stream", "timeout", "closed",
    "not in frame", "invalid argument", "io gone (backend destroyed)", "already awaited", "wrong io",
    "name too long", "task threw an exception", "shut down", "name not found", "name lookup failed",
    "not locked", "would deadlock", "would block", "path resolves outside the directory",
    "frame does not match the task's arguments",
};
}  // namespace

std::string_view op_name(Op op) noexcept {
    auto i = static_cast<std::size_t>(op);
    return i < op_names.size() ? op_names[i] : std::string_view("unknown");
}

std::string_view errc_name(Errc code) noexcept {
    auto i = static_cast<std::size_t>(code);
    return i < errc_names.size() ? errc_names[i] : std::string_view("unknown");
}

std::string Error::message() const {
    std::string out(op_name(op_));
    out += ": ";
    if (code_ == Errc::system) {
        char buf[128];
        buf[0] = '\0';
        const char* text = strerror_text(strerror_r(os_, buf, sizeof buf), buf);
        out += text;
        out += " (os error ";
        out += std::to_string(os_);
        out += ')';
    } else {
        out += errc_name(code_);
    }
    return out;
}

}  // namespace zsync
