// zsync:task — task descriptors, the frame ABI, and the registry keyed by function address.
//
// Backends never see user types (DESIGN.md §2): a task reaches them as a TaskDescriptor (sizes,
// alignments and type-erased functions for one argument/result signature), an argument block, and the
// user function's address. The frame ABI below is what zsync-gen targets; docs/frame-abi.md is its
// normative description and must change together with this file.
module;
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
export module zsync:task;
import :error;
import :result;
import :operation;

export namespace zsync {

// Bumped on any incompatible change to TaskDescriptor or FrameDescriptor.
inline constexpr std::uint32_t frame_abi_version = 2;

// A compile-time fingerprint of an argument block's layout: the number of stored values and, for each
// in order, its size, alignment and kind (signed or unsigned integer, floating point, pointer, enum,
// trivially copyable class, other class...). Two argument blocks of one type always agree, in every
// translation unit (the compiler's spelling of a type is not used: it keeps typedef sugar that differs
// between translation units). The frame registry compares it, with the size and alignment, so that a
// frame built for other parameters (a stale object, another overload) is refused instead of reading a
// block of another layout: it tells int from float and a reordering of different parameters apart,
// not two classes of the same shape.
template <class T>
consteval std::uint64_t value_signature() noexcept {
    std::uint64_t kind = std::is_integral_v<T> ? (std::is_signed_v<T> ? 1 : 2)
                         : std::is_floating_point_v<T> ? 3
                         : std::is_pointer_v<T> ? (std::is_function_v<std::remove_pointer_t<T>> ? 4 : 5)
                         : std::is_enum_v<T> ? 6
                         : std::is_empty_v<T> ? 7
                         : std::is_trivially_copyable_v<T> ? 8
                         : 9;
    return (static_cast<std::uint64_t>(sizeof(T)) << 16) ^ (static_cast<std::uint64_t>(alignof(T)) << 8) ^ kind;
}
template <class T>
struct block_signature;
template <template <class, class...> class Block, class Fn, class... A>
struct block_signature<Block<Fn, A...>> {
    static consteval std::uint64_t value() noexcept {
        std::uint64_t h = 0xcbf29ce484222325ull;
        auto mix = [&h](std::uint64_t v) { h = (h ^ v) * 0x100000001b3ull; };
        mix(sizeof...(A));
        mix(value_signature<Fn>());
        (mix(value_signature<A>()), ...);
        return h;
    }
};
// The fingerprint of an argument block TaskArgs<Fn, A...> (see above).
template <class Block>
consteval std::uint64_t type_signature() noexcept { return block_signature<Block>::value(); }

// How to run one task signature. One static instance per (function type, argument types); immutable.
//
// Ownership of the argument block: the caller constructs it and hands it to a task-core slot. A slot
// that succeeds consumes it (start, relocate_args or discard_args runs exactly once); a slot that fails
// leaves it untouched and the caller destroys it.
struct TaskDescriptor {
    std::uint32_t abi_version;
    std::uint32_t args_size, args_align;
    std::uint32_t result_size, result_align;  // of the task's Result<U>
    std::uint64_t args_signature;             // type_signature of the argument block
    // Runs the task: calls the function with the arguments (moved out of `args`), destroys the argument
    // block, and constructs the Result<U> in `result`. Never throws: an exception becomes task_threw.
    void (*start)(void* args, void* result) noexcept;
    // Move-constructs the argument block at `dst` from `src` and destroys `src` (a backend that queues).
    void (*relocate_args)(void* dst, void* src) noexcept;
    // Destroys an argument block whose task will never start.
    void (*discard_args)(void* args) noexcept;
    // Move-constructs the Result<U> at `dst` from `src` and destroys `src`.
    void (*relocate_result)(void* dst, void* src) noexcept;
    // Destroys a Result<U> nobody will take (a Group's tasks): resources it holds are released.
    void (*discard_result)(void* result) noexcept;
    // Constructs the Result<U> at `result` as the error `e` (a task that never ran, a backend gone).
    void (*fail)(void* result, Error e) noexcept;
};

// What async, concurrent and group_async receive: the descriptor, the argument block, and the
// function's identity (its address), by which a backend that runs frames finds the FrameDescriptor.
struct TaskStart {
    const TaskDescriptor* descriptor;
    void* args;
    const void* function;
};

// A stackless frame, as zsync-gen emits one per annotated function (docs/frame-abi.md). The frame is
// `size` bytes at `align` in memory the executor owns; it never moves once initialised.
struct FrameDescriptor {
    std::uint32_t abi_version;
    std::uint32_t size, align;
    std::uint32_t flags;  // reserved, 0
    // The argument block init reads (frame_args<F>): a task whose block differs in any of the three
    // is refused by find_frame(const TaskStart&) with Errc::frame_mismatch.
    std::uint32_t args_size, args_align;
    std::uint64_t args_signature;
    // @asyncInit: constructs the frame from the task's argument block (consumes it). Runs no user code
    // and never allocates.
    void (*init)(void* frame, void* args) noexcept;
    // @asyncResume: runs the frame until it waits or finishes. Returns the Operation it waits on (which
    // lives inside the frame; the executor performs it, fills its `result`, and resumes again), or
    // nullptr when the function has returned.
    Operation* (*resume)(void* frame) noexcept;
    // Moves the function's Result<U> out of a finished frame into `result` (constructed there).
    void (*take_result)(void* frame, void* result) noexcept;
    // Destroys the frame, finished or suspended. For a suspended frame the executor first cancels the
    // pending Operation and waits until the OS has released its buffers; destroy then runs the
    // destructors of everything alive at that suspension point, innermost first, and never suspends.
    void (*destroy)(void* frame) noexcept;
    const char* name;  // the function's qualified name, for diagnostics
};

// A registry entry. Generated code defines one per function, with static storage, and registers it
// before main; entries are never removed.
struct FrameRegistration {
    const void* function;
    const FrameDescriptor* frame;
    FrameRegistration* next = nullptr;  // owned by the registry
};

// Adds `entry` to the registry. Thread-safe, lock-free, no allocation. A function already registered
// keeps its entry (two concurrent registrations of one function are harmless: both describe it).
// Returns false (and ignores the entry) when its frame was built for another frame_abi_version.
bool register_frame(FrameRegistration& entry) noexcept;
// The frame for the function at `function`, or nullptr if none was generated. Thread-safe, lock-free.
// Does not check the argument block: a backend starting a task uses find_frame(const TaskStart&).
const FrameDescriptor* find_frame(const void* function) noexcept;

// What a backend that runs frames learns about a started task: the frame to drive, or why not.
struct FrameLookup {
    // The frame, when one is registered for the task's function and reads exactly the task's argument
    // block; nullptr otherwise (run the stackful start, or refuse).
    const FrameDescriptor* frame = nullptr;
    // Errc::ok when `frame` is set or the function has no frame; Errc::frame_mismatch (op async) when
    // a frame is registered for the function but reads another argument block: running it would read
    // the block with the wrong layout, so it must not run.
    Error error{Errc::ok, Op::async};
    // The registered function's name (the descriptor's), for a mismatch; nullptr otherwise.
    const char* function = nullptr;
    // "frame of `ns::f` reads a 24-byte argument block (align 8, signature ...) but the task passed ...".
    // Allocates; for logs and error reports.
    std::string message(const TaskStart& task) const;
};
// The frame for a started task, checked against its argument block (size, alignment, signature).
// Thread-safe, lock-free, never allocates.
FrameLookup find_frame(const TaskStart& task) noexcept;

// The argument block of a task (part of the frame ABI: a frame's init reads its arguments from it):
// the callable and its decayed arguments, in this order.
template <class Fn, class... A>
struct TaskArgs {
    using Tuple = std::tuple<A...>;
    Fn fn;
    std::tuple<A...> args;
};

template <class F>
const void* function_identity(F* f) noexcept {
    return reinterpret_cast<const void*>(f);
}

// ---- What zsync-gen emits per annotated function F (docs/frame-abi.md §4) ------------------------
// `frame_of<&f>` is specialised by the generated code right after f's definition, so it is usable
// (in a static_assert too) anywhere after f in that translation unit. The primary template says "no
// frame": such an F runs only on stackful backends.
template <auto F>
struct frame_of {
    static constexpr bool generated = false;
    static constexpr std::size_t size = 0, align = 0;
    static constexpr const FrameDescriptor* descriptor = nullptr;
};
// @asyncFrameSize / alignment of F's frame: compile-time constants (0 when F has no frame).
template <auto F> inline constexpr std::size_t frame_size = frame_of<F>::size;
template <auto F> inline constexpr std::size_t frame_align = frame_of<F>::align;

// The argument block a frame's init reads: F's own decayed parameter types (what async_init builds).
template <auto F, class = decltype(F)> struct frame_args;
template <auto F, class R, class... P>
struct frame_args<F, R (*)(P...) noexcept> { using type = TaskArgs<decltype(F), std::decay_t<P>...>; };
template <auto F, class R, class... P>
struct frame_args<F, R (*)(P...)> { using type = TaskArgs<decltype(F), std::decay_t<P>...>; };

// @asyncInit: constructs F's frame from `args...` in `memory`, which the caller owns; never allocates
// and runs none of F's code. Fails (invalid_argument) when `memory` is smaller than frame_size<F> or
// misaligned. Drive the result with descriptor->resume until it returns nullptr, then take_result and
// destroy (drive_frame does all of it).
template <auto F, class... A>
    requires(frame_of<F>::generated)
Result<void*> async_init(std::span<std::byte> memory, A&&... args) noexcept {
    if (memory.size() < frame_size<F> || reinterpret_cast<std::uintptr_t>(memory.data()) % frame_align<F> != 0)
        return Error(Errc::invalid_argument, Op::run);
    typename frame_args<F>::type block{F, {std::forward<A>(args)...}};
    frame_of<F>::descriptor->init(memory.data(), &block);
    return static_cast<void*>(memory.data());
}

}  // namespace zsync

