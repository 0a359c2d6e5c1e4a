// Stackless frames made by zsync-gen against C++20 coroutines with the same bodies (issue 5 §5), and
// ten nested wrappers around a leaf with an 8 KiB local (issue 5 §6).
//
// Each body is written twice: as a plain function annotated [[clang::annotate("zsync::stackless")]]
// (namespace fb; zsync-gen makes its frame), and as a coroutine doing the same with co_await (namespace
// co). The frame is driven the way docs/frame-abi.md's executor loop drives it:
//   while (zsync::Operation* op = d->resume(frame)) op->result = std::uint64_t{0};
// and the coroutine the usual way:
//   while (!h.done()) h.resume();
// where its awaitable always suspends and resumes with success (the least a coroutine can do).
//
// Modes (each runs its measured work once; under callgrind only the extern "C" zsync_bench_frames_*
// functions are collected):
//   resume_frame    drives the frame of fb::sum_loop(io, --iters) to the end, through its descriptor
//                   read from opaque storage (as an executor gets it from the registry)
//   resume_coro     drives co::sum_loop_co(io, --iters) (Minimal awaitable), its handle read from opaque
//                   storage
//   resume_coro_op  (info) the same coroutine with the WithOp awaitable, which carries a zsync::Operation
//                   that the driver completes as the frame's driver does (the same protocol)
//   init_frame      --iters times zsync::async_init<&fb::sum_loop> into memory on the caller's stack;
//                   only the init is collected (the destroy is outside the measured function)
//   init_coro       --iters times co::sum_loop_co(io, 3): the coroutine is created (its frame allocated
//                   with operator new) up to its initial suspension; the destroy is outside
//   wall            interleaves the three resume kinds and the init+destroy pairs --runs times (the first
//                   of each round rotates) after one untimed round; prints medians with min–max and the
//                   paired per-round ratios. --iters resumes per run, --iters/10 inits.
// Every mode first prints the frame-size table (frame_size<&f> against the size clang passes to the
// promise's operator new, for four bodies), checks that frame, coroutines and plain function agree on
// each body's result, and runs the ten-wrapper chain. The resume figure per iteration is
// (Ir(2n) - Ir(n)) / n: one suspension and one resume, with the loop's own work (s += i) on both sides.
//
// This file is compiled through zsync-gen (zsync_stackless in CMakeLists.txt). The generator first
// parses the file as written, before the frames exist, where zsync::frame_of<&f> is the primary
// template (generated = false, size 0): every use of a frame below is inside a template on the
// function, under `if constexpr (zsync::frame_of<F>::generated)`, so it parses then and is compiled
// for real in the generated copy. main() fails if a frame is missing.
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <utility>
#include <vector>
#include "bench_common.hpp"
#include "leak_check.hpp"
import zsync;

// ---- the bodies as plain functions (zsync-gen makes the frames) -----------------------------------

