/* Test helpers for the register-preservation tests (switch_tests.cpp), AArch64 AAPCS64 ELF.
 *
 * void zsync_test_regs_call(void (*fn)(void*), void* arg, const Regs* in, Regs* out)
 *   loads x19-x29 and d8-d15 from `in`, calls fn(arg), stores what they hold afterwards into `out`, and
 *   restores the caller's.   Regs = { u64 x[11] (x19..x29); u64 d[8] (d8..d15); }
 * void zsync_test_clobber(void*)   breaks the ABI on purpose (x19, x28, d8, d15): the negative control.
 * void zsync_test_sp_probe(zsync_transfer)   a context entry that records sp at entry, then jumps to
 *   zsync_test_sp_probe_continue (C++) with its arguments. */
    .text
    .globl  zsync_test_regs_call
    .type   zsync_test_regs_call, %function
    .p2align 4
zsync_test_regs_call:
    .cfi_startproc
    hint    #34
    sub     sp, sp, #176
    stp     x19, x20, [sp, #0]
    stp     x21, x22, [sp, #16]
    stp     x23, x24, [sp, #32]
    stp     x25, x26, [sp, #48]
    stp     x27, x28, [sp, #64]
    stp     x29, x30, [sp, #80]
    stp     d8, d9, [sp, #96]
    stp     d10, d11, [sp, #112]
    stp     d12, d13, [sp, #128]
    stp     d14, d15, [sp, #144]
    str     x3, [sp, #160]
    mov     x16, x0
    mov     x0, x1
    ldp     x19, x20, [x2, #0]
    ldp     x21, x22, [x2, #16]
    ldp     x23, x24, [x2, #32]
    ldp     x25, x26, [x2, #48]
    ldp     x27, x28, [x2, #64]
    ldr     x29, [x2, #80]
    ldp     d8, d9, [x2, #88]
    ldp     d10, d11, [x2, #104]
    ldp     d12, d13, [x2, #120]
    ldp     d14, d15, [x2, #136]
    blr     x16
    ldr     x3, [sp, #160]
    stp     x19, x20, [x3, #0]
    stp     x21, x22, [x3, #16]
    stp     x23, x24, [x3, #32]
    stp     x25, x26, [x3, #48]
    stp     x27, x28, [x3, #64]
    str     x29, [x3, #80]
    stp     d8, d9, [x3, #88]
    stp     d10, d11, [x3, #104]
    stp     d12, d13, [x3, #120]
    stp     d14, d15, [x3, #136]
    ldp     x19, x20, [sp, #0]
    ldp     x21, x22, [sp, #16]
    ldp     x23, x24, [sp, #32]
    ldp     x25, x26, [sp, #48]
    ldp     x27, x28, [sp, #64]
    ldp     x29, x30, [sp, #80]
    ldp     d8, d9, [sp, #96]
    ldp     d10, d11, [sp, #112]
    ldp     d12, d13, [sp, #128]
    ldp     d14, d15, [sp, #144]
    add     sp, sp, #176
    ret
    .cfi_endproc
    .size   zsync_test_regs_call, .-zsync_test_regs_call

    .globl  zsync_test_clobber
    .type   zsync_test_clobber, %function
    .p2align 4
zsync_test_clobber:
    .cfi_startproc
    hint    #34
    mov     x19, #0xbad
    mov     x28, #0xbad
    fmov    d8, x19
    fmov    d15, x19
    ret
    .cfi_endproc
    .size   zsync_test_clobber, .-zsync_test_clobber

    .globl  zsync_test_sp_probe
    .type   zsync_test_sp_probe, %function
    .p2align 4
zsync_test_sp_probe:
    .cfi_startproc
    hint    #34
    mov     x9, sp
    adrp    x10, zsync_test_entry_sp
    str     x9, [x10, :lo12:zsync_test_entry_sp]
    b       zsync_test_sp_probe_continue
    .cfi_endproc
    .size   zsync_test_sp_probe, .-zsync_test_sp_probe

    .section .note.GNU-stack, "", %progbits
