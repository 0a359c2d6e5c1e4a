# gdb helpers for zsync fibers: `source scripts/gdb/zsync.py`, then
#   zsync-fiber-bt CTX     backtrace of the suspended context whose saved frame is at CTX
#                          (Fiber::saved_context(), or any context made by platform-asm/).
# It points gdb's registers at the frame saved by the switch (layout: platform-asm/context_frame.h,
# docs/fibers.md), prints the backtrace, and puts the real registers back. Live processes only (a core
# file's registers cannot be set). Listing fibers per worker comes with GreenThreadsIo.
import gdb

# (register, offset) of the callee-saved registers in a suspended frame; then the resume address and the
# stack pointer the context resumes with.
_X86_64 = [("r12", 0x08), ("r13", 0x10), ("r14", 0x18), ("r15", 0x20), ("rbx", 0x28), ("rbp", 0x30)]
_X86_64_RIP, _X86_64_SIZE = 0x38, 0x40
_ARM64 = [("x%d" % (19 + i), 0x40 + 8 * i) for i in range(10)] + [("x29", 0x90), ("x30", 0x98)]
_ARM64_PC, _ARM64_SIZE = 0x98, 0xA0


def _frame_registers(ctx):
    inferior = gdb.selected_inferior()

    def word(off):
        return int.from_bytes(inferior.read_memory(ctx + off, 8).tobytes(), "little")

    arch = gdb.selected_frame().architecture().name()
    if "x86-64" in arch:
        regs = {r: word(o) for r, o in _X86_64}
        regs["rip"] = word(_X86_64_RIP)
        regs["rsp"] = ctx + _X86_64_SIZE
    elif "aarch64" in arch:
        regs = {r: word(o) for r, o in _ARM64}
        regs["pc"] = word(_ARM64_PC)
        regs["sp"] = ctx + _ARM64_SIZE
    else:
        raise gdb.GdbError("zsync-fiber-bt: no frame layout for architecture " + arch)
    return regs


class ZsyncFiberBt(gdb.Command):
    """zsync-fiber-bt CTX: print the backtrace of the suspended zsync context saved at address CTX."""

    def __init__(self):
        super().__init__("zsync-fiber-bt", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        if not arg:
            raise gdb.GdbError("usage: zsync-fiber-bt CTX (the address of a suspended context's frame)")
        ctx = int(gdb.parse_and_eval(arg).cast(gdb.lookup_type("unsigned long")))
        if ctx == 0 or ctx % 16:
            raise gdb.GdbError("zsync-fiber-bt: %#x is not a suspended context (null or not 16-aligned)" % ctx)
        regs = _frame_registers(ctx)
        gdb.execute("select-frame 0")
        saved = {r: int(gdb.parse_and_eval("$" + r).cast(gdb.lookup_type("unsigned long"))) for r in regs}
        try:
            for r, v in regs.items():
                gdb.execute("set $%s = %d" % (r, v))
            gdb.write("zsync context %#x:\n" % ctx)
            gdb.execute("bt")
        finally:
            gdb.execute("select-frame 0")
            for r, v in saved.items():
                gdb.execute("set $%s = %d" % (r, v))


ZsyncFiberBt()
