// The part of the reactor both implementations share: submission slots, the timer heap, the queue of
// work posted from other threads, and the internal interface an implementation (uring/, epoll/)
// fills in. Include in the purview of a `module zsync;` unit, after perform.hpp; the global module
// fragment needs <atomic> <cstdint> <memory> <mutex> <vector> <sys/socket.h> <sys/stat.h> <sys/uio.h>
// and ../detail/cancel_state.hpp.
//
// Threads: everything here belongs to the driver's thread except what is marked "any thread"
// (post_done, post_cancel, wake), which goes through `remote_mu` and `wake_pending`.
//
// Wake protocol (driver D, poster P):
//   P: push under remote_mu; then if wake_pending.exchange(1) was 0, Backend::notify() (an eventfd write).
//   D: when the eventfd read completes, woken(): wake_pending = 0; then drain_remote() under remote_mu
//      (always locking after a wake; the remote_any_ hint only lets turns without one skip the lock).
// A post whose exchange saw 1 happened before D's store of 0 in the word's order, and D drains under the
// same mutex after that store, so it sees the post (see the argument in docs/reactor.md).
#pragma once
// (Member functions defined in a class in a module's purview are not implicitly inline: they say so.)

namespace zsync::rt::reactor {

using zsync::reactor::Completion;
using zsync::reactor::Kind;
using zsync::reactor::Ticket;

inline constexpr std::uint32_t npos = 0xffff'ffffu;

// Where a live submission is.
enum class Where : std::uint8_t { free, ready, kernel, fd_wait, offload, timer_only, futex };
// Why it is being stopped early (the Errc its completion reports when the OS confirms).
enum class Reason : std::uint8_t { none, canceled, timeout };

class Core;

struct Slot {
    Operation* op = nullptr;
    Completion done{};
    std::uint32_t gen = 0;
    std::uint32_t next = npos, prev = npos;  // free list, or an fd's waiter list (epoll)
    std::uint32_t heap_pos = npos;           // index in the timer heap
    std::int64_t deadline_ns = 0;
    Where where = Where::free;
    Reason reason = Reason::none;
    std::uint8_t phase = 0;  // implementation state (epoll: connect in progress; uring: cancel sent)
    // Kernel-visible scratch: must not move while the OS holds it (slots live in fixed chunks).
    union Scratch {
        struct Net {
            sockaddr_storage addr;
            socklen_t len;
            msghdr msg;
            iovec iov;
        } net;
        struct statx stx;
        // The kernel's struct open_how (linux/openat2.h: three u64s, a stable ABI), for OPENAT2.
        struct OpenHow {
            std::uint64_t flags, mode, resolve;
        } how;
        // futex_table.cpp: a waiter linked in the process-wide table (fields under its bucket's lock).
        struct Futex {
            const void* addr;
            Core* core;
            std::uint32_t idx, gen;
            Slot* prev;
            Slot* next;
            bool linked;
        } fx;
        inline Scratch() noexcept {}
    } s;
    std::unique_ptr<char[]> path;  // NUL-terminated path copies (uring), kept for reuse
};

// The deadline an Operation carries (never for those without one).
inline Deadline deadline_of(const Operation& op) noexcept {
    switch (op.code) {
    case Op::sleep: return op.sleep;
    // A pipe, FIFO, tty or socket waits for its peer; a regular file completes first (best effort).
    case Op::read: case Op::write: case Op::readv: case Op::writev: return op.rw.deadline;
    case Op::futex_wait: return op.futex.deadline;
    case Op::accept: return op.accept_args.deadline;
    case Op::connect: return op.connect_args.deadline;
    case Op::send: case Op::recv: return op.msg.deadline;
    case Op::sendto: case Op::recvfrom: return op.msg_to.deadline;
    case Op::poll: return op.poll_args.deadline;
    default: return Deadline::never();
    }
}

class Core;
class OffloadPool;

// What an implementation provides: a table of functions over its own object. (Not a virtual class:
// clang 19 emits the vtable of a module-attached class in every unit that defines it, and the units
// then clash at link time.) All calls on the driver's thread except notify().
struct BackendOps {
    // Begin a submission. Completes through Core::finish/defer.
    void (*start)(void* self, std::uint32_t idx, Slot& s) noexcept;
    // Stop a started submission early (s.reason is set). Its completion still comes through finish/defer.
    void (*cancel)(void* self, std::uint32_t idx, Slot& s) noexcept;
    // Submit what is queued, wait up to timeout_ns (-1: no limit, 0: not at all), reap completions.
    void (*turn)(void* self, std::int64_t timeout_ns) noexcept;
    // Any thread: make a turn that waits (or the next one) return.
    void (*notify)(void* self) noexcept;
    void (*destroy)(void* self) noexcept;
    Kind kind;
};

class Backend {
public:
    inline Backend(void* self, const BackendOps* ops) noexcept : self_(self), ops_(ops) {}
    inline ~Backend() { ops_->destroy(self_); }
    Backend(const Backend&) = delete;
    Backend& operator=(const Backend&) = delete;
    inline void start(std::uint32_t idx, Slot& s) noexcept { ops_->start(self_, idx, s); }
    inline void cancel(std::uint32_t idx, Slot& s) noexcept { ops_->cancel(self_, idx, s); }
    inline void turn(std::int64_t timeout_ns) noexcept { ops_->turn(self_, timeout_ns); }
    inline void notify() noexcept { ops_->notify(self_); }
    inline Kind kind() const noexcept { return ops_->kind; }

private:
    void* self_;
    const BackendOps* ops_;
};

// The table of an implementation class T (start/cancel/turn/notify members, deleted by destroy).
template <class T>
inline constexpr BackendOps backend_ops_of(Kind k) noexcept {
    return {
        [](void* p, std::uint32_t i, Slot& s) noexcept { static_cast<T*>(p)->start(i, s); },
        [](void* p, std::uint32_t i, Slot& s) noexcept { static_cast<T*>(p)->cancel(i, s); },
        [](void* p, std::int64_t t) noexcept { static_cast<T*>(p)->turn(t); },
        [](void* p) noexcept { static_cast<T*>(p)->notify(); },
        [](void* p) noexcept { delete static_cast<T*>(p); },
        k,
    };
}

class Core {
public:
    explicit Core(unsigned offload_threads) noexcept;
    ~Core();

