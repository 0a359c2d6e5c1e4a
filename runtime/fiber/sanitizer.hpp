// Sanitizer hooks for every context switch (ASan's fake-stack/stack-bounds hand-over, TSan's fibers) and
// the C++ runtime's per-thread exception state, which must follow the fiber, not the thread.
//
// Each execution context (a thread's own stack or a fiber) owns one SwitchState. A switch from A to B is:
//   leave(A, B, a_finished)  -> ctx::jump / ctx::ontop ->  arrive(B, A)   (arrive runs on B's stack)
// where B's first arrive happens in its entry. Without sanitizers the ASan/TSan parts compile to nothing.
#pragma once
#include <cstddef>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ZSYNC_FIBER_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define ZSYNC_FIBER_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(ZSYNC_FIBER_ASAN)
#define ZSYNC_FIBER_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__) && !defined(ZSYNC_FIBER_TSAN)
#define ZSYNC_FIBER_TSAN 1
#endif

// The hand-over functions and the jump itself straddle two stacks: a sanitizer's function entry/exit
// bookkeeping there would be pushed on one fiber's shadow stack and popped from the other's (TSan crashed
// after ~10k switches that way). They touch no user data, so they are built without instrumentation.
#if defined(__has_attribute)
#if __has_attribute(disable_sanitizer_instrumentation)
#define ZSYNC_FIBER_UNINSTRUMENTED __attribute__((disable_sanitizer_instrumentation))
#endif
#endif
#ifndef ZSYNC_FIBER_UNINSTRUMENTED
#define ZSYNC_FIBER_UNINSTRUMENTED
#endif

#if ZSYNC_FIBER_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#if ZSYNC_FIBER_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#include <cxxabi.h>  // abi::__cxa_get_globals: this thread's exception state (libstdc++ and libc++abi)

namespace zsync::rt::fiber {

// The Itanium C++ ABI's __cxa_eh_globals (libstdc++ and libc++abi agree on these two fields): the stack of
// caught exceptions (std::current_exception, `throw;`) and std::uncaught_exceptions().
struct EhGlobals {
    void* caught = nullptr;
    unsigned int uncaught = 0;
};

// This thread's __cxa_eh_globals, looked up once per thread: abi::__cxa_get_globals is a call through
// the PLT and __tls_get_addr on every switch. Never inlined: a fiber may continue on another thread
// after a switch, and a thread_local's address computed before the switch must not be reused after.
[[gnu::noinline]] inline EhGlobals* eh_globals() noexcept {
    // __cxa_eh_globals is opaque in <cxxabi.h>; its first two fields are EhGlobals' (Itanium C++ ABI).
    // Its address is fixed for the thread's life (libstdc++: a thread_local; libc++abi: made once).
    thread_local EhGlobals* g = nullptr;
    if (!g) g = reinterpret_cast<EhGlobals*>(abi::__cxa_get_globals());
    return g;
}

struct SwitchState {
    EhGlobals eh{};
    const void* stack_bottom = nullptr;  // lowest usable address (ASan); a thread's is learned on its first switch
    std::size_t stack_size = 0;
    void* asan_fake_stack = nullptr;
    void* tsan_fiber = nullptr;  // owned when made by make_fiber_state()
};

// A fiber's state before its first switch (TSan: a new fiber; ASan: the stack it will run on).
inline void make_fiber_state(SwitchState& s, const void* bottom, std::size_t size) noexcept {
    s = SwitchState{};
    s.stack_bottom = bottom;
    s.stack_size = size;
#if ZSYNC_FIBER_TSAN
    s.tsan_fiber = __tsan_create_fiber(0);
#endif
}

// The calling thread's own state (TSan: the thread's current fiber, which it owns).
inline void make_thread_state(SwitchState& s) noexcept {
    s = SwitchState{};
#if ZSYNC_FIBER_TSAN
    s.tsan_fiber = __tsan_get_current_fiber();
#endif
}

// Releases what make_fiber_state made; the fiber is never switched to again.
inline void destroy_fiber_state(SwitchState& s) noexcept {
#if ZSYNC_FIBER_TSAN
    if (s.tsan_fiber) __tsan_destroy_fiber(s.tsan_fiber);
#endif
    s.tsan_fiber = nullptr;
}

// Just before the jump from `self` to `to`. `self_finished`: self is never resumed (ASan frees its fake
// stack). Moves the C++ exception state: self's is saved, to's installed.
ZSYNC_FIBER_UNINSTRUMENTED inline void leave(SwitchState& self, const SwitchState& to, bool self_finished) noexcept {
    EhGlobals* g = eh_globals();
    self.eh = *g;
    *g = to.eh;
#if ZSYNC_FIBER_ASAN
    __sanitizer_start_switch_fiber(self_finished ? nullptr : &self.asan_fake_stack, to.stack_bottom, to.stack_size);
#else
    (void)self_finished;
#endif
#if ZSYNC_FIBER_TSAN
    __tsan_switch_to_fiber(to.tsan_fiber, 0);
#endif
}

// First thing after arriving on self's stack; `from` (who jumped here) learns its stack bounds, which is how
// a thread's own stack becomes known to ASan.
ZSYNC_FIBER_UNINSTRUMENTED inline void arrive(SwitchState& self, SwitchState* from) noexcept {
#if ZSYNC_FIBER_ASAN
    const void* bottom = nullptr;
    std::size_t size = 0;
    __sanitizer_finish_switch_fiber(self.asan_fake_stack, &bottom, &size);
    if (from) {
        from->stack_bottom = bottom;
        from->stack_size = size;
    }
#else
    (void)self;
    (void)from;
#endif
}

}  // namespace zsync::rt::fiber
