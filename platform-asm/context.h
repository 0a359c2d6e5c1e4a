/* zsync's context switch (platform-asm/context_<arch>_<abi>_<format>_<assembler>.S).
 *
 * A context is the address of a suspended execution's saved-register frame (context_frame.h). The three
 * functions below are the whole primitive; runtime/fiber/ builds fibers (stacks, sanitizer hooks,
 * exception state) on them. They are not thread-safe by themselves in any sense that matters: a context
 * may be resumed on any thread, but by exactly one jump, once.
 *
 * Symbols are hidden (visibility) and exist only inside the program that links them. */
#ifndef ZSYNC_PLATFORM_ASM_CONTEXT_H
#define ZSYNC_PLATFORM_ASM_CONTEXT_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a jump delivers to the context it resumes: the context that jumped away (resume it to come back)
 * and one pointer. Returned in two registers (rax:rdx / x0:x1); passed to an entry in two (rdi:rsi / x0:x1). */
typedef struct zsync_transfer {
    void* from;
    void* data;
} zsync_transfer;

/* Makes a context that, when first jumped to, calls entry(transfer) on the stack whose highest address is
 * `top` (aligned down to 16 here). `size` is not read by the assembly: callers check it (the frame needs
 * ZSYNC_CTX_*_SIZE bytes plus whatever entry uses). The frame takes the current MXCSR/x87 control word.
 * entry must never return: it ends by jumping away; a return reaches zsync_ctx_entry_returned (abort). */
void* zsync_ctx_make(void* top, size_t size, void (*entry)(zsync_transfer));

/* Saves the caller's context and resumes `to`, which receives {the caller's context, data}. Returns when
 * someone jumps back to the caller's context, with what that jump passed. */
zsync_transfer zsync_ctx_jump(void* to, void* data);

/* Like zsync_ctx_jump, but first calls fn({caller's context, data}) on `to`'s stack, as if called from
 * where `to` was suspended; fn's result is what `to`'s own pending jump returns. fn may throw instead
 * (that is how a suspended fiber is unwound so its destructors run). */
zsync_transfer zsync_ctx_ontop(void* to, void* data, zsync_transfer (*fn)(zsync_transfer));

/* Reached when an entry returns; writes a report on stderr and aborts (context_returned.cpp). */
__attribute__((noreturn, visibility("hidden"))) void zsync_ctx_entry_returned(void);

#ifdef __cplusplus
} /* extern "C" */
#endif
#endif
