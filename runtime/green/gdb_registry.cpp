// The debuggers' root of GreenThreadsIo's fibers (gdb_registry.hpp). A plain C++ file, not a module
// unit, so that the root's C-linkage definition is an ordinary global.
#include "gdb_registry.hpp"

#include <cstring>
#include <mutex>

extern "C" {
// constinit: the script may read it before any constructor ran; used: kept even where nothing reads it
// (a Release build that never makes a GreenThreadsIo still has the symbol); default visibility: gdb
// finds it in a shared library too.
[[gnu::used, gnu::visibility("default")]] constinit zsync_gdb_root zsync_gdb_fibers{
    .magic = {'z', 's', 'y', 'n', 'c', 'g', 'd', 'b'},
    .version = 2,
    .op_count = 0,
    .ios = nullptr,
    .ios_made = 0,
    .op_code_offset = 0,
    .op_fd_offset = 0,
    .op_args = {},
    .op_names = {},
};
}

namespace zsync::rt::green::gdb {

namespace {
// Guards the root's list and its Operation table. Taken only when a GreenThreadsIo is made or destroyed.
std::mutex& root_mutex() noexcept {
    static std::mutex m;
    return m;
}
}  // namespace

void add_io(zsync_gdb_io& io, const OpInfo* ops, std::size_t count, std::uint16_t code_offset,
            std::uint16_t fd_offset) noexcept {
    std::lock_guard lock(root_mutex());
    zsync_gdb_root& r = zsync_gdb_fibers;
    if (r.op_count == 0) {
        std::size_t n = count < zsync_gdb_max_ops ? count : zsync_gdb_max_ops;
        for (std::size_t i = 0; i < n; ++i) {
            std::size_t len = ops[i].len < zsync_gdb_op_name_len - 1 ? ops[i].len : zsync_gdb_op_name_len - 1;
            std::memcpy(r.op_names[i], ops[i].name, len);
            r.op_names[i][len] = '\0';
            r.op_args[i] = ops[i].arg;
        }
        r.op_code_offset = code_offset;
        r.op_fd_offset = fd_offset;
        r.op_count = static_cast<std::uint32_t>(n);
    }
    io.id = ++r.ios_made;
    io.prev = nullptr;
    io.next = r.ios;
    if (r.ios) r.ios->prev = &io;
    r.ios = &io;
}

void remove_io(zsync_gdb_io& io) noexcept {
    std::lock_guard lock(root_mutex());
    zsync_gdb_root& r = zsync_gdb_fibers;
    if (io.prev) io.prev->next = io.next;
    else if (r.ios == &io) r.ios = io.next;
    if (io.next) io.next->prev = io.prev;
    io.next = io.prev = nullptr;
}

}  // namespace zsync::rt::green::gdb
