// The live fibers of every GreenThreadsIo, where a debugger can find them: scripts/gdb/zsync.py reads
// them from the global `zsync_gdb_fibers` (commands zsync-fibers and zsync-fiber-bt, docs/fibers.md).
//
// Layout (version 2), read as raw memory so that it works without debug information (a Release build):
// every offset the script uses is checked below with static_assert; change one and bump the version.
//
//   zsync_gdb_fibers (root) --ios--> zsync_gdb_io --next--> zsync_gdb_io ...
//                                       |fiber_lists: `lists` heads, `list_stride` bytes apart
//                                       v
//                                   head --> zsync_gdb_fiber --next--> zsync_gdb_fiber ...
//
// Cost: the root's list changes under one process-wide mutex when a GreenThreadsIo is made or
// destroyed. An Io keeps one fiber list per worker (and one for spawns from other threads), each under
// its own spin lock (Sched's shards, already taken for shutdown's sweep and the live count): a fiber is
// linked into the list of the worker that spawned it and unlinked from the same list, so workers do not
// contend for one lock. The switch path takes no lock: it writes a
// fiber's `state`, `worker` and `waiting` with plain stores from the thread that runs or wakes it.
// Nothing here synchronises anything; a debugger reads it while the process is stopped (a fiber caught
// in the middle of an update may show its previous state).
//
// A plain header: included both in module units (global module fragment) and in gdb_registry.cpp.
#pragma once
#include <cstddef>
#include <cstdint>

extern "C" {

// What a fiber is doing, as the debugger shows it.
enum zsync_gdb_state : std::uint8_t {
    zsync_gdb_created = 0,    // spawned, never ran yet (runnable)
    zsync_gdb_runnable = 1,   // in a run queue: woken, or yielded
    zsync_gdb_running = 2,    // on its worker's thread now (its stack is that thread's)
    zsync_gdb_parked = 3,     // waiting for `waiting` (an Operation) to complete in its worker's reactor
    zsync_gdb_finishing = 4,  // its body returned; being taken off the list
};

// One fiber. Lives inside its task record (runtime/green/green_state.hpp, Task::dbg).
struct zsync_gdb_fiber {
    zsync_gdb_fiber* next;   // its list (under that list's lock)
    zsync_gdb_fiber* prev;
    void* task;              // the green::Task that holds this node
    void* const* context;    // where the fiber's saved context is stored (valid while not running)
    const void* waiting;     // the Operation it is parked on (a batch: the first of `waiting_count`)
    std::uint64_t id;        // Fiber::id(): unique in the process, what zsync-fiber-bt takes
    std::uint32_t worker;    // index of the worker it last ran on; UINT32_MAX before its first run
    std::uint32_t waiting_count;
    std::uint8_t state;      // zsync_gdb_state
};

// One GreenThreadsIo (its Sched).
struct zsync_gdb_io {
    zsync_gdb_io* next;      // the root's list (under the process-wide mutex)
    zsync_gdb_io* prev;
    const void* fiber_lists; // the first list's head (a zsync_gdb_fiber*); the others follow
    const std::int32_t* worker_tids;  // worker i's thread id (Linux LWP), 0 until it started
    std::uint64_t id;        // 1, 2, ... in the order the Ios were made
    std::uint32_t workers;
    std::uint32_t lists;       // how many fiber lists
    std::uint32_t list_stride; // bytes from one list's head to the next one's
};

// Static facts about Operation (modules/operation.cppm) that the script needs without debug info.
enum zsync_gdb_arg : std::uint8_t {
    zsync_gdb_arg_none = 0,
    zsync_gdb_arg_fd = 1,    // an int32 handle at op_fd_offset
    zsync_gdb_arg_word = 2,  // a pointer (futex word) at op_fd_offset
};
enum : std::size_t { zsync_gdb_max_ops = 64, zsync_gdb_op_name_len = 24 };

struct zsync_gdb_root {
    char magic[8];           // "zsyncgdb"
    std::uint32_t version;   // 2: the layout of this file
    std::uint32_t op_count;  // entries of op_names / op_args; 0 until the first Io was made
    zsync_gdb_io* ios;       // head of the live Ios
    std::uint64_t ios_made;  // the last id given
    std::uint16_t op_code_offset;  // Operation::code (one byte: Op)
    std::uint16_t op_fd_offset;    // the first word of the Operation's argument union
    std::uint8_t op_args[zsync_gdb_max_ops];                           // zsync_gdb_arg, by Op
    char op_names[zsync_gdb_max_ops][zsync_gdb_op_name_len];           // NUL-terminated, by Op
};

// The root. Defined in gdb_registry.cpp; its symbol is kept in every build type ([[gnu::used]]).
extern zsync_gdb_root zsync_gdb_fibers;

}  // extern "C"