    std::unique_ptr<Backend> backend;
    std::string_view fallback_reason;
    ThreadCancelState inline_cs;  // the driver thread's own (never requested): for inline perform()

    inline Slot& slot(std::uint32_t idx) noexcept { return chunks_[idx >> chunk_bits][idx & (chunk_size - 1)]; }
    inline std::size_t live() const noexcept { return live_; }

    Ticket submit(Operation& op, Completion done) noexcept;
    void cancel(Ticket t) noexcept;
    std::size_t turn(Deadline until, bool may_wait) noexcept;
    // Tears down: cancels everything and turns until nothing is in flight.
    void drain() noexcept;

    // The completion of a live slot, now (runs the callback) or at the end of this turn.
    void finish(std::uint32_t idx, Result<std::uint64_t> r) noexcept;
    void defer(std::uint32_t idx, Result<std::uint64_t> r) noexcept;
    // A slot's result as its completion reports it: an OS "canceled"/"interrupted" after an early stop
    // becomes the stop's reason (Errc::canceled or Errc::timeout).
    static Result<std::uint64_t> mapped(const Slot& s, Result<std::uint64_t> r) noexcept;

    OffloadPool& offload() noexcept;

    // Any thread.
    void post_done(std::uint32_t idx, std::uint32_t gen, Result<std::uint64_t> r) noexcept;
    void post_cancel(Ticket t) noexcept;
    inline void wake() noexcept {
        // acq_rel: pairs with woken()'s store; see the wake protocol at the top of this file.
        if (wake_pending.exchange(1, std::memory_order_acq_rel) == 0) backend->notify();
    }
    // Driver: the notification was consumed. The next drain_remote takes the lock whatever the hint says:
    // the argument that no post is lost (docs/reactor.md) needs that lock after this store.
    inline void woken() noexcept {
        wake_pending.store(0, std::memory_order_seq_cst);  // seq_cst: before drain_remote's lock
        must_drain_ = true;
    }

private:
    static constexpr unsigned chunk_bits = 8, chunk_size = 1u << chunk_bits;
    std::uint32_t alloc_slot() noexcept;
    void free_slot(std::uint32_t idx) noexcept;
    void heap_push(std::uint32_t idx) noexcept;
    void heap_remove(std::uint32_t idx) noexcept;
    void heap_up(std::uint32_t pos) noexcept;
    void heap_down(std::uint32_t pos) noexcept;
    void expire_timers() noexcept;
    void drain_remote() noexcept;
    void run_ready() noexcept;

    std::vector<std::unique_ptr<Slot[]>> chunks_;
    std::uint32_t free_head_ = npos;
    std::size_t live_ = 0;
    std::size_t completions_ = 0;
    std::vector<std::uint32_t> heap_;  // slot indices, a min-heap on deadline_ns
    struct Ready { std::uint32_t idx; Result<std::uint64_t> r; };
    std::vector<Ready> ready_, running_;
    struct Done { std::uint32_t idx, gen; Result<std::uint64_t> r; };
    std::mutex remote_mu_;
    std::vector<Done> remote_done_, remote_done_swap_;
    std::vector<Ticket> remote_cancel_, remote_cancel_swap_;
    std::atomic<std::uint32_t> remote_any_{0};
    bool must_drain_ = false;  // driver's thread: a wake was consumed since the last drain
    bool skipped_last_ = false;  // driver's thread: the previous turn skipped its zero-timeout poll (turn)
    std::atomic<std::uint32_t> wake_pending{0};
    unsigned offload_threads_;
    std::unique_ptr<OffloadPool> offload_;
};

// The futex-waiter table (futex_table.cpp), for futex_wait where the kernel's io_uring has no
// FUTEX_WAIT (and always on epoll): waiters of every driver in the process, woken by futex_wake_os.
void futex_table_wait(Core& core, std::uint32_t idx, Slot& s) noexcept;
void futex_table_cancel(Core& core, std::uint32_t idx, Slot& s) noexcept;

// Implementations (their own files); each returns null with a reason when it cannot start.
std::unique_ptr<Backend> make_uring(Core& core, unsigned entries, std::string_view& why) noexcept;
std::unique_ptr<Backend> make_epoll(Core& core, std::string_view& why) noexcept;

}  // namespace zsync::rt::reactor
