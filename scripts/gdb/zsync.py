# gdb helpers for zsync fibers: `source scripts/gdb/zsync.py`, then
#   zsync-fibers           every fiber of every GreenThreadsIo: its id, the worker it runs or last ran on,
#                          its state (created / runnable / running / parked / finishing) and, when
#                          parked, what it waits on (the Operation's code, its fd or futex word).
#   zsync-fiber-bt ID      backtrace of the fiber with that id (as zsync-fibers shows it); a running
#                          fiber's backtrace is its worker thread's.
#   zsync-fiber-bt CTX     backtrace of the suspended context whose saved frame is at CTX
#                          (Fiber::saved_context(), or any context made by platform-asm/); an argument
#                          that is not a listed fiber id is taken as such an address.
# The listing reads the registry rooted at the global `zsync_gdb_fibers` (runtime/green/gdb_registry.hpp,
# layout version 1) as raw memory, so it needs no debug information (Release builds) and works on core
# files. A backtrace points gdb's registers at the frame saved by the switch (layout:
# platform-asm/context_frame.h, docs/fibers.md), prints it, and puts the real registers back: live
# processes only (a core file's registers cannot be set).
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


# --- The registry (runtime/green/gdb_registry.hpp, version 1): offsets of its three records.
_ROOT_MAGIC, _ROOT_VERSION = b"zsyncgdb", 2
_ROOT_SIZE = 0x64 + 64 * 24
_STATES = {0: "created", 1: "runnable", 2: "running", 3: "parked", 4: "finishing"}
_LIMIT = 1000000  # longest list walked (a process stopped mid-update may have a broken link)


class _Fiber:
    pass


class _Io:
    pass


def _u(buf, off, size):
    return int.from_bytes(buf[off:off + size], "little")


