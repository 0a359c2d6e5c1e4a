// zsync:reactor — the event source the green-thread and stackless backends share.
//
// Not a backend: a per-thread *driver* that performs Operations without blocking its thread, and a
// *handle* other threads use to wake it or cancel what it runs (tokio's driver/handle split). The
// implementation is in runtime/reactor/ (io_uring, with an epoll fallback chosen at run time); nothing
// OS-specific is reachable from here.
//
// Protocol, for one Driver owned by thread T:
//   1. T submits an Operation with a Completion (a function pointer and a word). The Operation, and
//      every buffer and path it refers to, must stay alive and unmoved until the completion runs.
//   2. T runs the driver (poll() or run_until()); completions run on T inside those calls, exactly once
//      per submission, after op.result is filled. A completion may submit and cancel.
//   3. cancel() asks the OS to stop the operation; its completion still arrives (exactly once), with
//      Errc::canceled, or with its real result if it had finished first (a produced descriptor or
//      transferred bytes are never lost). The completion runs only after the kernel released the
//      buffers. A deadline carried by the Operation (accept, connect, send, recv, sendto, recvfrom,
//      futex_wait) ends it the same way with Errc::timeout.
//   4. Any thread may call Handle::wake() and Handle::cancel(); the driver sees them at its next turn.
//   5. ~Driver cancels everything still in flight and runs the completions before returning.
module;
#include <cstdint>
#include <string_view>
export module zsync:reactor;
import :error;
import :result;
import :time;
import :operation;

export namespace zsync::reactor {

// Which implementation serves a Driver. automatic: ZSYNC_REACTOR=uring|epoll when set, else io_uring
// when the kernel has it (the reason for falling back is printed once per process), else epoll.
enum class Kind : std::uint8_t { automatic, uring, epoll };

// Called once per submission, on the driver's thread, with the completed Operation. Must not throw.
using CompletionFn = void (*)(std::uintptr_t word, Operation& op) noexcept;
struct Completion {
    CompletionFn fn = nullptr;
    std::uintptr_t word = 0;
};

// Names one submission for cancel(). A ticket of a completed submission is stale: cancelling it does
// nothing (slots are reused with a new generation).
struct Ticket {
    std::uint32_t index = 0xffff'ffffu;
    std::uint32_t generation = 0;
};

struct Options {
    Kind kind = Kind::automatic;
    unsigned entries = 256;        // io_uring submission-queue entries (a power of two); more in flight is queued
    unsigned offload_threads = 2;  // threads for Operations without readiness (started at first use)
};

// Thread-safe, copyable; valid while its Driver lives.
class Handle {
public:
    // Makes the driver's current or next wait return. Cheap when a wake is already pending.
    void wake() const noexcept;
    // Cancels a submission as Driver::cancel does, from any thread (takes effect at the driver's next turn).
    void cancel(Ticket t) const noexcept;

private:
    friend class Driver;
    void* core_ = nullptr;
};

// Owned and run by one thread (submit, cancel, poll, run_until from that thread only).
class Driver {
public:
    explicit Driver(Options options = {});
    ~Driver();
    Driver(const Driver&) = delete;
    Driver& operator=(const Driver&) = delete;

    Kind kind() const noexcept;  // uring or epoll (never automatic)
    // Why automatic selection did not give io_uring ("" when it did, or when a kind was forced).
    std::string_view fallback_reason() const noexcept;

    // Starts `op`. Never fails: an invalid Operation completes with its Error. Nothing is allocated per
    // submission once the driver has grown to the number in flight. May not run the completion inline.
    Ticket submit(Operation& op, Completion done) noexcept;
    void cancel(Ticket t) noexcept;

    // One driver turn without waiting: submits what was queued (one io_uring_enter at most), reaps what
    // completed, fires expired timers. Returns how many completions ran.
    std::size_t poll() noexcept;
    // One turn that waits until at least one completion, a wake, or `until` (never: no limit). It may
    // also return early (a signal, kernel task work): callers loop on their own condition.
    std::size_t run_until(Deadline until) noexcept;

    std::size_t in_flight() const noexcept;  // submissions whose completion has not run yet
    Handle handle() const noexcept;

private:
    void* core_;
};

std::string_view kind_name(Kind k) noexcept;

}  // namespace zsync::reactor
