/* Saved-register frames of zsync's context switch, shared by the assembly (platform-asm/context_*.S) and
 * C++ (runtime/fiber/, the tests, the gdb script's table in docs/fibers.md).
 *
 * A suspended context is the address of its frame: the switch stores the callee-saved state of the code
 * that calls it on that code's own stack, and the frame's address is the context handle. The offsets below
 * are the only definition of the layout; the assembly uses the macros, C++ the structs, and every field's
 * offset is checked against its macro with static_assert(offsetof(...)).
 *
 * Included by assembly (__ASSEMBLER__ defined: macros only) and by C++ (macros, structs, checks).
 * It includes nothing of the project: platform-asm/ imports nothing (DESIGN.md §2). */
#ifndef ZSYNC_PLATFORM_ASM_CONTEXT_FRAME_H
#define ZSYNC_PLATFORM_ASM_CONTEXT_FRAME_H

/* x86-64 System V: callee-saved rbx, rbp, r12-r15, plus the control bits of MXCSR and the x87 control word
 * (SysV ABI §3.2.1: "the control bits of the MXCSR register and the x87 control word are callee-saved").
 * The return address is the word `call` pushed; the switch saves the other 56 bytes below it. */
#define ZSYNC_CTX_X86_64_MXCSR 0  /* 32 bits */
#define ZSYNC_CTX_X86_64_X87CW 4  /* 16 bits, then 16 bits of padding */
#define ZSYNC_CTX_X86_64_R12 8
#define ZSYNC_CTX_X86_64_R13 16
#define ZSYNC_CTX_X86_64_R14 24
#define ZSYNC_CTX_X86_64_R15 32
#define ZSYNC_CTX_X86_64_RBX 40
#define ZSYNC_CTX_X86_64_RBP 48
#define ZSYNC_CTX_X86_64_RIP 56   /* where the context resumes (pushed by `call`; the trampoline for a new one) */
#define ZSYNC_CTX_X86_64_SAVED 56 /* bytes the switch itself reserves below the return address */
#define ZSYNC_CTX_X86_64_SIZE 64  /* whole frame; a multiple of 16, and 16-aligned while suspended */

/* AArch64 AAPCS64: callee-saved x19-x28, the frame pointer x29, the link register x30 (where the context
 * resumes), and the low 64 bits of v8-v15 (d8-d15; AAPCS64 §6.1.2). FPCR is not saved (see docs/fibers.md). */
#define ZSYNC_CTX_ARM64_D8 0x00
#define ZSYNC_CTX_ARM64_D10 0x10
#define ZSYNC_CTX_ARM64_D12 0x20
#define ZSYNC_CTX_ARM64_D14 0x30
#define ZSYNC_CTX_ARM64_X19 0x40
#define ZSYNC_CTX_ARM64_X21 0x50
#define ZSYNC_CTX_ARM64_X23 0x60
#define ZSYNC_CTX_ARM64_X25 0x70
#define ZSYNC_CTX_ARM64_X27 0x80
#define ZSYNC_CTX_ARM64_X29 0x90 /* x29 then x30 (the resume address) */
#define ZSYNC_CTX_ARM64_X30 0x98
#define ZSYNC_CTX_ARM64_SIZE 0xa0 /* a multiple of 16: sp stays 16-aligned */

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct zsync_ctx_frame_x86_64 {
    uint32_t mxcsr;
    uint16_t x87_cw;
    uint16_t pad;
    uint64_t r12, r13, r14, r15, rbx, rbp;
    uint64_t rip;
};

struct zsync_ctx_frame_arm64 {
    uint64_t d[8];   /* d8..d15 */
    uint64_t x[10];  /* x19..x28 */
    uint64_t x29, x30;
};

#ifdef __cplusplus
} /* extern "C" */

static_assert(offsetof(zsync_ctx_frame_x86_64, mxcsr) == ZSYNC_CTX_X86_64_MXCSR);
static_assert(offsetof(zsync_ctx_frame_x86_64, x87_cw) == ZSYNC_CTX_X86_64_X87CW);
static_assert(offsetof(zsync_ctx_frame_x86_64, r12) == ZSYNC_CTX_X86_64_R12);
static_assert(offsetof(zsync_ctx_frame_x86_64, r13) == ZSYNC_CTX_X86_64_R13);
static_assert(offsetof(zsync_ctx_frame_x86_64, r14) == ZSYNC_CTX_X86_64_R14);
static_assert(offsetof(zsync_ctx_frame_x86_64, r15) == ZSYNC_CTX_X86_64_R15);
static_assert(offsetof(zsync_ctx_frame_x86_64, rbx) == ZSYNC_CTX_X86_64_RBX);
static_assert(offsetof(zsync_ctx_frame_x86_64, rbp) == ZSYNC_CTX_X86_64_RBP);
static_assert(offsetof(zsync_ctx_frame_x86_64, rip) == ZSYNC_CTX_X86_64_RIP);
static_assert(ZSYNC_CTX_X86_64_SAVED + 8 == ZSYNC_CTX_X86_64_SIZE);
static_assert(sizeof(zsync_ctx_frame_x86_64) == ZSYNC_CTX_X86_64_SIZE);
static_assert(ZSYNC_CTX_X86_64_SIZE % 16 == 0);

static_assert(offsetof(zsync_ctx_frame_arm64, d) == ZSYNC_CTX_ARM64_D8);
static_assert(offsetof(zsync_ctx_frame_arm64, d) + 2 * 8 == ZSYNC_CTX_ARM64_D10);
static_assert(offsetof(zsync_ctx_frame_arm64, d) + 4 * 8 == ZSYNC_CTX_ARM64_D12);
static_assert(offsetof(zsync_ctx_frame_arm64, d) + 6 * 8 == ZSYNC_CTX_ARM64_D14);
static_assert(offsetof(zsync_ctx_frame_arm64, x) == ZSYNC_CTX_ARM64_X19);
static_assert(offsetof(zsync_ctx_frame_arm64, x) + 2 * 8 == ZSYNC_CTX_ARM64_X21);
static_assert(offsetof(zsync_ctx_frame_arm64, x) + 4 * 8 == ZSYNC_CTX_ARM64_X23);
static_assert(offsetof(zsync_ctx_frame_arm64, x) + 6 * 8 == ZSYNC_CTX_ARM64_X25);
static_assert(offsetof(zsync_ctx_frame_arm64, x) + 8 * 8 == ZSYNC_CTX_ARM64_X27);
static_assert(offsetof(zsync_ctx_frame_arm64, x29) == ZSYNC_CTX_ARM64_X29);
static_assert(offsetof(zsync_ctx_frame_arm64, x30) == ZSYNC_CTX_ARM64_X30);
static_assert(sizeof(zsync_ctx_frame_arm64) == ZSYNC_CTX_ARM64_SIZE);
static_assert(ZSYNC_CTX_ARM64_SIZE % 16 == 0);
#endif /* __cplusplus */
#endif /* !__ASSEMBLER__ */
#endif