def _registry():
    """The live Ios and their fibers, or None when the program has no registry."""
    try:
        root = int(gdb.parse_and_eval("(unsigned long)&zsync_gdb_fibers"))
    except gdb.error:
        return None
    inf = gdb.selected_inferior()

    def read(addr, n):
        return inf.read_memory(addr, n).tobytes()

    r = read(root, _ROOT_SIZE)
    if r[0:8] != _ROOT_MAGIC or _u(r, 0x08, 4) != _ROOT_VERSION:
        raise gdb.GdbError("zsync: zsync_gdb_fibers is not a version-%d registry (magic %r, version %d); "
                           "this script does not match the program" % (_ROOT_VERSION, r[0:8], _u(r, 0x08, 4)))
    op_count = _u(r, 0x0C, 4)
    code_off, fd_off = _u(r, 0x20, 2), _u(r, 0x22, 2)
    op_args = r[0x24:0x24 + 64]
    op_names = [r[0x64 + 24 * i:0x64 + 24 * (i + 1)].split(b"\0")[0].decode() for i in range(op_count)]

    def waits_on(op, count):
        b = read(op, max(code_off + 1, fd_off + 8))
        code = b[code_off]
        text = op_names[code] if code < op_count else "op#%d" % code
        kind = op_args[code] if code < op_count else 0
        if kind == 1:
            text += " fd=%d" % int.from_bytes(b[fd_off:fd_off + 4], "little", signed=True)
        elif kind == 2:
            text += " word=%#x" % _u(b, fd_off, 8)
        if count > 1:
            text += " (first of a batch of %d)" % count
        return text

    ios, seen, at = [], set(), _u(r, 0x10, 8)
    while at and at not in seen and len(seen) < _LIMIT:
        seen.add(at)
        b = read(at, 0x38)
        io = _Io()
        io.id = _u(b, 0x20, 8)
        workers, tids_at = _u(b, 0x28, 4), _u(b, 0x18, 8)
        tids = read(tids_at, 4 * workers) if tids_at and workers else b""
        io.tids = [_u(tids, 4 * i, 4) for i in range(len(tids) // 4)]
        io.fibers = []
        lists_at, lists, stride = _u(b, 0x10, 8), _u(b, 0x2C, 4), _u(b, 0x30, 4)
        heads = [_u(read(lists_at + i * stride, 8), 0, 8) for i in range(min(lists, 4096))] if lists_at else []
        for f_at in heads:
            while f_at and f_at not in seen and len(seen) < _LIMIT:
                seen.add(f_at)
                fb = read(f_at, 0x40)
                f = _Fiber()
                f.id = _u(fb, 0x28, 8)
                f.worker = _u(fb, 0x30, 4)
                f.state = _STATES.get(fb[0x38], "state#%d" % fb[0x38])
                slot = _u(fb, 0x18, 8)
                f.ctx = _u(read(slot, 8), 0, 8) if slot else 0
                op, count = _u(fb, 0x20, 8), _u(fb, 0x34, 4)
                f.waits = waits_on(op, count) if op and f.state == "parked" else ""

                def describe(io, f=f):
                    where = "worker %d" % f.worker if f.worker != 0xFFFFFFFF else "worker -"
                    rest = []
                    if f.state == "running" and f.worker < len(io.tids):
                        rest.append("(LWP %d)" % io.tids[f.worker])
                    elif f.waits:
                        rest.append(f.waits)
                    if f.state not in ("running", "finishing"):
                        rest.append("ctx %#x" % f.ctx)
                    return ("fiber %-5d %-9s %-9s" % (f.id, where, f.state) + "  ".join(rest)).rstrip()
                f.describe = describe
                io.fibers.append(f)
                f_at = _u(fb, 0x00, 8)
        ios.append(io)
        at = _u(b, 0x00, 8)
    return ios


def _context_bt(ctx):
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


def _thread_bt(lwp):
    """The backtrace of the thread whose LWP is `lwp`; False when gdb has no such thread."""
    for t in gdb.selected_inferior().threads():
        if t.ptid[1] == lwp:
            current = gdb.selected_thread()
            t.switch()
            try:
                gdb.execute("bt")
            finally:
                current.switch()
            return True
    return False


class ZsyncFibers(gdb.Command):
    """zsync-fibers: list every fiber of every GreenThreadsIo (id, worker, state, what it waits on)."""

    def __init__(self):
        super().__init__("zsync-fibers", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        ios = _registry()
        if ios is None:
            gdb.write("zsync: no GreenThreadsIo registry in this program (no symbol zsync_gdb_fibers)\n")
            return
        if not ios:
            gdb.write("zsync: no GreenThreadsIo alive\n")
        for io in ios:
            tids = ", ".join("worker %d: LWP %d" % (i, t) for i, t in enumerate(io.tids))
            gdb.write("GreenThreadsIo #%d: %d worker%s (%s), %d fiber%s\n" % (
                io.id, len(io.tids), "" if len(io.tids) == 1 else "s", tids, len(io.fibers),
                "" if len(io.fibers) == 1 else "s"))
            for f in sorted(io.fibers, key=lambda f: f.id):
                gdb.write("  " + f.describe(io) + "\n")


class ZsyncFiberBt(gdb.Command):
    """zsync-fiber-bt ID | CTX: the backtrace of the fiber with id ID (zsync-fibers), or of the suspended
zsync context saved at address CTX."""

    def __init__(self):
        super().__init__("zsync-fiber-bt", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        if not arg:
            raise gdb.GdbError("usage: zsync-fiber-bt ID (a fiber id from zsync-fibers) | CTX (a saved context's address)")
        value = int(gdb.parse_and_eval(arg).cast(gdb.lookup_type("unsigned long")))
        for io in _registry() or []:
            for f in io.fibers:
                if f.id != value:
                    continue
                if f.state == "running":
                    lwp = io.tids[f.worker] if f.worker < len(io.tids) else 0
                    gdb.write("zsync fiber %d is running on worker %d (LWP %d):\n" % (f.id, f.worker, lwp))
                    if not _thread_bt(lwp):
                        raise gdb.GdbError("zsync-fiber-bt: no thread with LWP %d" % lwp)
                    return
                if f.state == "finishing":
                    raise gdb.GdbError("zsync-fiber-bt: fiber %d has finished (its stack is gone)" % f.id)
                gdb.write("zsync fiber %d (%s):\n" % (f.id, f.describe(io)))
                _context_bt(f.ctx)
                return
        _context_bt(value)


ZsyncFibers()
ZsyncFiberBt()
