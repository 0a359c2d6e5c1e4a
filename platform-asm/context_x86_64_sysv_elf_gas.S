/* zsync context switch: x86-64, System V ABI, ELF, GNU as syntax (also clang's integrated assembler).
 * Written from the System V AMD64 psABI (§3.2: registers, stack alignment, MXCSR/x87 control word).
 *
 * Frame of a suspended context (offsets: context_frame.h), at the context's address, 16-aligned:
 *
 *   +0x00  mxcsr (32) | x87 cw (16) | pad (16)
 *   +0x08  r12        +0x10  r13        +0x18  r14        +0x20  r15
 *   +0x28  rbx        +0x30  rbp
 *   +0x38  return address (pushed by `call`; for a new context: zsync_ctx_trampoline)
 *   +0x40  ... the suspended code's own stack
 *
 * Control-flow protection. Every function starts with endbr64 (an IBT landing pad; a no-op otherwise).
 * - Built for IBT (-fcf-protection=branch|full, which defines __CET__ bit 0): the jump resumes the other
 *   context with `ret` (a `jmp` to a return address would fault: no endbr64 there) and the GNU property
 *   note says IBT.
 * - Otherwise: it pops the resume address and `jmp`s to it, which the indirect-branch predictor learns,
 *   where `ret` always misses in the return-stack buffer (measured: docs/benchmarks.md "Fibers"); no IBT
 *   claim then.
 * Shadow stacks (SHSTK) are NOT supported either way: a switch resumes at an address the CPU's shadow stack
 * never saw. The note never says SHSTK, so a link that requires it (-z shstk / -z cet-report=error) names
 * this object; a program linked normally runs without a shadow stack. Tested by fiber.cet_refused. */
#include "context_frame.h"

#if defined(__CET__) && (__CET__ & 1)
#define ZSYNC_CTX_IBT 1
#else
#define ZSYNC_CTX_IBT 0
#endif

    .text
    .hidden zsync_ctx_entry_returned  /* context_returned.cpp, in the same program */

/* void* zsync_ctx_make(void* top (rdi), size_t size (rsi, unused), void (*entry)(zsync_transfer) (rdx)) */
    .globl  zsync_ctx_make
    .hidden zsync_ctx_make
    .type   zsync_ctx_make, @function
    .p2align 4
zsync_ctx_make:
    .cfi_startproc
    endbr64
    movq    %rdi, %rax
    andq    $-16, %rax                          /* the top, 16-aligned */
    leaq    -ZSYNC_CTX_X86_64_SIZE(%rax), %rax  /* the frame; the trampoline runs with rsp = top */
    stmxcsr ZSYNC_CTX_X86_64_MXCSR(%rax)        /* a new context starts with the maker's FP control */
    fnstcw  ZSYNC_CTX_X86_64_X87CW(%rax)
    movw    $0, ZSYNC_CTX_X86_64_X87CW+2(%rax)
    movq    %rdx, ZSYNC_CTX_X86_64_R12(%rax)    /* entry, for the trampoline */
    movq    $0, ZSYNC_CTX_X86_64_R13(%rax)
    movq    $0, ZSYNC_CTX_X86_64_R14(%rax)
    movq    $0, ZSYNC_CTX_X86_64_R15(%rax)
    movq    $0, ZSYNC_CTX_X86_64_RBX(%rax)
    movq    $0, ZSYNC_CTX_X86_64_RBP(%rax)      /* ends frame-pointer chains */
    leaq    zsync_ctx_trampoline(%rip), %rcx
    movq    %rcx, ZSYNC_CTX_X86_64_RIP(%rax)
    ret
    .cfi_endproc
    .size   zsync_ctx_make, .-zsync_ctx_make

/* First code of a new context, reached by the `ret` of a jump (rax = from, rdx = data) or by the return of
 * an on-top function (its zsync_transfer in rax:rdx). rsp = top (16-aligned), so entry sees rsp+8
 * 16-aligned, as after any call. The CFI marks the outermost frame: unwinders and debuggers stop here. */
    .p2align 4
    .type   zsync_ctx_trampoline, @function
zsync_ctx_trampoline:
    .cfi_startproc
    .cfi_undefined rip
    movq    %rax, %rdi
    movq    %rdx, %rsi
    callq   *%r12
    /* entry returned: a programming error, reported */
    callq   zsync_ctx_entry_returned
    ud2
    .cfi_endproc
    .size   zsync_ctx_trampoline, .-zsync_ctx_trampoline