namespace fb {

// (1) the loop: one suspension per iteration, nothing but ints alive across it.
[[clang::annotate("zsync::stackless")]]
zsync::Result<long> sum_loop(zsync::Io io, int n) {
    long s = 0;
    for (int i = 0; i < n; ++i) {
        auto r = io.yield();
        if (!r) return r.error();
        s += i;
    }
    return s;
}

// (2) a std::string (heap-allocated: longer than the small-string buffer) alive across a suspension.
[[clang::annotate("zsync::stackless")]]
zsync::Result<long> hold_string(zsync::Io io, int n) {
    std::string s(40 + n % 2, 'x');
    auto r = io.yield();
    if (!r) return r.error();
    return long(s.size()) + n;
}

// (3) a 4 KiB local buffer alive across a suspension.
[[clang::annotate("zsync::stackless")]]
zsync::Result<long> hold_buffer(zsync::Io io, int n) {
    std::byte buf[4096];
    for (std::size_t i = 0; i < sizeof buf; ++i) buf[i] = std::byte(i + unsigned(n));
    auto r = io.yield();
    if (!r) return r.error();
    long s = 0;
    for (std::byte b : buf) s += long(b);
    return s;
}

// (4) a plain (not annotated) helper that suspends, called twice: its frame is embedded in the caller's,
// the two calls sharing one storage.
zsync::Result<long> inner(zsync::Io io, int n) {
    long s = 0;
    for (int i = 0; i < n; ++i) {
        auto r = io.yield();
        if (!r) return r.error();
        s += i;
    }
    return s;
}

[[clang::annotate("zsync::stackless")]]
zsync::Result<long> nested(zsync::Io io, int n) {
    auto a = inner(io, n);
    if (!a) return a.error();
    auto b = inner(io, n + 1);
    if (!b) return b.error();
    return *a + *b;
}

// ---- ten nested wrappers around a leaf with an 8 KiB local (issue 5 §6) ----
// Only w10 is annotated; leaf and w1..w9 are plain functions that suspend (through leaf), so each one's
// frame is embedded in its caller's, in place.
zsync::Result<long> leaf(zsync::Io io) {
    std::byte buf[8192];
    for (std::size_t i = 0; i < sizeof buf; ++i) buf[i] = std::byte(i);
    auto r = io.yield();
    if (!r) return r.error();
    return long(buf[100]) + long(buf[8000]);  // 100 + 64
}
zsync::Result<long> w1(zsync::Io io) { auto r = leaf(io); if (!r) return r.error(); return *r + 1; }
zsync::Result<long> w2(zsync::Io io) { auto r = w1(io); if (!r) return r.error(); return *r + 1; }
zsync::Result<long> w3(zsync::Io io) { auto r = w2(io); if (!r) return r.error(); return *r + 1; }
zsync::Result<long> w4(zsync::Io io) { auto r = w3(io); if (!r) return r.error(); return *r + 1; }
zsync::Result<long> w5(zsync::Io io) { auto r = w4(io); if (!r) return r.error(); return *r + 1; }
zsync::Result<long> w6(zsync::Io io) { auto r = w5(io); if (!r) return r.error(); return *r + 1; }
zsync::Result<long> w7(zsync::Io io) { auto r = w6(io); if (!r) return r.error(); return *r + 1; }
zsync::Result<long> w8(zsync::Io io) { auto r = w7(io); if (!r) return r.error(); return *r + 1; }
zsync::Result<long> w9(zsync::Io io) { auto r = w8(io); if (!r) return r.error(); return *r + 1; }
[[clang::annotate("zsync::stackless")]]
zsync::Result<long> w10(zsync::Io io) { auto r = w9(io); if (!r) return r.error(); return *r + 1; }
inline constexpr long w10_expected = 164 + 10;

// The bound on w10's frame. Nesting must add a small constant per level, never a copy of the 8 KiB:
//   frame_size<&w10> <= 8192 + 10 * (W + 16) + L + T
// - 8192: the leaf's buffer, once (embedded frames sit in place inside their caller's).
// - W: what a wrapper itself keeps in its frame: its local `r`, alive across the suspension (the callee's
//   result is constructed in it) = sizeof(Result<long>). Its parameter `io` is never read by the frame
//   (it is only handed to the callee, whose frame drops it too), so zsync-gen stores none.
// - 16: a frame's header: the state index (int, padded to 8) and the pointer to where its result goes.
// - L: the leaf's own state beside its buffer: its header (16) and the pending Operation.
// - T: paid once by the annotated function for its executor: the Result<long> it returns (constructed in
//   the frame, not in a caller's frame) and the descriptor's "taken" flag, padded to 8.
// L and T do not grow with the depth: each wrapper adds exactly W + 16 = 32 bytes. (A bound of
// 8192 + 10 * (W + 16) alone leaves out L + T = 96 bytes.) The generated code also static_asserts the
// exact size it reports.
inline constexpr std::size_t wrapper_locals = sizeof(zsync::Result<long>);                          // W
inline constexpr std::size_t leaf_state = 16 + sizeof(zsync::Operation);                            // L
inline constexpr std::size_t top_state = sizeof(zsync::Result<long>) + alignof(zsync::Result<long>);  // T
inline constexpr std::size_t w10_bound = 8192 + 10 * (wrapper_locals + 16) + leaf_state + top_state;
// While zsync-gen parses this file frame_size<&w10> is 0 (the assertion holds trivially); in the
// generated copy it is the real size. main() checks that the frame exists (size > 0).
static_assert(zsync::frame_size<&w10> <= w10_bound, "ten nested wrappers: the frame is larger than the bound");

}  // namespace fb

