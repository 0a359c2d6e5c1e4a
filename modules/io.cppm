// zsync:io — the Io value, its table, Future<T>, Group and cancel protection.
//
// Io is two words passed by value: a backend's context pointer and its table. Every backend implements
// the same small table (DESIGN.md §3); everything else in zsync is library code over it. The table is
// the contract between user code and backends, so each slot documents what it promises:
//   thread-safety - who may call it concurrently;
//   inline        - whether it may run user code on the calling thread before returning;
//   cancel point  - whether a pending cancellation request is delivered there (as Errc::canceled,
//                   exactly once per request; see "Cancellation" below).
//
// Cancellation: each task has a cancel request flag and a protection state. A request is made by
// Future::cancel / Group::cancel on its task (or a backend's own request_cancel). It is delivered at the
// task's next cancel point that is not protected, as an Error with Errc::canceled, and then cleared:
// later cancel points succeed unless recancel() re-arms it. While protection is `blocked` requests stay
// pending. Every Operation is a cancel point except close, which always runs to completion.
module;
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
export module zsync:io;
import :error;
import :result;
import :time;
import :operation;
import :task;

export namespace zsync {

// A backend's handle to a started task. Opaque: only the backend that returned it knows its layout.
struct AnyFuture;

// Storage a Group lends to its backend; only the backend that owns the Group reads or writes it.
// `head` is non-null exactly while the group has tasks the backend has not yet freed.
struct GroupState {
    void* head = nullptr;
    std::uint64_t word = 0;
};

enum class CancelProtection : std::uint8_t { unblocked, blocked };

// The backend table. All slots are required; `ctx` is Io::ctx.
struct IoVTable {
    // Starts a task. Returns nullptr when the task already ran to completion on the calling thread (its
    // Result is then constructed in `result`, which must be result_size bytes at result_align), or a
    // handle that must be passed to exactly one of await / cancel.
    // Thread-safe. Inline: may run the task before returning. Not a cancel point. Consumes task.args.
    AnyFuture* (*async)(void* ctx, const TaskStart& task, void* result) noexcept;
    // Starts a task on its own unit of concurrency, or fails with concurrency_unavailable (leaving
    // task.args with the caller). Thread-safe. Never runs the task inline. Not a cancel point.
    Result<AnyFuture*> (*concurrent)(void* ctx, const TaskStart& task) noexcept;
    // Waits for the task, constructs its Result in `result`, frees the handle. The awaiting task's own
    // cancellation is propagated to the awaited task (which then finishes with what it returns).
    // Owner-only: one call per handle, from the task that started it. Inline: may run other tasks.
    void (*await)(void* ctx, AnyFuture* future, const TaskDescriptor& d, void* result) noexcept;
    // Requests cancellation of the task, then behaves as await. Owner-only.
    void (*cancel)(void* ctx, AnyFuture* future, const TaskDescriptor& d, void* result) noexcept;

    // Starts a task owned by the group; its Result is discarded (destroyed) when it ends, and the
    // backend frees it. Thread-safe with respect to other groups; one task mutates a group at a time.
    // Inline: may run the task before returning. Consumes task.args.
    void (*group_async)(void* ctx, GroupState& g, const TaskStart& task) noexcept;
    // As group_async but on its own unit of concurrency, or concurrency_unavailable (args untouched).
    Result<void> (*group_concurrent)(void* ctx, GroupState& g, const TaskStart& task) noexcept;
    // Waits until every task of the group has ended. Cancel point: if the waiting task is cancelled,
    // the group's tasks are cancelled, awaited, and canceled is returned.
    Result<void> (*group_await)(void* ctx, GroupState& g) noexcept;
    // Requests cancellation of every task of the group and waits until they have all ended. Not a
    // cancel point (it must finish releasing resources).
    void (*group_cancel)(void* ctx, GroupState& g) noexcept;

    // Sets the calling task's cancel protection and returns the previous one. Calling task only.
    CancelProtection (*swap_cancel_protection)(void* ctx, CancelProtection p) noexcept;
    // Re-arms a cancellation request that was delivered to the calling task, so that the next cancel
    // point reports canceled again. A no-op when no request was delivered. Calling task only.
    void (*recancel)(void* ctx) noexcept;
    // A cancel point that does nothing else. Calling task only.
    Result<void> (*check_cancel)(void* ctx) noexcept;

