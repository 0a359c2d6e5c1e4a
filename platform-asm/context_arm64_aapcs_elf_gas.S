/* zsync context switch: AArch64, AAPCS64, ELF, GNU as syntax (also clang's integrated assembler).
 * Written from the Procedure Call Standard for the Arm 64-bit Architecture (AAPCS64 §6.1: x19-x29 and
 * the low 64 bits of v8-v15 are callee-saved; sp is 16-aligned at every public interface).
 *
 * Frame of a suspended context (offsets: context_frame.h), at the context's address, 16-aligned:
 *
 *   +0x00  d8  d9    +0x10  d10 d11    +0x20  d12 d13    +0x30  d14 d15
 *   +0x40  x19 x20   +0x50  x21 x22    +0x60  x23 x24    +0x70  x25 x26    +0x80  x27 x28
 *   +0x90  x29 (frame pointer)         +0x98  x30 (where the context resumes; new: the trampoline)
 *   +0xa0  ... the suspended code's own stack
 *
 * Branch Target Identification: public functions start with `bti c` (hint #34, a no-op without BTI); the
 * trampoline is reached only by `ret`, which BTI does not check; the on-top call branches with `br x16`,
 * which a `bti c` landing pad (what clang emits for C/C++ functions) accepts. The GNU property note says BTI.
 * Pointer authentication: the switch signs nothing; PAC-ret code above and below it is unaffected (it signs
 * and checks its own x30 on its own stack). */
#include "context_frame.h"

    .text
    .hidden zsync_ctx_entry_returned  /* context_returned.cpp, in the same program */

/* void* zsync_ctx_make(void* top (x0), size_t size (x1, unused), void (*entry)(zsync_transfer) (x2)) */
    .globl  zsync_ctx_make
    .hidden zsync_ctx_make
    .type   zsync_ctx_make, %function
    .p2align 4