// ---- the same bodies as C++20 coroutines -----------------------------------------------------------

namespace co {

// The sizes clang passes to operator new of a tracked task's promise (its coroutine frames).
struct Track {
    static inline std::size_t last = 0, live = 0, peak = 0, count = 0;
    static void reset() { last = live = peak = count = 0; }
};

// The handle a nested leaf awaitable suspended (the driver resumes it; nullptr: resume the root).
inline std::coroutine_handle<> waiting;

struct Nothing {};

// A task: the promise holds the Result<T> (constructed by co_return) and the continuation (the awaiting
// coroutine, for nesting). Tracked records frame sizes in the promise's operator new (kept out of the
// measured tasks: it costs instructions).
template <class T, bool Tracked = false>
class Task {
public:
    struct promise_type;
    using handle = std::coroutine_handle<promise_type>;

    struct promise_type {
        alignas(zsync::Result<T>) std::byte result[sizeof(zsync::Result<T>)];
        bool has = false;
        std::coroutine_handle<> continuation;

        zsync::Result<T>& value() noexcept { return *std::launder(reinterpret_cast<zsync::Result<T>*>(result)); }
        Task get_return_object() noexcept { return Task(handle::from_promise(*this)); }
        std::suspend_always initial_suspend() noexcept { return {}; }
        struct Final {
            bool await_ready() noexcept { return false; }
            std::coroutine_handle<> await_suspend(handle h) noexcept {
                std::coroutine_handle<> c = h.promise().continuation;
                return c ? c : std::noop_coroutine();
            }
            void await_resume() noexcept {}
        };
        Final final_suspend() noexcept { return {}; }
        template <class U>
        void return_value(U&& v) {
            std::construct_at(reinterpret_cast<zsync::Result<T>*>(result), std::forward<U>(v));
            has = true;
        }
        void unhandled_exception() noexcept { std::terminate(); }
        ~promise_type() {
            if (has) std::destroy_at(&value());
        }
        static void* operator new(std::size_t n) {
            if constexpr (Tracked) {
                Track::last = n;
                Track::live += n;
                Track::count += 1;
                if (Track::live > Track::peak) Track::peak = Track::live;
            }
            return ::operator new(n);
        }
        static void operator delete(void* p, std::size_t n) noexcept {
            if constexpr (Tracked) Track::live -= n;
            ::operator delete(p, n);
        }
    };

    explicit Task(handle h) noexcept : h_(h) {}
    Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
    Task& operator=(Task&&) = delete;
    ~Task() {
        if (h_) h_.destroy();
    }
    handle get() const noexcept { return h_; }
    void* release() noexcept { return std::exchange(h_, {}).address(); }

    // co_await on a task: runs it (symmetric transfer) with this coroutine as its continuation.
    bool await_ready() const noexcept { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) noexcept {
        h_.promise().continuation = parent;
        return h_;
    }
    zsync::Result<T> await_resume() { return std::move(h_.promise().value()); }

private:
    handle h_;
};

// The Operation an OpAwait waits on (the driver completes it before the next resume).
inline zsync::Operation* pending = nullptr;

// Two kinds of awaitable stand for io.yield():
// - Minimal: always suspends and resumes with success, the least a coroutine can do (it carries
//   nothing, and cannot be told of a failure or a cancellation).
// - WithOp: carries a zsync::Operation that the driver completes, as the frame's does (the same
//   protocol: the Operation is built at each wait, the driver writes its result, the coroutine checks
//   it), so the only difference left is the coroutine machinery.
// `now` is for a coroutine resumed by the driver directly; `nested` also tells the driver which handle
// to resume (a coroutine awaited by another).
struct Minimal {
    struct Now {
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<>) const noexcept {}
        zsync::Result<void> await_resume() const noexcept { return {}; }
    };
    struct Nested : Now {
        void await_suspend(std::coroutine_handle<> h) const noexcept { waiting = h; }
    };
    static Now now(zsync::Io) noexcept { return {}; }
    static Nested nested(zsync::Io) noexcept { return {}; }
};

