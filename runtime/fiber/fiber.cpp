#include "fiber/fiber.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <new>

#include "fiber/context.hpp"

namespace zsync::rt::fiber {
namespace {

thread_local Exec* tl_current = nullptr;  // nullptr: the thread's own stack (tl_thread)

Exec& thread_exec() noexcept {
    thread_local Exec self = [] {
        Exec e;
        make_thread_state(e.san);
        return e;
    }();
    return self;
}

Exec& current_exec() noexcept { return tl_current ? *tl_current : thread_exec(); }

[[noreturn]] void misuse(const char* msg) noexcept {
    [[maybe_unused]] auto n = ::write(2, msg, __builtin_strlen(msg));
    std::abort();
}

std::atomic<std::uint64_t> g_next_id{1};  // relaxed: only uniqueness matters
// Ids are taken from g_next_id in blocks per thread, so that making a fiber costs no atomic RMW
// (a locked instruction is tens of ns on a shared VM): unique, increasing per thread, not dense.
thread_local std::uint64_t tl_id_next = 0, tl_id_end = 0;
std::uint64_t next_fiber_id() noexcept {
    if (tl_id_next == tl_id_end) {
        constexpr std::uint64_t block = 1024;
        tl_id_next = g_next_id.fetch_add(block, std::memory_order_relaxed);
        tl_id_end = tl_id_next + block;
    }
    return tl_id_next++;
}

}  // namespace

// What every jump passes: who jumped (its new context goes there), to whom, the payload, and what the
// arriving side runs once the sender's context is saved (switch_to's hook; null otherwise).
struct Fiber::Message {
    Exec* sender;
    Exec* target;
    void* payload;
    void (*after)(void*) = nullptr;
    void* after_arg = nullptr;
};


Fiber* Fiber::current() noexcept {
    Exec* e = tl_current;
    return e && e->is_fiber ? static_cast<Fiber*>(e) : nullptr;
}

Fiber::Fiber(StackPool& pool, Stack stack, Body body, void* arg, const char* name, std::uint64_t id) noexcept
    : pool_(&pool), stack_(stack), body_(body), arg_(arg) {
    is_fiber = true;
    guard.guard_lo = stack.base;
    guard.guard_hi = stack.bottom();
    guard.stack_hi = stack.top();
    guard.name = name;
    guard.id = id;
}

namespace {
// The record lives at the top of its own stack, above the first frame: no allocation per fiber.
constexpr std::size_t record_bytes = (sizeof(Fiber) + 63) / 64 * 64;
static_assert(record_bytes + ctx::min_stack_bytes < Fiber::min_stack_bytes);
}  // namespace

std::expected<FiberPtr, FiberError> Fiber::create(StackPool& pool, Body body, void* arg, const char* name) {
    // Checked before a stack is taken (create_on checks again, for its own callers).
    if (body == nullptr) return std::unexpected(FiberError{EINVAL, "fiber create: the body is null"});
    if (pool.stack_bytes() < Fiber::min_stack_bytes)
        return std::unexpected(FiberError{EINVAL, "fiber create: the pool's stacks are too small for the switch"});
    auto stack = pool.acquire();
    if (!stack) return std::unexpected(stack.error());
    return create_on(pool, *stack, body, arg, name);
}

std::expected<FiberPtr, FiberError> Fiber::create_on(StackPool& pool, Stack stack, Body body, void* arg, const char* name) {
    if (body == nullptr || !stack || stack.usable_bytes < Fiber::min_stack_bytes) {
        pool.release(stack);
        return std::unexpected(FiberError{EINVAL, body == nullptr ? "fiber create: the body is null"
                                                                  : "fiber create: the stack is too small for the switch"});
    }
    std::byte* at = stack.top() - record_bytes;
    auto* f = new (at) Fiber(pool, stack, body, arg, name ? name : "fiber", next_fiber_id());
    std::size_t usable = static_cast<std::size_t>(at - stack.bottom());
    f->resume_at = ctx::make<&Fiber::entry>(at, usable);
    if (f->resume_at == nullptr) {  // cannot happen after the size check; kept so a bad frame size is an error
        f->~Fiber();
        pool.release(stack);
        return std::unexpected(FiberError{EINVAL, "fiber create: the stack is too small for the switch's frame"});
    }
    make_fiber_state(f->san, stack.bottom(), usable);
    ensure_alt_stack();
    return FiberPtr(f);
}

// On the arriving side of every switch: the sender's context is where it will resume.
Exec* Fiber::arrive(ctx::Transfer t) {
    auto* m = static_cast<Message*>(t.data);
    m->sender->resume_at = t.from;
    fiber::arrive(m->target->san, &m->sender->san);
    set_current_guard(m->target->is_fiber ? &m->target->guard : nullptr);
    // The message lives on the sender's stack, which the hook may hand to another thread: read it first.
    Exec* sender = m->sender;
    // The sender is fully switched out now: from here on another thread may resume it.
    if (m->after) m->after(m->after_arg);
    return sender;
}

void* Fiber::jump(Exec& from, Exec& to, void* payload, void (*after)(void*), void* after_arg, Exec** sender) {
    leave(from.san, to.san, false);
    tl_current = to.is_fiber ? &to : nullptr;
    Message m{&from, &to, payload, after, after_arg};
    void* target_ctx = to.resume_at;
    to.resume_at = nullptr;  // spent by this jump
    ctx::Transfer t = ctx::jump(target_ctx, &m);
    // Read before arrive(): its hook may publish the sender, whose stack holds the message.
    auto* back = static_cast<Message*>(t.data);
    void* in = back->payload;
    if (sender) *sender = back->sender;
    arrive(t);
    return in;
}

void* Fiber::resume(void* in) {
    if (state_ == State::running) misuse("zsync: Fiber::resume of a running fiber (aborting)\n");
    if (state_ == State::finished) misuse("zsync: Fiber::resume of a finished fiber (aborting)\n");
    ensure_alt_stack();  // this thread may not be the one that made the fiber (one check of a thread_local)
    Exec& from = current_exec();
    resumer_ = &from;
    state_ = State::running;
    Exec* back = nullptr;
    void* out = jump(from, *this, in, nullptr, nullptr, &back);
    // The fiber that came back: this one, or one it switched to (switch_to), which may have finished.
    // Not `this`: after a switch_to it may run on another thread by now.
    auto* f = static_cast<Fiber*>(back);
    if (f->error_) {
        auto e = std::move(f->error_);
        f->error_ = nullptr;
        std::rethrow_exception(e);
    }
    return out;
}

void* Fiber::suspend(void* out) {
    if (tl_current != static_cast<Exec*>(this)) misuse("zsync: Fiber::suspend outside its own fiber (aborting)\n");
    state_ = State::suspended;
    return jump(*this, *resumer_, out, nullptr, nullptr, nullptr);
}

void* Fiber::switch_to(Fiber& next, void* in, void (*after)(void*), void* after_arg) {
    if (tl_current != static_cast<Exec*>(this)) misuse("zsync: Fiber::switch_to outside its own fiber (aborting)\n");
    if (&next == this || next.state_ == State::running || next.state_ == State::finished)
        misuse("zsync: Fiber::switch_to a running or finished fiber (aborting)\n");
    next.resumer_ = resumer_;
    next.state_ = State::running;
    state_ = State::suspended;
    return jump(*this, next, in, after, after_arg, nullptr);
}

void Fiber::entry(ctx::Transfer t) {
    auto* m = static_cast<Message*>(t.data);
    auto* self = static_cast<Fiber*>(m->target);
    void* in = m->payload;
    arrive(t);
    try {
        self->body_(*self, in);
    } catch (const Unwind&) {
        // destroy() of a suspended fiber: its frames are unwound, now leave for good
    } catch (...) {
        self->error_ = std::current_exception();  // rethrown by resume()
    }
    self->state_ = State::finished;
    Exec& back = *self->resumer_;
    // The last switch: ASan frees this stack's fake frames; nothing on this stack is used again.
    leave(self->san, back.san, true);
    tl_current = back.is_fiber ? &back : nullptr;
    Message last{self, &back, nullptr};
    void* target_ctx = back.resume_at;
    back.resume_at = nullptr;
    ctx::jump(target_ctx, &last);
    misuse("zsync: a finished fiber was resumed (aborting)\n");
}

ctx::Transfer Fiber::unwind_on_top(ctx::Transfer t) {
    arrive(t);
    throw Unwind{};
}

Stack Fiber::end(Fiber* f) noexcept {
    if (f->state_ == State::running) misuse("zsync: destroying a running fiber (aborting)\n");
    if (f->state_ == State::suspended) {
        // Unwind its stack: Unwind is thrown from where it suspended, caught in entry(), which finishes.
        Exec& from = current_exec();
        f->resumer_ = &from;
        f->state_ = State::running;
        leave(from.san, f->san, false);
        tl_current = f;
        Message m{&from, f, nullptr};
        void* target_ctx = f->resume_at;
        f->resume_at = nullptr;
        ctx::Transfer t = ctx::ontop<&Fiber::unwind_on_top>(target_ctx, &m);
        arrive(t);
        if (f->state_ != State::finished)
            misuse("zsync: a fiber suspended again while being destroyed (did a catch (...) swallow the unwind?)\n");
        f->error_ = nullptr;  // an exception that replaced the unwind is dropped with the fiber
    }
    destroy_fiber_state(f->san);
    Stack stack = f->stack_;
    f->~Fiber();
    return stack;
}

void Fiber::destroy(Fiber* f) noexcept {
    StackPool* pool = f->pool_;  // read before end(): the record lives on the stack
    pool->release(end(f));
}

Stack Fiber::retire(FiberPtr p) noexcept {
    Fiber* f = p.release();
    return f ? end(f) : Stack{};
}

void FiberDeleter::operator()(Fiber* f) const noexcept { Fiber::destroy(f); }

}  // namespace zsync::rt::fiber