static_assert(sizeof(void*) == 8, "scripts/gdb/zsync.py reads 64-bit pointers");
static_assert(offsetof(zsync_gdb_fiber, next) == 0x00 && offsetof(zsync_gdb_fiber, context) == 0x18 &&
              offsetof(zsync_gdb_fiber, waiting) == 0x20 && offsetof(zsync_gdb_fiber, id) == 0x28 &&
              offsetof(zsync_gdb_fiber, worker) == 0x30 && offsetof(zsync_gdb_fiber, waiting_count) == 0x34 &&
              offsetof(zsync_gdb_fiber, state) == 0x38, "zsync_gdb_fiber: scripts/gdb/zsync.py's offsets");
static_assert(offsetof(zsync_gdb_io, next) == 0x00 && offsetof(zsync_gdb_io, fiber_lists) == 0x10 &&
              offsetof(zsync_gdb_io, worker_tids) == 0x18 && offsetof(zsync_gdb_io, id) == 0x20 &&
              offsetof(zsync_gdb_io, workers) == 0x28 && offsetof(zsync_gdb_io, lists) == 0x2c &&
              offsetof(zsync_gdb_io, list_stride) == 0x30, "zsync_gdb_io: scripts/gdb/zsync.py's offsets");
static_assert(offsetof(zsync_gdb_root, version) == 0x08 && offsetof(zsync_gdb_root, op_count) == 0x0c &&
              offsetof(zsync_gdb_root, ios) == 0x10 && offsetof(zsync_gdb_root, ios_made) == 0x18 &&
              offsetof(zsync_gdb_root, op_code_offset) == 0x20 && offsetof(zsync_gdb_root, op_fd_offset) == 0x22 &&
              offsetof(zsync_gdb_root, op_args) == 0x24 && offsetof(zsync_gdb_root, op_names) == 0x64,
              "zsync_gdb_root: scripts/gdb/zsync.py's offsets");

namespace zsync::rt::green::gdb {

// What the script shows for one Operation code.
struct OpInfo {
    const char* name;
    std::size_t len;
    zsync_gdb_arg arg;
};

// Links `io` into the root (giving it its id) and, the first time, copies the Operation table
// (`count` codes; at most zsync_gdb_max_ops are kept; names are truncated to fit). Thread-safe.
void add_io(zsync_gdb_io& io, const OpInfo* ops, std::size_t count, std::uint16_t code_offset,
            std::uint16_t fd_offset) noexcept;
// Unlinks `io` (its fiber list must be empty or no longer used). Thread-safe.
void remove_io(zsync_gdb_io& io) noexcept;

// Links / unlinks a fiber at the head of one of an Io's lists. The caller holds that list's lock.
inline void link(zsync_gdb_fiber*& head, zsync_gdb_fiber& f) noexcept {
    f.prev = nullptr;
    f.next = head;
    if (head) head->prev = &f;
    head = &f;
}
inline void unlink(zsync_gdb_fiber*& head, zsync_gdb_fiber& f) noexcept {
    if (f.prev) f.prev->next = f.next;
    else head = f.next;
    if (f.next) f.next->prev = f.prev;
    f.next = f.prev = nullptr;
}

}  // namespace zsync::rt::green::gdb
