// The raw context switch seen from C++: one spelling over platform-asm/ (ZSYNC_CONTEXT=asm) or
// Boost.Context's fcontext (ZSYNC_CONTEXT=boost), so fibers and their tests run on either.
//
// Nothing here knows about sanitizers, exceptions or stacks' owners: that is fiber.hpp's job. Entries and
// on-top functions are template arguments, so each backend gets a function of its own native type (no
// casts between function types).
#pragma once
#include <cstddef>
#include <cstdint>

#include "context.h"  // zsync_ctx_entry_returned, for both backends
#include "fiber/sanitizer.hpp"  // ZSYNC_FIBER_UNINSTRUMENTED
#if defined(ZSYNC_CONTEXT_BOOST)
#include <boost/context/detail/fcontext.hpp>
#elif defined(ZSYNC_CONTEXT_ASM)
#include "context_frame.h"
#else
#error "build with zsync_context (platform-asm/CMakeLists.txt), which defines ZSYNC_CONTEXT_ASM or ZSYNC_CONTEXT_BOOST"
#endif

namespace zsync::rt::ctx {

// What a jump delivers: the context that jumped here (resume it to go back) and one pointer.
struct Transfer {
    void* from;
    void* data;
};

// The bytes a context's own frame takes at the top of its stack; make() refuses a stack smaller than this
// plus 16 bytes of alignment slack.
#if defined(ZSYNC_CONTEXT_BOOST)
inline constexpr std::size_t frame_bytes = 0x40 + 0x100;  // Boost's frames (x86-64: 0x40; AArch64: 0xb0) + margin
inline constexpr const char* backend_name = "boost";
#elif defined(__x86_64__)
inline constexpr std::size_t frame_bytes = ZSYNC_CTX_X86_64_SIZE;
inline constexpr const char* backend_name = "asm";
#elif defined(__aarch64__)
inline constexpr std::size_t frame_bytes = ZSYNC_CTX_ARM64_SIZE;
inline constexpr const char* backend_name = "asm";
#endif
inline constexpr std::size_t min_stack_bytes = frame_bytes + 16;

namespace detail {
#if defined(ZSYNC_CONTEXT_BOOST)
namespace bc = boost::context::detail;
template <void (*Entry)(Transfer)>
void native_entry(bc::transfer_t t) {
    Entry(Transfer{t.fctx, t.data});
    zsync_ctx_entry_returned();  // Boost's own trampoline would _exit(0): report it instead
}
template <Transfer (*Fn)(Transfer)>
bc::transfer_t native_ontop(bc::transfer_t t) {
    Transfer r = Fn(Transfer{t.fctx, t.data});
    return bc::transfer_t{r.from, r.data};
}
#else
template <void (*Entry)(Transfer)>
void native_entry(zsync_transfer t) {
    Entry(Transfer{t.from, t.data});
    zsync_ctx_entry_returned();  // the trampoline would too; reported here on both backends
}
template <Transfer (*Fn)(Transfer)>
zsync_transfer native_ontop(zsync_transfer t) {
    Transfer r = Fn(Transfer{t.from, t.data});
    return zsync_transfer{r.from, r.data};
}
#endif
}  // namespace detail

// A new context on the stack [top - size, top) that runs Entry({from, data}) when first jumped to.
// nullptr when top is null or size < min_stack_bytes (nothing is written then). Entry must never return.
template <void (*Entry)(Transfer)>
void* make(void* top, std::size_t size) noexcept {
    if (top == nullptr || size < min_stack_bytes) return nullptr;
#if defined(ZSYNC_CONTEXT_BOOST)
    return detail::bc::make_fcontext(top, size, &detail::native_entry<Entry>);
#else
    return zsync_ctx_make(top, size, &detail::native_entry<Entry>);
#endif
}

// Suspends the caller and resumes `to` (made by make() or left by a jump); returns when a jump comes back.
// `to` is spent by this call: it must not be resumed twice.
ZSYNC_FIBER_UNINSTRUMENTED inline Transfer jump(void* to, void* data) {
#if defined(ZSYNC_CONTEXT_BOOST)
    auto t = detail::bc::jump_fcontext(to, data);
    return Transfer{t.fctx, t.data};
#else
    auto t = zsync_ctx_jump(to, data);
    return Transfer{t.from, t.data};
#endif
}

// Suspends the caller and runs Fn({caller, data}) on top of `to`'s stack, as if `to`'s pending jump had
// called it; what Fn returns is what that jump returns. Fn may throw into `to` (unwinding it).
template <Transfer (*Fn)(Transfer)>
ZSYNC_FIBER_UNINSTRUMENTED Transfer ontop(void* to, void* data) {
#if defined(ZSYNC_CONTEXT_BOOST)
    auto t = detail::bc::ontop_fcontext(to, data, &detail::native_ontop<Fn>);
    return Transfer{t.fctx, t.data};
#else
    auto t = zsync_ctx_ontop(to, data, &detail::native_ontop<Fn>);
    return Transfer{t.from, t.data};
#endif
}

}  // namespace zsync::rt::ctx
