// A fiber: a body running on its own pooled, guarded stack, switched to and from explicitly. No scheduler
// here (GreenThreadsIo builds one on this).
//
// Protocol of a switch (fiber.cpp, switch_to): the leaving side saves its exception state and tells the
// sanitizers (sanitizer.hpp leave), marks the target current, and jumps passing a Message {sender, target,
// payload}; the arriving side stores the sender's new context into the sender, finishes the sanitizer
// hand-over (arrive) and installs its guard for the overflow handler. A fiber's first arrival is in entry().
//
// Thread-safety: a Fiber is used by one thread at a time; it may be resumed on a different thread than
// last time (the caller synchronises the hand-over). resume() of a running or finished fiber is a
// programming error, reported and aborted.
#pragma once
#include <cstddef>
#include <cstdint>
#include <exception>
#include <expected>
#include <memory>

#include "fiber/context.hpp"
#include "fiber/error.hpp"
#include "fiber/guard.hpp"
#include "fiber/sanitizer.hpp"
#include "fiber/stack_pool.hpp"

namespace zsync::rt::fiber {

// A context that can be switched from and to: a thread's own stack or a fiber.
struct Exec {
    void* resume_at = nullptr;  // its context (where it resumes) while suspended
    SwitchState san{};
    GuardInfo guard{};    // empty for a thread's own stack
    bool is_fiber = false;
};

class Fiber;
struct FiberDeleter {
    void operator()(Fiber* f) const noexcept;
};
using FiberPtr = std::unique_ptr<Fiber, FiberDeleter>;

class Fiber : private Exec {
public:
    // body(self, in): `in` is what the first resume() passed. Returning from body finishes the fiber.
    using Body = void (*)(Fiber& self, void* in);
    enum class State : std::uint8_t { created, running, suspended, finished };

    // The smallest stack create() accepts: the switch's frame, this record, entry()'s frame and room for
    // a body that calls the C library (which may use a few KiB, e.g. printf); smaller is EINVAL.
    static constexpr std::size_t min_stack_bytes = 16 * 1024;

    // A suspended fiber on a stack from `pool` that runs body(self, in) on its first resume(). `arg` is
    // kept for body (arg()); `name` must outlive the fiber (it is printed if the stack overflows).
    // EINVAL for a null body or a pool whose stacks are too small for the switch's frame and this
    // record; the pool's error when it has no stack. Allocates nothing but the stack.
    static std::expected<FiberPtr, FiberError> create(StackPool& pool, Body body, void* arg, const char* name);
    // The same on `stack`, which came from pool.acquire() and passes to the fiber (back to the pool on
    // failure). For a caller that keeps a cache of its own in front of the pool (GreenThreadsIo's
    // workers: no lock per fiber); the fiber still returns the stack to `pool` if destroyed normally.
    static std::expected<FiberPtr, FiberError> create_on(StackPool& pool, Stack stack, Body body, void* arg,
                                                         const char* name);
    // Destroys `f` (as the deleter does, unwinding it if suspended) and hands its stack to the caller
    // instead of the pool; the caller must give it back to that pool (release) in the end.
    static Stack retire(FiberPtr f) noexcept;

    // Switches from the caller (a thread or another fiber) into this fiber until it suspends or finishes.
    // Returns what suspend() passed (nullptr when the fiber finished). An exception that left body is
    // rethrown here, once.
    void* resume(void* in = nullptr);

    // Inside this fiber only: switches back to whoever resumed it; returns what the next resume() passes.
    // If the fiber is destroyed while suspended here, this throws an internal unwind exception instead
    // (destructors run); code that catches (...) must rethrow it.
    void* suspend(void* out = nullptr);

    // Inside this fiber only: suspends it and switches straight into `next` (created or suspended, not
    // this one): one switch instead of two through the resumer. `next` takes over this fiber's resumer,
    // so its suspend() (or its end) returns to whoever resumed this one; that resume() returns then.
    // `after(after_arg)` (may be null) runs on `next`'s side once this fiber's context is saved: the
    // first moment another thread may resume this fiber, so the place to publish it (a queue push).
    // Returns what the next resume() of this fiber passes, as suspend() does.
    void* switch_to(Fiber& next, void* in, void (*after)(void*), void* after_arg);

    State state() const noexcept { return state_; }
    void* arg() const noexcept { return arg_; }
    const char* name() const noexcept { return guard.name; }
    std::uint64_t id() const noexcept { return guard.id; }
    const Stack& stack() const noexcept { return stack_; }
    // The saved frame while suspended (for debuggers: scripts/gdb/zsync.py zsync-fiber-bt), else nullptr.
    void* saved_context() const noexcept { return state_ == State::running ? nullptr : resume_at; }
    // Where the saved context is stored, for the whole life of the fiber: a debugger reads it while the
    // process is stopped (runtime/green/gdb_registry.hpp); stale while the fiber runs.
    void* const* saved_context_slot() const noexcept { return &resume_at; }

    // The fiber running on this thread, or nullptr on the thread's own stack.
    static Fiber* current() noexcept;

private:
    friend struct FiberDeleter;
    struct Unwind {};
    struct Message;

    Fiber(StackPool& pool, Stack stack, Body body, void* arg, const char* name, std::uint64_t id) noexcept;
    static void entry(ctx::Transfer t);
    static ctx::Transfer unwind_on_top(ctx::Transfer t);
    static Exec* arrive(ctx::Transfer t);
    // Leaves `from` for `to` with `payload`; returns what the jump back delivers, and who made it.
    static void* jump(Exec& from, Exec& to, void* payload, void (*after)(void*), void* after_arg, Exec** sender);
    static void destroy(Fiber* f) noexcept;
    static Stack end(Fiber* f) noexcept;  // destroy() without giving the stack back

    StackPool* pool_;
    Stack stack_;
    Body body_;
    void* arg_;
    Exec* resumer_ = nullptr;
    std::exception_ptr error_;
    State state_ = State::created;
};

}  // namespace zsync::rt::fiber