struct WithOp {
    struct Now {
        zsync::Operation op = zsync::Operation::yield();
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<>) noexcept { pending = &op; }
        zsync::Result<void> await_resume() const noexcept {
            if (!op.result) return op.result.error();
            return {};
        }
    };
    struct Nested : Now {
        void await_suspend(std::coroutine_handle<> h) noexcept {
            pending = &op;
            waiting = h;
        }
    };
    static Now now(zsync::Io) noexcept { return {}; }
    static Nested nested(zsync::Io) noexcept { return {}; }
};

template <class Task, class Y>
Task sum_loop_co(zsync::Io io, int n) {
    long s = 0;
    for (int i = 0; i < n; ++i) {
        auto r = co_await Y::now(io);
        if (!r) co_return r.error();
        s += i;
    }
    co_return s;
}

template <class Task, class Y>
Task hold_string_co(zsync::Io io, int n) {
    std::string s(40 + n % 2, 'x');
    auto r = co_await Y::now(io);
    if (!r) co_return r.error();
    co_return long(s.size()) + n;
}

template <class Task, class Y>
Task hold_buffer_co(zsync::Io io, int n) {
    std::byte buf[4096];
    for (std::size_t i = 0; i < sizeof buf; ++i) buf[i] = std::byte(i + unsigned(n));
    auto r = co_await Y::now(io);
    if (!r) co_return r.error();
    long s = 0;
    for (std::byte b : buf) s += long(b);
    co_return s;
}

template <class Task, class Y>
Task inner_co(zsync::Io io, int n) {
    long s = 0;
    for (int i = 0; i < n; ++i) {
        auto r = co_await Y::nested(io);
        if (!r) co_return r.error();
        s += i;
    }
    co_return s;
}

template <class Task, class Y>
Task nested_co(zsync::Io io, int n) {
    auto a = co_await inner_co<Task, Y>(io, n);
    if (!a) co_return a.error();
    auto b = co_await inner_co<Task, Y>(io, n + 1);
    if (!b) co_return b.error();
    co_return *a + *b;
}

using Plain = Task<long>;
using Tracked = Task<long, true>;

// Runs a task to the end (nested ones too) and returns its result: resumes the innermost waiting
// coroutine, and completes the Operation a WithOp awaitable waits on.
template <class T>
zsync::Result<long> drive(T t) {
    auto root = t.get();
    std::coroutine_handle<> next = root;
    while (!root.done()) {
        waiting = nullptr;
        pending = nullptr;
        next.resume();
        if (pending) pending->result = std::uint64_t{0};
        next = waiting ? waiting : std::coroutine_handle<>(root);
    }
    return std::move(root.promise().value());
}

}  // namespace co

// ---- frames: init, drive, destroy ------------------------------------------------------------------