    // Wakes up to `max_waiters` tasks waiting on `word` through futex_wait, on any backend and any OS
    // thread of this process (the cross-backend rule: docs/architecture.md). Thread-safe. Never waits.
    void (*futex_wake)(void* ctx, const std::atomic<std::uint32_t>* word, std::uint32_t max_waiters) noexcept;

    // Performs one Operation and fills op.result. Thread-safe (each call on its own Operation).
    // Cancel point (except Op::close). May suspend the calling task.
    void (*operate)(void* ctx, Operation& op) noexcept;
    // Performs `count` Operations, possibly concurrently, and returns when all have completed. One
    // cancel point: if the calling task is cancelled, operations not yet complete report canceled.
    void (*batch)(void* ctx, Operation* ops, std::size_t count) noexcept;

    // Names the calling task's unit of execution, the thing that blocks when this task waits: the OS
    // thread on BlockingIo and ThreadPoolIo (a task run nested on a thread blocks the task below it),
    // the fiber on GreenThreadsIo (the thread when called outside any fiber), the frame on a stackless
    // backend. Stable while that unit lives, distinct between live units of every backend. Library code
    // that must key on "who is running" (the Mutex deadlock check) uses this, never the OS thread id.
    // Thread-safe; never waits; ignores `ctx` (a wrapping Io may forward its own ctx).
    const void* (*task_identity)(void* ctx) noexcept;
};

// True when every slot of `t` is set: each backend's table is checked at compile time with it.
constexpr bool complete_table(const IoVTable& t) noexcept {
    return t.async && t.concurrent && t.await && t.cancel && t.group_async && t.group_concurrent && t.group_await &&
           t.group_cancel && t.swap_cancel_protection && t.recancel && t.check_cancel && t.futex_wake && t.operate &&
           t.batch && t.task_identity;
}

template <class T> class Future;
class Group;
struct Io;

// The task-core waits as Operations, so that a stackless frame can return them from resume() like any
// other wait (DESIGN.md §3). Future::await/cancel and Group::await/cancel perform exactly these on every
// backend: the stackful code and a frame wait the same way.
//
// wait_task: waits for the task behind `future` (cancel: requests its cancellation first), constructs its
// Result<U> in `result` and frees the handle: what IoVTable::await / cancel do. It always completes so
// (its own result is 0): a backend or an Io adapter must never fail it without running the slot, since
// the task's result would be missing. Not a cancel point of its own: the awaiting task's cancellation
// is passed on to the awaited one (the await rule).
inline Operation wait_task_operation(AnyFuture* future, const TaskDescriptor& task, void* result, bool cancel) noexcept {
    Operation op;
    op.code = Op::wait_task;
    op.task_wait = {future, &task, result, cancel};
    return op;
}
// wait_group: waits until every task of the group has ended (IoVTable::group_await: a cancel point,
// result canceled or 0), or, with cancel, cancels them and waits (group_cancel: not a cancel point).
inline Operation wait_group_operation(GroupState& group, bool cancel) noexcept {
    Operation op;
    op.code = Op::wait_group;
    op.group_wait = {&group, cancel};
    return op;
}
// Performs a wait_task / wait_group Operation with the four task-core slots of `table` (ctx is its
// context): what every backend's operate does with these codes, and what an Io adapter forwards.
inline void perform_task_wait(void* ctx, const IoVTable& table, Operation& op) noexcept {
    if (op.code == Op::wait_task) {
        const Operation::TaskWait& w = op.task_wait;
        auto* f = static_cast<AnyFuture*>(w.future);
        const auto& d = *static_cast<const TaskDescriptor*>(w.task);
        if (w.cancel) table.cancel(ctx, f, d, w.result);
        else table.await(ctx, f, d, w.result);
        op.result = 0;
        return;
    }
    GroupState& g = *static_cast<GroupState*>(op.group_wait.group);
    if (op.group_wait.cancel) {
        table.group_cancel(ctx, g);
        op.result = 0;
        return;
    }
    Result<void> r = table.group_await(ctx, g);
    if (r) op.result = 0;
    else op.result = r.error();
}
inline constexpr bool is_task_wait(Op code) noexcept { return code == Op::wait_task || code == Op::wait_group; }

}  // namespace zsync