zsync_ctx_make:
    .cfi_startproc
    hint    #34                         /* bti c */
    and     x0, x0, #-16                /* the top, 16-aligned */
    sub     x0, x0, #ZSYNC_CTX_ARM64_SIZE
    stp     xzr, xzr, [x0, #ZSYNC_CTX_ARM64_D8]
    stp     xzr, xzr, [x0, #ZSYNC_CTX_ARM64_D10]
    stp     xzr, xzr, [x0, #ZSYNC_CTX_ARM64_D12]
    stp     xzr, xzr, [x0, #ZSYNC_CTX_ARM64_D14]
    stp     x2, xzr, [x0, #ZSYNC_CTX_ARM64_X19]   /* x19 = entry, for the trampoline */
    stp     xzr, xzr, [x0, #ZSYNC_CTX_ARM64_X21]
    stp     xzr, xzr, [x0, #ZSYNC_CTX_ARM64_X23]
    stp     xzr, xzr, [x0, #ZSYNC_CTX_ARM64_X25]
    stp     xzr, xzr, [x0, #ZSYNC_CTX_ARM64_X27]
    adr     x3, zsync_ctx_trampoline
    stp     xzr, x3, [x0, #ZSYNC_CTX_ARM64_X29]   /* x29 = 0 ends frame-pointer chains */
    ret
    .cfi_endproc
    .size   zsync_ctx_make, .-zsync_ctx_make

/* First code of a new context, reached by `ret` from a jump (x0 = from, x1 = data) or by the return of an
 * on-top function (its zsync_transfer in x0:x1): exactly entry's arguments. sp = top (16-aligned). The CFI
 * marks the outermost frame: unwinders and debuggers stop here. */
    .p2align 4
    .type   zsync_ctx_trampoline, %function
zsync_ctx_trampoline:
    .cfi_startproc
    .cfi_undefined x30
    blr     x19
    /* entry returned: a programming error, reported */
    bl      zsync_ctx_entry_returned
    brk     #0x3e8
    .cfi_endproc
    .size   zsync_ctx_trampoline, .-zsync_ctx_trampoline

/* Saves the caller's callee-saved state (x30 = its resume address) below its sp; leaves the frame's address
 * in x9. Restores the state of the frame at x0 (the target) and sets sp above it. */
.macro ZSYNC_SAVE_SWITCH_RESTORE
    sub     sp, sp, #ZSYNC_CTX_ARM64_SIZE
    stp     d8, d9, [sp, #ZSYNC_CTX_ARM64_D8]
    stp     d10, d11, [sp, #ZSYNC_CTX_ARM64_D10]
    stp     d12, d13, [sp, #ZSYNC_CTX_ARM64_D12]
    stp     d14, d15, [sp, #ZSYNC_CTX_ARM64_D14]
    stp     x19, x20, [sp, #ZSYNC_CTX_ARM64_X19]
    stp     x21, x22, [sp, #ZSYNC_CTX_ARM64_X21]
    stp     x23, x24, [sp, #ZSYNC_CTX_ARM64_X23]
    stp     x25, x26, [sp, #ZSYNC_CTX_ARM64_X25]
    stp     x27, x28, [sp, #ZSYNC_CTX_ARM64_X27]
    stp     x29, x30, [sp, #ZSYNC_CTX_ARM64_X29]
    mov     x9, sp                      /* the caller's context */
    mov     sp, x0                      /* the target's stack from here on */
    ldp     d8, d9, [sp, #ZSYNC_CTX_ARM64_D8]
    ldp     d10, d11, [sp, #ZSYNC_CTX_ARM64_D10]
    ldp     d12, d13, [sp, #ZSYNC_CTX_ARM64_D12]
    ldp     d14, d15, [sp, #ZSYNC_CTX_ARM64_D14]
    ldp     x19, x20, [sp, #ZSYNC_CTX_ARM64_X19]
    ldp     x21, x22, [sp, #ZSYNC_CTX_ARM64_X21]
    ldp     x23, x24, [sp, #ZSYNC_CTX_ARM64_X23]
    ldp     x25, x26, [sp, #ZSYNC_CTX_ARM64_X25]
    ldp     x27, x28, [sp, #ZSYNC_CTX_ARM64_X27]
    ldp     x29, x30, [sp, #ZSYNC_CTX_ARM64_X29]
    add     sp, sp, #ZSYNC_CTX_ARM64_SIZE
.endm

/* zsync_transfer zsync_ctx_jump(void* to (x0), void* data (x1)) -> {x0 = from, x1 = data} */
    .globl  zsync_ctx_jump
    .hidden zsync_ctx_jump
    .type   zsync_ctx_jump, %function
    .p2align 4
zsync_ctx_jump:
    .cfi_startproc
    hint    #34                         /* bti c */
    ZSYNC_SAVE_SWITCH_RESTORE
    mov     x0, x9
    ret                                 /* to x30: where the target resumes */
    .cfi_endproc
    .size   zsync_ctx_jump, .-zsync_ctx_jump

/* zsync_transfer zsync_ctx_ontop(void* to (x0), void* data (x1), zsync_transfer (*fn)(zsync_transfer) (x2))
 * Tail-calls fn({from, data}) on the target's stack with x30 = the target's resume address. */
    .globl  zsync_ctx_ontop
    .hidden zsync_ctx_ontop
    .type   zsync_ctx_ontop, %function
    .p2align 4
zsync_ctx_ontop:
    .cfi_startproc
    hint    #34                         /* bti c */
    mov     x16, x2
    ZSYNC_SAVE_SWITCH_RESTORE
    mov     x0, x9
    br      x16                         /* x16: accepted by fn's `bti c` */
    .cfi_endproc
    .size   zsync_ctx_ontop, .-zsync_ctx_ontop

/* GNU property note: BTI (every indirect-branch target here has a landing pad). */
    .section .note.gnu.property, "a"
    .p2align 3
    .long   4                   /* name size */
    .long   16                  /* descriptor size */
    .long   5                   /* NT_GNU_PROPERTY_TYPE_0 */
    .asciz  "GNU"
    .long   0xc0000000          /* GNU_PROPERTY_AARCH64_FEATURE_1_AND */
    .long   4
    .long   1                   /* GNU_PROPERTY_AARCH64_FEATURE_1_BTI */
    .p2align 3

/* This code needs no executable stack. */
    .section .note.GNU-stack, "", %progbits