namespace {

template <class R>
struct Raw {
    alignas(R) std::byte bytes[sizeof(R)];
    R* ptr() noexcept { return std::launder(reinterpret_cast<R*>(bytes)); }
};

template <auto F>
constexpr bool has_frame() { return zsync::frame_of<F>::generated; }

// The descriptor as a backend has it: a pointer it cannot see through. (With the descriptor a constant,
// clang inlines the whole state machine into this file's driver loop, which does nothing between two
// resumes, and folds the loop's suspensions away: that measures nothing.)
template <auto F>
const zsync::FrameDescriptor* opaque_descriptor() {
    static const zsync::FrameDescriptor* volatile d;
    d = zsync::frame_of<F>::descriptor;
    return d;
}

// async_init<F> into `memory` (frame_size<F> bytes at frame_align<F>); nullptr when F has no frame.
template <auto F, class... A>
[[gnu::always_inline]] inline void* init_frame(std::byte* memory, A... args) noexcept {
    if constexpr (has_frame<F>()) {
        auto r = zsync::async_init<F>(std::span<std::byte>(memory, zsync::frame_size<F>), args...);
        return r ? *r : nullptr;
    } else {
        return nullptr;
    }
}

// Runs F's frame in memory on this stack, as the executor loop of docs/frame-abi.md does.
template <auto F, class... A>
zsync::Result<long> run_frame(A... args) {
    if constexpr (has_frame<F>()) {
        alignas(zsync::frame_align<F>) std::byte memory[zsync::frame_size<F>];
        const zsync::FrameDescriptor* d = zsync::frame_of<F>::descriptor;
        if (!init_frame<F>(memory, args...)) return zsync::Error(zsync::Errc::invalid_argument, zsync::Op::run);
        while (zsync::Operation* op = d->resume(memory)) op->result = std::uint64_t{0};
        Raw<zsync::Result<long>> out;
        d->take_result(memory, out.ptr());
        d->destroy(memory);
        zsync::Result<long> r = std::move(*out.ptr());
        std::destroy_at(out.ptr());
        return r;
    } else {
        return zsync::Error(zsync::Errc::not_in_frame, zsync::Op::run);
    }
}

}  // namespace

// ---- the measured functions (callgrind collects these only) -----------------------------------------

extern "C" {

// Drives a frame to the end; returns the number of suspensions.
[[gnu::noinline]] std::uint64_t zsync_bench_frames_resume_frame(const zsync::FrameDescriptor* d, void* frame) {
    std::uint64_t k = 0;
    while (zsync::Operation* op = d->resume(frame)) {
        op->result = std::uint64_t{0};
        ++k;
    }
    return k;
}

// Drives a coroutine to the end; returns the number of suspensions.
[[gnu::noinline]] std::uint64_t zsync_bench_frames_resume_coro(void* address) {
    auto h = std::coroutine_handle<>::from_address(address);
    std::uint64_t k = 0;
    while (!h.done()) {
        h.resume();
        ++k;
    }
    return k - 1;  // the last resume finished it
}

// The same for a WithOp coroutine: completes the Operation it waits on, as the frame's driver does.
[[gnu::noinline]] std::uint64_t zsync_bench_frames_resume_coro_op(void* address) {
    auto h = std::coroutine_handle<>::from_address(address);
    std::uint64_t k = 0;
    for (;;) {
        h.resume();
        if (h.done()) break;
        co::pending->result = std::uint64_t{0};
        ++k;
    }
    return k;
}

// @asyncInit of fb::sum_loop into `memory` (on the caller's stack).
[[gnu::noinline]] void* zsync_bench_frames_init_frame(std::byte* memory, zsync::Io io, int n) {
    return init_frame<&fb::sum_loop>(memory, io, n);
}

// Creates co::sum_loop_co (heap frame) up to its initial suspension.
[[gnu::noinline]] void* zsync_bench_frames_init_coro(zsync::Io io, int n) {
    return co::sum_loop_co<co::Plain, co::Minimal>(io, n).release();
}

[[gnu::noinline]] void* zsync_bench_frames_init_coro_op(zsync::Io io, int n) {
    return co::sum_loop_co<co::Plain, co::WithOp>(io, n).release();
}

}  // extern "C"

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "error: %s\n", what);
    std::exit(1);
}

// A pointer as the measured code sees it: read back from volatile storage.
void* opaque_address(void* p) {
    static void* volatile a;
    a = p;
    return a;
}

bool alloc_counting() {
    long before = zsync::test::total_allocations.load();
    ::operator delete(::operator new(1));
    return zsync::test::total_allocations.load() != before;
}