namespace zsync::detail {

template <class... T> struct type_list {};

// How a start function stores the task f(io, args...) (the argument block of the frame ABI).
// A callable that is not a function: TaskImpl<decay F, Io, decay A...>; it fits when the decayed copies
// can be made and the callable, moved, accepts (Io, moved copies).
template <class Fn, class... A>
struct task_of {
    using Impl = TaskImpl<Fn, Io, std::decay_t<A>...>;
    static constexpr bool is_function = false;
    static constexpr bool arity_fits = true;
    static constexpr bool fits = std::is_move_constructible_v<Fn> &&
                                 (std::is_constructible_v<std::decay_t<A>, A&&> && ...) &&
                                 std::is_invocable_v<Fn&&, Io, std::decay_t<A>&&...>;
};
// A function: the block holds its own decayed parameter types (exactly what frame_args<&f> reads), each
// constructed from the matching argument, so `"a.txt"` for a std::string_view parameter is stored as a
// string_view whichever way the function is named.
template <class Fn, class... P>
struct function_task {
    template <class... A>
    struct with {
        static constexpr bool is_function = true;
        static constexpr bool arity_fits = sizeof...(P) == sizeof...(A) + 1;
        static constexpr bool first_is_io = [] {
            if constexpr (sizeof...(P) == 0) return false;
            else return std::is_same_v<std::decay_t<std::tuple_element_t<0, std::tuple<P...>>>, Io>;
        }();
        // A non-const lvalue reference parameter would bind to the block's copy, not to the caller's
        // object (a silent copy): refused; pass a pointer (as Zig's std.Io code does).
        static constexpr bool no_mutable_refs =
            ((!std::is_lvalue_reference_v<P> || std::is_const_v<std::remove_reference_t<P>>) && ...);
        static constexpr bool args_convert = [] {
            if constexpr (!arity_fits || !first_is_io) return false;
            else return []<class P0, class... Ps>(type_list<P0, Ps...>) {
                return (std::is_constructible_v<std::decay_t<Ps>, A&&> && ...) &&
                       std::is_invocable_v<Fn, std::decay_t<P0>&&, std::decay_t<Ps>&&...>;
            }(type_list<P...>{});
        }();
        static constexpr bool fits = arity_fits && first_is_io && no_mutable_refs && args_convert;
        using Impl = TaskImpl<Fn, std::decay_t<P>...>;
    };
};
template <class R, class... P, class... A>
struct task_of<R (*)(P...), A...> : function_task<R (*)(P...), P...>::template with<A...> {};
template <class R, class... P, class... A>
struct task_of<R (*)(P...) noexcept, A...> : function_task<R (*)(P...) noexcept, P...>::template with<A...> {};

template <class F, class... A>
using task_impl = typename task_of<std::decay_t<F>, A...>::Impl;

template <class...> inline constexpr bool always_false = false;

// The one diagnostic of a start call whose callable does not fit (io.async, io.concurrent, Group,
// Select): says which rule was broken instead of a page of invoke_result errors.
template <class F, class... A>
constexpr void report_bad_task() {
    using T = task_of<std::decay_t<F>, A...>;
    constexpr bool io_passed_twice = [] {
        if constexpr (sizeof...(A) == 0) return false;
        else return std::is_same_v<std::decay_t<std::tuple_element_t<0, std::tuple<A...>>>, Io>;
    }();
    if constexpr (io_passed_twice) {
        static_assert(always_false<F>, "zsync: do not pass io in the arguments: io.async(f, args...), group.async(io, f, args...) "
                                       "and select.async(io, f, args...) call f(io, args...) themselves");
    } else if constexpr (T::is_function) {
        if constexpr (!T::first_is_io)
            static_assert(always_false<F>, "zsync: a task function's first parameter must be zsync::Io (the start call passes it)");
        else if constexpr (!T::arity_fits)
            static_assert(always_false<F>, "zsync: wrong number of arguments: a task function takes (zsync::Io, args...) and the "
                                           "start call passes only args... (the Io is added for you)");
        else if constexpr (!T::no_mutable_refs)
            static_assert(always_false<F>, "zsync: a task function cannot take a non-const lvalue reference (it would bind to a "
                                           "copy in the task's argument block): take a pointer");
        else
            static_assert(always_false<F>, "zsync: each argument must convert to its parameter's (decayed) type, and the function "
                                           "must accept those values as rvalues");
    } else {
        static_assert(always_false<F>, "zsync: the callable is not invocable as f(zsync::Io, args...) with decayed, moved "
                                       "arguments (or an argument cannot be decay-copied)");
    }
}

}  // namespace zsync::detail