namespace zsync::detail {

template <class Fn, class... A>
using task_return_t = std::invoke_result_t<Fn&&, A&&...>;

// One descriptor per signature. `R` is the Result<U> the task produces.
template <class Fn, class... A>
struct TaskImpl {
    using Args = TaskArgs<Fn, A...>;
    using Raw = task_return_t<Fn, A...>;
    using R = as_result_t<Raw>;

    static void start(void* a, void* r) noexcept {
        Args* p = static_cast<Args*>(a);
#if defined(__cpp_exceptions)
        try {
#endif
            if constexpr (std::is_void_v<Raw>) {
                std::apply(std::move(p->fn), std::move(p->args));
                std::construct_at(static_cast<R*>(r));
            } else {
                std::construct_at(static_cast<R*>(r), std::apply(std::move(p->fn), std::move(p->args)));
            }
#if defined(__cpp_exceptions)
        } catch (...) {
            std::construct_at(static_cast<R*>(r), Error(Errc::task_threw, Op::async));
        }
#endif
        std::destroy_at(p);
    }
    static void relocate_args(void* dst, void* src) noexcept {
        Args* s = static_cast<Args*>(src);
        std::construct_at(static_cast<Args*>(dst), std::move(*s));
        std::destroy_at(s);
    }
    static void discard_args(void* a) noexcept { std::destroy_at(static_cast<Args*>(a)); }
    static void relocate_result(void* dst, void* src) noexcept {
        R* s = static_cast<R*>(src);
        std::construct_at(static_cast<R*>(dst), std::move(*s));
        std::destroy_at(s);
    }
    static void discard_result(void* r) noexcept { std::destroy_at(static_cast<R*>(r)); }
    static void fail(void* r, Error e) noexcept { std::construct_at(static_cast<R*>(r), e); }

    static constexpr TaskDescriptor descriptor{
        frame_abi_version,
        sizeof(Args), alignof(Args), sizeof(R), alignof(R), type_signature<Args>(),
        &start, &relocate_args, &discard_args, &relocate_result, &discard_result, &fail,
    };
};

// Identity of a callable for the frame registry: the function's address for a function or function
// pointer, nullptr for other callables (lambdas never have frames of their own).
// `Fn` is the decayed callable type, so a function named directly (an lvalue of function type), through
// a reference or as &f all give its address.
template <class Fn, class F>
const void* identity_of(const F& f) noexcept {
    if constexpr (std::is_pointer_v<Fn> && std::is_function_v<std::remove_pointer_t<Fn>>)
        return reinterpret_cast<const void*>(static_cast<Fn>(f));
    else
        return nullptr;
}

}  // namespace zsync::detail