constexpr std::size_t loop_size = zsync::frame_size<&fb::sum_loop>;
constexpr std::size_t loop_align = zsync::frame_align<&fb::sum_loop>;
// Storage for one sum_loop frame on the caller's stack (1 byte while the generator parses this file).
struct alignas(loop_align ? loop_align : 1) LoopMemory {
    std::byte bytes[loop_size ? loop_size : 1];
};

constexpr long loop_sum(int n) { return long(n) * (n - 1) / 2; }

// -- resume: one suspension per iteration of a loop of n ----------------------------------------------

std::uint64_t resume_frame(int n) {
    LoopMemory m;
    const zsync::FrameDescriptor* d = opaque_descriptor<&fb::sum_loop>();
    if (!zsync_bench_frames_init_frame(m.bytes, zsync::Io{}, n)) fail("async_init failed");
    std::uint64_t k = zsync_bench_frames_resume_frame(d, m.bytes);
    Raw<zsync::Result<long>> out;
    d->take_result(m.bytes, out.ptr());
    d->destroy(m.bytes);
    if (!*out.ptr() || **out.ptr() != loop_sum(n)) fail("frame: wrong result");
    std::destroy_at(out.ptr());
    return k;
}

std::uint64_t resume_coro(int n, bool with_op) {
    void* a = with_op ? zsync_bench_frames_init_coro_op(zsync::Io{}, n) : zsync_bench_frames_init_coro(zsync::Io{}, n);
    co::Plain t(co::Plain::handle::from_address(a));
    std::uint64_t k = with_op ? zsync_bench_frames_resume_coro_op(opaque_address(a)) : zsync_bench_frames_resume_coro(opaque_address(a));
    if (!t.get().promise().value() || *t.get().promise().value() != loop_sum(n)) fail("coroutine: wrong result");
    return k;
}

// -- init: `iters` inits (measured) each followed by a destroy (not measured) ----------------------------

long init_frames(std::uint64_t iters) {
    LoopMemory m;
    const zsync::FrameDescriptor* d = opaque_descriptor<&fb::sum_loop>();
    long before = zsync::test::total_allocations.load();
    for (std::uint64_t i = 0; i < iters; ++i) {
        if (!zsync_bench_frames_init_frame(m.bytes, zsync::Io{}, 3)) fail("async_init failed");
        d->destroy(m.bytes);
    }
    return zsync::test::total_allocations.load() - before;
}

long init_coros(std::uint64_t iters) {
    long before = zsync::test::total_allocations.load();
    for (std::uint64_t i = 0; i < iters; ++i) {
        void* a = zsync_bench_frames_init_coro(zsync::Io{}, 3);
        std::coroutine_handle<>::from_address(opaque_address(a)).destroy();
    }
    return zsync::test::total_allocations.load() - before;
}

// -- sizes -----------------------------------------------------------------------------------------------

// Creates a task in a function of its own that returns the handle: without this, clang elides the heap
// allocation of a coroutine whose handle does not escape (it did here, at -O3), and there is no size to see.
template <class Make>
[[gnu::noinline]] void* create(Make make) {
    return opaque_address(make().release());
}

struct CoSize {
    std::size_t bytes;  // the coroutine's frame; nested: the most bytes of frames alive at once
    std::size_t count;  // frames allocated
    long result;
};

template <class Make>
CoSize coroutine_size(Make make) {
    using T = decltype(make());
    co::Track::reset();
    CoSize s{};
    {
        T t(T::handle::from_address(create(make)));
        auto r = co::drive(std::move(t));
        s.result = r ? *r : -1;
    }
    s.bytes = co::Track::peak;
    s.count = co::Track::count;
    if (co::Track::live != 0) fail("a coroutine frame was not freed");
    return s;
}