export namespace zsync {

// What every start function (Io::async/concurrent, Group, Select) requires of `f` and `args...`: that
// f(io, args...) can be run as a task. For a function, its first parameter is Io and each argument
// converts to the matching parameter; for other callables, invocable with (Io, decayed args...).
template <class F, class... A>
concept TaskFunction = detail::task_of<std::decay_t<F>, A...>::fits;

// The value user code passes around. Trivially copyable, two words; copying shares the backend.
struct Io {
    void* ctx = nullptr;
    const IoVTable* vtable = nullptr;

    // Starts f(io, args...) as a task, where io is this Io (every start function passes its Io as f's
    // first argument: write `io.async(save_file, data, "a.txt")` for `save_file(Io, ...)`). The Future
    // yields its Result. May run f before returning (BlockingIo always does): code must be correct
    // when it does. For a function (named, or a pointer) the arguments are converted to its parameter
    // types and stored decayed; for other callables they are decay-copied. Thread-safe; not a cancel
    // point. A callable that cannot be called so is a compile error saying why (TaskFunction).
    template <class F, class... A>
        requires TaskFunction<F, A...>
    auto async(F&& f, A&&... args) const;
    // Starts f(io, args...) on its own unit of concurrency, or fails with concurrency_unavailable
    // (never runs f inline). Returns Result<Future<T>>.
    template <class F, class... A>
        requires TaskFunction<F, A...>
    auto concurrent(F&& f, A&&... args) const;
    // The spellings above with a callable that does not fit: one static_assert naming the mistake.
    template <class F, class... A>
        requires(!TaskFunction<F, A...>)
    void async(F&&, A&&...) const { detail::report_bad_task<F, A...>(); }
    template <class F, class... A>
        requires(!TaskFunction<F, A...>)
    void concurrent(F&&, A&&...) const { detail::report_bad_task<F, A...>(); }

    // A cancel point that does nothing else.
    inline Result<void> check_cancel() const noexcept { return vtable->check_cancel(ctx); }
    inline CancelProtection swap_cancel_protection(CancelProtection p) const noexcept { return vtable->swap_cancel_protection(ctx, p); }
    inline void recancel() const noexcept { vtable->recancel(ctx); }

    // Performs one Operation; returns (a copy of) its result. Cancel point (except close).
    inline Result<std::uint64_t> operate(Operation& op) const noexcept {
        vtable->operate(ctx, op);
        return op.result;
    }
    inline void batch(std::span<Operation> ops) const noexcept { vtable->batch(ctx, ops.data(), ops.size()); }

    // Waits while `word == expected`, until woken, `deadline` (Errc::timeout) or cancellation. May
    // return early without a wake (spurious): callers re-check their condition.
    inline Result<void> futex_wait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
                            Deadline deadline = Deadline::never()) const noexcept {
        Operation op = Operation::futex_wait(word, expected, deadline);
        vtable->operate(ctx, op);
        if (!op.result) return op.result.error();
        return {};
    }
    inline void futex_wake(const std::atomic<std::uint32_t>& word, std::uint32_t max_waiters) const noexcept {
        vtable->futex_wake(ctx, &word, max_waiters);
    }
    // Sleeps until `deadline`. Cancel point.
    inline Result<void> sleep_until(Deadline deadline) const noexcept {
        Operation op = Operation::sleep_until(deadline);
        vtable->operate(ctx, op);
        if (!op.result) return op.result.error();
        return {};
    }
    inline Result<void> sleep(Duration d) const noexcept { return sleep_until(Deadline::after(d)); }
    // Lets other tasks run. Cancel point.
    inline Result<void> yield() const noexcept {
        Operation op = Operation::yield();
        vtable->operate(ctx, op);
        if (!op.result) return op.result.error();
        return {};
    }

    friend bool operator==(const Io&, const Io&) noexcept = default;
};