/* Saves the caller's callee-saved state below its return address; leaves the frame's address in rax.
 * Restores the state of the frame at rsp (the target) and points rsp at its return address. */
.macro ZSYNC_SAVE_SWITCH_RESTORE
    leaq    -ZSYNC_CTX_X86_64_SAVED(%rsp), %rsp
    stmxcsr ZSYNC_CTX_X86_64_MXCSR(%rsp)
    fnstcw  ZSYNC_CTX_X86_64_X87CW(%rsp)
    movq    %r12, ZSYNC_CTX_X86_64_R12(%rsp)
    movq    %r13, ZSYNC_CTX_X86_64_R13(%rsp)
    movq    %r14, ZSYNC_CTX_X86_64_R14(%rsp)
    movq    %r15, ZSYNC_CTX_X86_64_R15(%rsp)
    movq    %rbx, ZSYNC_CTX_X86_64_RBX(%rsp)
    movq    %rbp, ZSYNC_CTX_X86_64_RBP(%rsp)
    movq    %rsp, %rax                          /* the caller's context */
    movq    %rdi, %rsp                          /* the target's stack from here on */
    movq    ZSYNC_CTX_X86_64_R12(%rsp), %r12
    movq    ZSYNC_CTX_X86_64_R13(%rsp), %r13
    movq    ZSYNC_CTX_X86_64_R14(%rsp), %r14
    movq    ZSYNC_CTX_X86_64_R15(%rsp), %r15
    movq    ZSYNC_CTX_X86_64_RBX(%rsp), %rbx
    movq    ZSYNC_CTX_X86_64_RBP(%rsp), %rbp
    ldmxcsr ZSYNC_CTX_X86_64_MXCSR(%rsp)
    fldcw   ZSYNC_CTX_X86_64_X87CW(%rsp)
    leaq    ZSYNC_CTX_X86_64_SAVED(%rsp), %rsp  /* rsp -> the target's return address */
.endm

/* zsync_transfer zsync_ctx_jump(void* to (rdi), void* data (rsi)) -> {rax = from, rdx = data} */
    .globl  zsync_ctx_jump
    .hidden zsync_ctx_jump
    .type   zsync_ctx_jump, @function
    .p2align 4
zsync_ctx_jump:
    .cfi_startproc
    endbr64
    ZSYNC_SAVE_SWITCH_RESTORE
    movq    %rsi, %rdx
#if ZSYNC_CTX_IBT
    ret                     /* IBT: the resume address has no endbr64, so no indirect jmp to it */
#else
    popq    %r8
    jmpq    *%r8            /* predicted by the indirect-branch predictor; `ret` would always mispredict */
#endif
    .cfi_endproc
    .size   zsync_ctx_jump, .-zsync_ctx_jump

/* zsync_transfer zsync_ctx_ontop(void* to (rdi), void* data (rsi), zsync_transfer (*fn)(zsync_transfer) (rdx))
 * Tail-calls fn({from, data}) on the target's stack: fn returns (rax:rdx) to where the target resumes. */
    .globl  zsync_ctx_ontop
    .hidden zsync_ctx_ontop
    .type   zsync_ctx_ontop, @function
    .p2align 4
zsync_ctx_ontop:
    .cfi_startproc
    endbr64
    movq    %rdx, %r8
    ZSYNC_SAVE_SWITCH_RESTORE
    movq    %rax, %rdi
    jmpq    *%r8            /* fn is a C/C++ function: it starts with endbr64 when built for IBT */
    .cfi_endproc
    .size   zsync_ctx_ontop, .-zsync_ctx_ontop

#if ZSYNC_CTX_IBT
/* GNU property note: IBT (every indirect-branch target here has endbr64); SHSTK left out (see above). */
    .section .note.gnu.property, "a"
    .p2align 3
    .long   4               /* name size */
    .long   16              /* descriptor size */
    .long   5               /* NT_GNU_PROPERTY_TYPE_0 */
    .asciz  "GNU"
    .long   0xc0000002      /* GNU_PROPERTY_X86_FEATURE_1_AND */
    .long   4
    .long   1               /* GNU_PROPERTY_X86_FEATURE_1_IBT */
    .p2align 3
#endif

/* This code needs no executable stack. */
    .section .note.GNU-stack, "", @progbits
