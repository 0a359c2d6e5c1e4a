// zsync_ctx_make / zsync_ctx_jump / zsync_ctx_ontop (context.h) implemented on Boost.Context's fcontext,
// for test programs that re-link the asm build's objects with Boost's switch (the test targets
// `*_boostctx`, tests/CMakeLists.txt): the conformance, green, sync, net and sample tests then run
// every fiber switch through Boost.Context without a second build of the library.
//
// Why this works: context.h's three functions and Boost's make_fcontext / jump_fcontext /
// ontop_fcontext have the same C ABI on x86-64 SysV and AArch64 AAPCS (a context is a pointer; a
// transfer is two pointers returned in rax:rdx / x0:x1 and passed to an entry or an on-top function
// in rdi:rsi / x0:x1), so an entry made for one is called correctly by the other. The library's own
// ZSYNC_CONTEXT=boost build (preset dev-boost) calls Boost directly instead; this file is for tests.
//
// An object linked into a program ahead of libzsync_context.a defines the three symbols, so the
// archive's assembly member is never pulled in (if it were, the link would fail with duplicate
// symbols, not silently use the other switch). zsync_boost_abi_used says a switch went through here.
#include <boost/context/detail/fcontext.hpp>
#include <atomic>
#include "context.h"

namespace bc = boost::context::detail;
static_assert(sizeof(zsync_transfer) == sizeof(bc::transfer_t) && alignof(zsync_transfer) == alignof(bc::transfer_t),
              "zsync_transfer and Boost's transfer_t must have one layout");

extern "C" {

// Set once a context was made here: the tests' check that the program really switches with Boost.
std::atomic<bool> zsync_boost_abi_used{false};

void* zsync_ctx_make(void* top, size_t size, void (*entry)(zsync_transfer)) {
    zsync_boost_abi_used.store(true, std::memory_order_relaxed);  // relaxed: a flag read after joins
    // The two entry types differ in C++ but not in the ABI (see the header); Boost's assembly calls it.
    return bc::make_fcontext(top, size, reinterpret_cast<void (*)(bc::transfer_t)>(entry));
}

zsync_transfer zsync_ctx_jump(void* to, void* data) {
    bc::transfer_t t = bc::jump_fcontext(to, data);
    return zsync_transfer{t.fctx, t.data};
}

zsync_transfer zsync_ctx_ontop(void* to, void* data, zsync_transfer (*fn)(zsync_transfer)) {
    bc::transfer_t t = bc::ontop_fcontext(to, data, reinterpret_cast<bc::transfer_t (*)(bc::transfer_t)>(fn));
    return zsync_transfer{t.fctx, t.data};
}

}  // extern "C"