void print_sizes(zsync::Io blocking) {
    struct Row {
        const char* name;
        std::size_t frame;
        CoSize coro, coro_op;
        long frame_result, plain_result;
    };
    const int n = 5;
    auto v = [](zsync::Result<long> r) { return r ? *r : -1; };
    const zsync::Io none{};
    using co::Minimal, co::WithOp, co::Tracked;
    Row rows[] = {
        {"loop", zsync::frame_size<&fb::sum_loop>,
         coroutine_size([&] { return co::sum_loop_co<Tracked, Minimal>(none, n); }),
         coroutine_size([&] { return co::sum_loop_co<Tracked, WithOp>(none, n); }),
         v(run_frame<&fb::sum_loop>(none, n)), v(fb::sum_loop(blocking, n))},
        {"string", zsync::frame_size<&fb::hold_string>,
         coroutine_size([&] { return co::hold_string_co<Tracked, Minimal>(none, n); }),
         coroutine_size([&] { return co::hold_string_co<Tracked, WithOp>(none, n); }),
         v(run_frame<&fb::hold_string>(none, n)), v(fb::hold_string(blocking, n))},
        {"buffer4k", zsync::frame_size<&fb::hold_buffer>,
         coroutine_size([&] { return co::hold_buffer_co<Tracked, Minimal>(none, n); }),
         coroutine_size([&] { return co::hold_buffer_co<Tracked, WithOp>(none, n); }),
         v(run_frame<&fb::hold_buffer>(none, n)), v(fb::hold_buffer(blocking, n))},
        {"nested", zsync::frame_size<&fb::nested>,
         coroutine_size([&] { return co::nested_co<Tracked, Minimal>(none, n); }),
         coroutine_size([&] { return co::nested_co<Tracked, WithOp>(none, n); }),
         v(run_frame<&fb::nested>(none, n)), v(fb::nested(blocking, n))},
    };
    for (const Row& r : rows) {
        if (r.frame == 0) fail("a function has no frame (was this file compiled through zsync-gen?)");
        if (r.frame_result != r.plain_result || r.coro.result != r.plain_result || r.coro_op.result != r.plain_result) {
            std::fprintf(stderr, "%s: plain %ld, frame %ld, coroutines %ld / %ld\n", r.name, r.plain_result,
                         r.frame_result, r.coro.result, r.coro_op.result);
            fail("the frame, the coroutines and the plain function disagree");
        }
        std::printf("figure frames.size.%s.frame %zu bytes\n", r.name, r.frame);
        std::printf("figure frames.size.%s.coro %zu bytes frames=%zu\n", r.name, r.coro.bytes, r.coro.count);
        std::printf("figure frames.size.%s.coro_op %zu bytes frames=%zu\n", r.name, r.coro_op.bytes, r.coro_op.count);
        std::printf("figure frames.size.%s.frame_over_coro.ratio %.3f\n", r.name, double(r.frame) / double(r.coro.bytes));
        std::printf("figure frames.size.%s.frame_over_coro_op.ratio %.3f\n", r.name, double(r.frame) / double(r.coro_op.bytes));
    }
    std::printf("figure frames.size.operation %zu bytes\n", sizeof(zsync::Operation));
}

void check_wrappers(zsync::Io blocking) {
    constexpr std::size_t size = zsync::frame_size<&fb::w10>;
    if (size == 0) fail("fb::w10 has no frame (was this file compiled through zsync-gen?)");
    zsync::Result<long> r = run_frame<&fb::w10>(zsync::Io{});
    zsync::Result<long> p = fb::w10(blocking);
    if (!r || *r != fb::w10_expected || !p || *p != fb::w10_expected) fail("ten wrappers: wrong result");
    std::printf("figure frames.w10.frame_size %zu bytes bound=%zu W=%zu L=%zu T=%zu\n", size, fb::w10_bound,
                fb::wrapper_locals, fb::leaf_state, fb::top_state);
}

}  // namespace