// The handle of a task started with io.async / io.concurrent. Move-only, owned by one task.
// Not thread-safe. If it is still pending when destroyed, the task is cancelled and joined (the RAII
// form of Zig's `defer f.cancel(io)`), and its result destroyed.
template <class T>
class [[nodiscard]] Future {
public:
    using result_type = Result<T>;

    Future() noexcept = default;
    Future(Future&& o) noexcept : io_(o.io_), any_(o.any_), desc_(o.desc_), state_(o.state_) {
        if (state_ == State::ready) relocate_from(o);
        o.any_ = nullptr;
        o.state_ = State::empty;
    }
    Future& operator=(Future&& o) noexcept {
        if (this != &o) {
            reset();
            io_ = o.io_; any_ = o.any_; desc_ = o.desc_; state_ = o.state_;
            if (state_ == State::ready) relocate_from(o);
            o.any_ = nullptr;
            o.state_ = State::empty;
        }
        return *this;
    }
    Future(const Future&) = delete;
    Future& operator=(const Future&) = delete;
    ~Future() { reset(); }

    // Waits for the task and returns its Result. Cancel point only in that the awaiting task's
    // cancellation is passed on to the awaited task. A second call returns Errc::already_awaited.
    Result<T> await(Io io) noexcept { return take(io, false); }
    // Requests cancellation and waits; returns what the task returned (canceled, or a value that must
    // still be released). On a finished task, returns its result. After the result was taken, returns
    // Errc::already_awaited.
    Result<T> cancel(Io io) noexcept { return take(io, true); }

    // await and cancel in two halves around the one Operation they wait on, for stackless frames
    // (zsync-gen prints `f.await(io)` as these; the stackful await is the same two calls around
    // operate). begin_wait returns the wait_task Operation to perform, or an Operation with code nop
    // when there is nothing to wait for (ready, already taken, wrong Io); end_wait, after the
    // Operation was performed (or at once for nop), returns what await / cancel return.
    inline Operation begin_wait(Io io, bool cancel) noexcept {
        if (state_ != State::pending || io != io_) return Operation::nop();
        return wait_task_operation(any_, *desc_, storage_, cancel);
    }
    inline Result<T> end_wait(Io io, bool cancel, const Operation&) noexcept {
        const Op op = cancel ? Op::cancel : Op::await;
        if (state_ == State::empty) return Error(Errc::already_awaited, op);
        if (io != io_) return Error(Errc::wrong_io, op);
        any_ = nullptr;  // a pending task was waited for by the Operation: its result is in storage_
        Result<T> out(std::move(*slot()));
        std::destroy_at(slot());
        state_ = State::empty;
        return out;
    }

    // True while the task may still be running (its result not yet collected).
    bool pending() const noexcept { return state_ == State::pending; }
    // True while a result is waiting to be taken (pending or ready).
    bool valid() const noexcept { return state_ != State::empty; }

private:
    friend struct Io;
    enum class State : std::uint8_t { empty, pending, ready };

    Result<T>* slot() noexcept { return reinterpret_cast<Result<T>*>(storage_); }
    void relocate_from(Future& o) noexcept {
        std::construct_at(slot(), std::move(*o.slot()));
        std::destroy_at(o.slot());
    }
    Result<T> take(Io io, bool cancel) noexcept {
        Operation w = begin_wait(io, cancel);
        if (w.code != Op::nop) io.vtable->operate(io.ctx, w);
        return end_wait(io, cancel, w);
    }
    void reset() noexcept {
        if (state_ == State::pending) {
            Operation w = wait_task_operation(any_, *desc_, storage_, true);
            io_.vtable->operate(io_.ctx, w);
            any_ = nullptr;
            state_ = State::ready;
        }
        if (state_ == State::ready) std::destroy_at(slot());
        state_ = State::empty;
    }

    Io io_{};
    AnyFuture* any_ = nullptr;
    const TaskDescriptor* desc_ = nullptr;
    State state_ = State::empty;
    alignas(Result<T>) std::byte storage_[sizeof(Result<T>)];
};

// A set of tasks whose results are discarded, awaited or cancelled together (Zig's Io.Group).
// Move-only, owned by one task; not thread-safe. A Group destroyed with tasks outstanding cancels and
// joins them. Each task's resources are freed by the backend when the task ends.
class Group {
public:
    Group() noexcept = default;
    Group(const Group&) = delete;
    Group& operator=(const Group&) = delete;
    inline ~Group() {
        if (!state_.head) return;
        Operation w = wait_group_operation(state_, true);
        io_.vtable->operate(io_.ctx, w);
    }

