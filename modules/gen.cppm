// zsync:gen — the small vocabulary zsync-gen's output is written in (docs/generator.md).
//
// Generated frames hold each local that lives across a suspension in a Slot (raw storage constructed
// and destroyed explicitly, so a resume can jump past its declaration), convert a finished leaf
// Operation into the result its library wrapper returns, and adapt a frame's typed functions to the
// type-erased FrameDescriptor of docs/frame-abi.md. Nothing here is for hand-written code.
module;
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <tuple>
#include <type_traits>
#include <utility>
export module zsync:gen;
import :error;
import :result;
import :operation;
import :task;

export namespace zsync::gen {

// Storage for one T that the frame constructs and destroys itself. Trivial, so it can sit in the
// unions that overlap the storage of scopes whose lifetimes do not overlap.
template <class T>
struct Slot {
    alignas(T) std::byte bytes[sizeof(T)];
    inline T* ptr() noexcept { return std::launder(reinterpret_cast<T*>(bytes)); }
    inline T& get() noexcept { return *ptr(); }
    inline void destroy() noexcept { std::destroy_at(ptr()); }
};

// A trivial local with no initializer (an array, say), held as it is.
template <class T>
using Plain = T;

// Raw storage for a callee's frame embedded in its caller's (overlapping with its siblings').
template <std::size_t Size, std::size_t Align>
struct Storage {
    alignas(Align) std::byte bytes[Size];
};

// What the library's leaf wrappers (Io::sleep_until, File::read, ...) return, from the Operation the
// executor completed: the same values the stackful wrappers compute.
inline Result<void> leaf_void(const Operation& op) noexcept {
    if (!op.result) return op.result.error();
    return {};
}
inline Result<std::size_t> leaf_size(const Operation& op) noexcept {
    if (!op.result) return op.result.error();
    return static_cast<std::size_t>(*op.result);
}
inline Result<std::uint64_t> leaf_u64(const Operation& op) noexcept { return op.result; }
inline Result<PollEvents> leaf_poll(const Operation& op) noexcept {
    if (!op.result) return op.result.error();
    return poll_events_of(*op.result);
}

// Constructs a T at `p` from what `make` returns: a prvalue, so the T is built in place (the same
// copy elision as the declaration, parameter or return it stands for). Default-init: emplace_default.
template <class T, class Make>
inline void emplace(T* p, Make&& make) {
    ::new (const_cast<void*>(static_cast<const volatile void*>(p))) T(static_cast<Make&&>(make)());
}
template <class T>
inline void emplace_default(T* p) {
    ::new (const_cast<void*>(static_cast<const volatile void*>(p))) T;
}
template <class T>
inline void destroy(T* p) noexcept { std::destroy_at(p); }
// Constructs a frame type in raw storage (frames are plain structs; their members are Slots).
template <class Frame>
inline Frame* begin_frame(void* memory) noexcept { return ::new (memory) Frame; }
template <class Frame>
inline Frame* frame_at(void* memory) noexcept { return std::launder(static_cast<Frame*>(memory)); }

// The FrameDescriptor of a generated frame type `Frame` for the annotated function F, whose declared
// result is R (void allowed). Frame provides zs_start(void*, R* dest, P&&... params) (dest absent for
// void), zs_resume(void*) and zs_destroy(void*), and keeps its int zs_state (-1 once finished). The
// descriptor's frame is Top: the function's frame, the result it constructs in place, and, when F
// takes references, the argument block they refer to (a task's block outlives nothing else).
template <auto F, class Frame, class R, bool KeepArgs>
struct Abi {
    using Args = typename frame_args<F>::type;
    using Out = as_result_t<R>;
    struct NoArgs {};
    struct NoResult {};
    struct Top {
        Frame frame;
        std::conditional_t<std::is_void_v<R>, NoResult, Slot<std::conditional_t<std::is_void_v<R>, int, R>>> result;
        std::conditional_t<KeepArgs, Slot<Args>, NoArgs> args;
        bool taken = false;
        bool threw = false;  // an exception left the function: the result is task_threw
    };

    static void init(void* memory, void* args) noexcept {
        Args* a = static_cast<Args*>(args);
        Top* t = ::new (memory) Top;
        if constexpr (KeepArgs) {
            ::new (static_cast<void*>(t->args.ptr())) Args(std::move(*a));
            std::destroy_at(a);
            a = t->args.ptr();
        }
        std::apply([t](auto&... p) {
            if constexpr (std::is_void_v<R>) Frame::zs_start(&t->frame, p...);
            else Frame::zs_start(&t->frame, t->result.ptr(), p...);
        }, a->args);
        if constexpr (!KeepArgs) std::destroy_at(a);
    }
    // No exception crosses the ABI (docs/frame-abi.md): one that leaves the function has already
    // unwound the frame (it is finished) and becomes the task's task_threw, as on a stackful backend.
    static Operation* resume(void* memory) noexcept {
        Top* t = static_cast<Top*>(memory);
#if defined(__cpp_exceptions)
        try {
            return Frame::zs_resume(&t->frame);
        } catch (...) {
            t->threw = true;
            return nullptr;
        }
#else
        return Frame::zs_resume(&t->frame);
#endif
    }
    static void take_result(void* memory, void* result) noexcept {
        Top* t = static_cast<Top*>(memory);
        if (t->threw) {
            std::construct_at(static_cast<Out*>(result), Error(Errc::task_threw, Op::async));
        } else if constexpr (std::is_void_v<R>) {
            std::construct_at(static_cast<Out*>(result));
        } else {
            std::construct_at(static_cast<Out*>(result), std::move(t->result.get()));
            t->result.destroy();
        }
        t->taken = true;
    }
    static void destroy(void* memory) noexcept {
        Top* t = static_cast<Top*>(memory);
        const bool finished = t->frame.zs_state == -1 && !t->threw;
        Frame::zs_destroy(&t->frame);
        if constexpr (!std::is_void_v<R>) {
            if (finished && !t->taken) t->result.destroy();
        }
        if constexpr (KeepArgs) t->args.destroy();
        std::destroy_at(t);
    }
    static constexpr std::size_t size = sizeof(Top);
    static constexpr std::size_t align = alignof(Top);
    // The descriptor of this frame, named `name` (the function's qualified name) for diagnostics. It
    // records the argument block init reads, so a task that passes another is refused (frame_mismatch).
    static consteval FrameDescriptor describe(const char* name) noexcept {
        return FrameDescriptor{frame_abi_version, static_cast<std::uint32_t>(size), static_cast<std::uint32_t>(align), 0,
                               static_cast<std::uint32_t>(sizeof(Args)), static_cast<std::uint32_t>(alignof(Args)),
                               type_signature<Args>(), &init, &resume, &take_result, &destroy, name};
    }
};

}  // namespace zsync::gen
