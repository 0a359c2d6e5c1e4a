/* Test helpers for the register-preservation tests (switch_tests.cpp), x86-64 System V ELF.
 *
 * void zsync_test_regs_call(void (*fn)(void*), void* arg, const Regs* in, Regs* out)
 *   loads every callee-saved register (rbx rbp r12-r15), MXCSR and the x87 control word from `in`, calls
 *   fn(arg), stores what those registers hold afterwards into `out`, and restores the caller's.
 *   Regs = { u64 rbx, rbp, r12, r13, r14, r15; u32 mxcsr; u32 x87_cw; }
 * void zsync_test_clobber(void*)   breaks the ABI on purpose (r12, rbx, MXCSR): the negative control.
 * void zsync_test_sp_probe(zsync_transfer)   a context entry that records rsp at entry, then jumps to
 *   zsync_test_sp_probe_continue (C++) with its arguments. */
    .text
    .globl  zsync_test_regs_call
    .type   zsync_test_regs_call, @function
    .p2align 4
zsync_test_regs_call:
    .cfi_startproc
    endbr64
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    subq    $24, %rsp               /* 6 pushes + 24: rsp 16-aligned for the call */
    stmxcsr (%rsp)
    fnstcw  4(%rsp)
    movq    %rcx, 8(%rsp)
    movq    %rdi, %rax
    movq    %rsi, %rdi
    movq    0(%rdx), %rbx
    movq    8(%rdx), %rbp
    movq    16(%rdx), %r12
    movq    24(%rdx), %r13
    movq    32(%rdx), %r14
    movq    40(%rdx), %r15
    ldmxcsr 48(%rdx)
    fldcw   52(%rdx)
    callq   *%rax
    movq    8(%rsp), %rcx
    movq    %rbx, 0(%rcx)
    movq    %rbp, 8(%rcx)
    movq    %r12, 16(%rcx)
    movq    %r13, 24(%rcx)
    movq    %r14, 32(%rcx)
    movq    %r15, 40(%rcx)
    stmxcsr 48(%rcx)
    movl    $0, 52(%rcx)
    fnstcw  52(%rcx)
    ldmxcsr (%rsp)
    fldcw   4(%rsp)
    addq    $24, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    ret
    .cfi_endproc
    .size   zsync_test_regs_call, .-zsync_test_regs_call

    .globl  zsync_test_clobber
    .type   zsync_test_clobber, @function
    .p2align 4
zsync_test_clobber:
    .cfi_startproc
    endbr64
    movq    $0x0bad, %r12
    movq    $0x0bad, %rbx
    subq    $8, %rsp
    movl    $0x1f80, (%rsp)
    ldmxcsr (%rsp)
    addq    $8, %rsp
    ret
    .cfi_endproc
    .size   zsync_test_clobber, .-zsync_test_clobber

    .globl  zsync_test_sp_probe
    .type   zsync_test_sp_probe, @function
    .p2align 4
zsync_test_sp_probe:
    .cfi_startproc
    endbr64
    movq    %rsp, zsync_test_entry_sp(%rip)
    jmp     zsync_test_sp_probe_continue
    .cfi_endproc
    .size   zsync_test_sp_probe, .-zsync_test_sp_probe

    .section .note.GNU-stack, "", @progbits