    // Starts f(io, args...) in the group (the same rule as Io::async: the Io is f's first argument);
    // may run it inline. Its Result is destroyed when it ends. Errors: wrong_io when `io` is not the Io
    // of the group's earlier tasks.
    template <class F, class... A>
        requires TaskFunction<F, A...>
    Result<void> async(Io io, F&& f, A&&... args);
    // As async, on its own unit of concurrency, or concurrency_unavailable.
    template <class F, class... A>
        requires TaskFunction<F, A...>
    Result<void> concurrent(Io io, F&& f, A&&... args);
    template <class F, class... A>
        requires(!TaskFunction<F, A...>)
    Result<void> async(Io, F&&, A&&...) { detail::report_bad_task<F, A...>(); return {}; }
    template <class F, class... A>
        requires(!TaskFunction<F, A...>)
    Result<void> concurrent(Io, F&&, A&&...) { detail::report_bad_task<F, A...>(); return {}; }
    // Waits for every task. Cancel point: on cancellation the tasks are cancelled and joined first.
    inline Result<void> await(Io io) noexcept {
        Operation w = begin_wait(io, false);
        if (w.code != Op::nop) io.vtable->operate(io.ctx, w);
        return end_wait(w);
    }
    // Cancels every task and waits for them. Idempotent.
    inline void cancel(Io io) noexcept {
        Operation w = begin_wait(io, true);
        if (w.code != Op::nop) io.vtable->operate(io.ctx, w);
    }
    // await and cancel in two halves around their one wait_group Operation, for stackless frames (as
    // Future::begin_wait). begin_wait returns an Operation with code nop, its result already set, when
    // there is nothing to wait for: no task (await is then still a cancel point), or the wrong Io.
    inline Operation begin_wait(Io io, bool cancel) noexcept {
        Operation w = Operation::nop();
        w.result = 0;
        if (!state_.head) {
            // nothing to wait for; await is still a cancel point (as on every backend)
            if (cancel) return w;
            if (Result<void> r = io.check_cancel(); !r) w.result = Error(r.error().code(), Op::group_await);
            return w;
        }
        if (io != io_) {
            // wrong Io: await reports it; cancel leaves the tasks to the destructor, which uses the right one
            if (!cancel) w.result = Error(Errc::wrong_io, Op::group_await);
            return w;
        }
        return wait_group_operation(state_, cancel);
    }
    inline Result<void> end_wait(const Operation& w) noexcept {
        if (!w.result) return w.result.error();
        return {};
    }
    // True while the backend holds tasks of this group.
    inline bool pending() const noexcept { return state_.head != nullptr; }

private:
    template <class F, class... A>
    Result<void> spawn(Io io, bool concurrent, F&& f, A&&... args);
    Io io_{};
    GroupState state_{};
};

// Sets the calling task's cancel protection to `blocked` for the lifetime of the guard.
class CancelShield {
public:
    inline explicit CancelShield(Io io) noexcept : io_(io), old_(io.swap_cancel_protection(CancelProtection::blocked)) {}
    inline ~CancelShield() { io_.swap_cancel_protection(old_); }
    CancelShield(const CancelShield&) = delete;
    CancelShield& operator=(const CancelShield&) = delete;

private:
    Io io_;
    CancelProtection old_;
};

}  // namespace zsync

namespace zsync::detail {

// Raw storage for one argument block on the caller's stack. The slot consumes it on success; on
// failure the destructor of this guard destroys it.
template <class Impl>
struct ArgsBlock {
    using Args = typename Impl::Args;
    alignas(Args) std::byte bytes[sizeof(Args)];
    bool live = true;
    // The block for f(io, a...): the Io first, then the arguments converted to the block's types.
    template <class F, class... A>
    explicit ArgsBlock(F&& f, Io io, A&&... a) {
        std::construct_at(reinterpret_cast<Args*>(bytes), Args{std::forward<F>(f), typename Args::Tuple(io, std::forward<A>(a)...)});
    }
    ~ArgsBlock() { if (live) std::destroy_at(reinterpret_cast<Args*>(bytes)); }
    ArgsBlock(const ArgsBlock&) = delete;
    ArgsBlock& operator=(const ArgsBlock&) = delete;
};

// Calls f(io, args...) and returns its result as a Result: the shared body of every backend's run().
template <class F, class... A>
auto invoke_run(Io io, F&& f, A&&... args) {
    using Raw = std::invoke_result_t<F&&, Io, A&&...>;
    using R = as_result_t<Raw>;
    if constexpr (std::is_void_v<Raw>) {
        std::invoke(std::forward<F>(f), io, std::forward<A>(args)...);
        return R{};
    } else {
        return R(std::invoke(std::forward<F>(f), io, std::forward<A>(args)...));
    }
}

}  // namespace zsync::detail