int main(int argc, char** argv) {
    bench::Args args{argc, argv};
    const std::string mode(args.get("--mode", "wall"));
    const std::uint64_t iters = args.num("--iters", 1000000);
    if (iters == 0 || iters > 1'000'000'000) fail("--iters must be in 1..10^9");
    const int n = int(iters);

    zsync::BlockingIo blocking;
    print_sizes(blocking.io());
    check_wrappers(blocking.io());
    const bool counting = alloc_counting();

    if (mode == "resume_frame" || mode == "resume_coro" || mode == "resume_coro_op") {
        // One run of each kind first, so lazy binding is not in the measured run.
        std::uint64_t k = mode == "resume_frame" ? (resume_frame(1), resume_frame(n))
                        : mode == "resume_coro" ? (resume_coro(1, false), resume_coro(n, false))
                        : (resume_coro(1, true), resume_coro(n, true));
        if (k != iters) fail("wrong number of suspensions");
        std::printf("figure frames.%s.suspensions %llu count\n", mode.c_str(), (unsigned long long)k);
        return 0;
    }
    if (mode == "init_frame" || mode == "init_coro") {
        auto init = mode == "init_frame" ? init_frames : init_coros;
        init(1);
        long allocs = init(iters);
        if (counting)
            std::printf("figure frames.%s.allocations_per_init %.3f count allocations=%ld iters=%llu\n", mode.c_str(),
                        double(allocs) / double(iters), allocs, (unsigned long long)iters);
        else
            std::printf("figure frames.%s.allocations_per_init n/a (operator new is not replaced in this build)\n", mode.c_str());
        return 0;
    }
    if (mode != "wall") {
        std::fprintf(stderr, "unknown mode %s (resume_frame|resume_coro|resume_coro_op|init_frame|init_coro|wall)\n", mode.c_str());
        return 2;
    }

    // Allocations per init, in this process.
    if (counting) {
        std::printf("figure frames.init.frame.allocations_per_init %.3f count\n", double(init_frames(1000)) / 1000);
        std::printf("figure frames.init.coro.allocations_per_init %.3f count\n", double(init_coros(1000)) / 1000);
    }

    const std::uint64_t runs = args.num("--runs", 7);
    const std::uint64_t init_iters = std::max<std::uint64_t>(iters / 10, 1);
    // 0 resume frame, 1 resume coroutine, 2 resume WithOp coroutine, 3 init+destroy frame,
    // 4 create+destroy coroutine.
    constexpr int modes = 5;
    std::vector<double> ns[modes], resume_ratio, resume_op_ratio, init_ratio;
    auto run = [&](int m) {
        double t0 = bench::now_ns();
        switch (m) {
            case 0: if (resume_frame(n) != iters) fail("frame: wrong count"); break;
            case 1: if (resume_coro(n, false) != iters) fail("coroutine: wrong count"); break;
            case 2: if (resume_coro(n, true) != iters) fail("coroutine: wrong count"); break;
            case 3: init_frames(init_iters); break;
            default: init_coros(init_iters); break;
        }
        return (bench::now_ns() - t0) / double(m < 3 ? iters : init_iters);
    };
    for (int m = 0; m < modes; ++m) run(m);  // untimed round
    for (std::uint64_t r = 0; r < runs; ++r) {
        double t[modes];
        for (int k = 0; k < modes; ++k) {
            int m = int((k + r) % modes);
            t[m] = run(m);
            ns[m].push_back(t[m]);
        }
        resume_ratio.push_back(t[0] / t[1]);
        resume_op_ratio.push_back(t[0] / t[2]);
        init_ratio.push_back(t[3] / t[4]);
    }
    bench::print_summary("frames.resume.frame.ns_per_resume", "ns", ns[0]);
    bench::print_summary("frames.resume.coro.ns_per_resume", "ns", ns[1]);
    bench::print_summary("frames.resume.coro_op.ns_per_resume", "ns", ns[2]);
    bench::print_summary("frames.resume.frame_over_coro.ratio", "x", resume_ratio);
    bench::print_summary("frames.resume.frame_over_coro_op.ratio", "x", resume_op_ratio);
    bench::print_summary("frames.init.frame.ns_per_init_destroy", "ns", ns[3]);
    bench::print_summary("frames.init.coro.ns_per_init_destroy", "ns", ns[4]);
    bench::print_summary("frames.init.frame_over_coro.ratio", "x", init_ratio);
    return 0;
}