namespace zsync {

template <class F, class... A>
    requires TaskFunction<F, A...>
auto Io::async(F&& f, A&&... args) const {
    using Impl = detail::task_impl<F, A...>;
    using T = typename Impl::R::value_type;
    const void* identity = detail::identity_of<std::decay_t<F>>(f);
    detail::ArgsBlock<Impl> block(std::forward<F>(f), *this, std::forward<A>(args)...);
    Future<T> fut;
    fut.io_ = *this;
    fut.desc_ = &Impl::descriptor;
    block.live = false;  // async always consumes the block
    AnyFuture* h = vtable->async(ctx, TaskStart{&Impl::descriptor, block.bytes, identity}, fut.storage_);
    fut.any_ = h;
    fut.state_ = h ? Future<T>::State::pending : Future<T>::State::ready;
    return fut;
}

template <class F, class... A>
    requires TaskFunction<F, A...>
auto Io::concurrent(F&& f, A&&... args) const {
    using Impl = detail::task_impl<F, A...>;
    using T = typename Impl::R::value_type;
    const void* identity = detail::identity_of<std::decay_t<F>>(f);
    detail::ArgsBlock<Impl> block(std::forward<F>(f), *this, std::forward<A>(args)...);
    Result<AnyFuture*> h = vtable->concurrent(ctx, TaskStart{&Impl::descriptor, block.bytes, identity});
    if (!h) return Result<Future<T>>(h.error());
    block.live = false;
    Future<T> fut;
    fut.io_ = *this;
    fut.desc_ = &Impl::descriptor;
    fut.any_ = *h;
    fut.state_ = Future<T>::State::pending;
    return Result<Future<T>>(std::move(fut));
}

template <class F, class... A>
Result<void> Group::spawn(Io io, bool concurrent, F&& f, A&&... args) {
    const Op op = concurrent ? Op::group_concurrent : Op::group_async;
    if (state_.head && io != io_) return Error(Errc::wrong_io, op);
    using Impl = detail::task_impl<F, A...>;
    const void* identity = detail::identity_of<std::decay_t<F>>(f);
    detail::ArgsBlock<Impl> block(std::forward<F>(f), io, std::forward<A>(args)...);
    io_ = io;
    TaskStart ts{&Impl::descriptor, block.bytes, identity};
    if (!concurrent) {
        block.live = false;
        io.vtable->group_async(io.ctx, state_, ts);
        return {};
    }
    Result<void> r = io.vtable->group_concurrent(io.ctx, state_, ts);
    if (r) block.live = false;
    return r;
}

// Drives a stackless frame to completion on `io` (the seed's runStacklessAsync, docs/frame-abi.md §3):
// init from `args`, then resume, performing each Operation it returns, until it finishes; the Result
// is constructed at `result` and the frame destroyed. `memory` is d.size bytes aligned to d.align.
export inline void drive_frame(Io io, const FrameDescriptor& d, void* memory, void* args, void* result) noexcept {
    d.init(memory, args);
    while (Operation* op = d.resume(memory)) io.vtable->operate(io.ctx, *op);
    d.take_result(memory, result);
    d.destroy(memory);
}

template <class F, class... A>
    requires TaskFunction<F, A...>
Result<void> Group::async(Io io, F&& f, A&&... args) { return spawn(io, false, std::forward<F>(f), std::forward<A>(args)...); }
template <class F, class... A>
    requires TaskFunction<F, A...>
Result<void> Group::concurrent(Io io, F&& f, A&&... args) { return spawn(io, true, std::forward<F>(f), std::forward<A>(args)...); }

}  // namespace zsync
