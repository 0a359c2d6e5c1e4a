# green.gdb_fibers, run by gdb_fibers.sh as `gdb -batch -x scripts/gdb/zsync.py -x gdb_fibers.py gdb_probe`:
# stops gdb_probe at zsync_gdb_probe_break, runs zsync-fibers and zsync-fiber-bt ID for every listed id,
# prints all of it, and checks it. The last line is "zsync-gdb-test: ok" or "zsync-gdb-test: FAILED ...".
import re

import gdb

failures = []


def check(what, ok):
    gdb.write("check %-55s %s\n" % (what, "ok" if ok else "FAILED"))
    if not ok:
        failures.append(what)


gdb.execute("set pagination off")
gdb.execute("break zsync_gdb_probe_break")
gdb.execute("run")
fd = int(gdb.parse_and_eval("(int)zsync_gdb_probe_fd"))
listing = gdb.execute("zsync-fibers", to_string=True)
gdb.write("--- zsync-fibers (the recv socket is fd %d)\n%s" % (fd, listing))

fiber_line = re.compile(r"^  fiber (\d+) +worker (\d+) +(\w+) *(.*)$", re.M)
fibers = [(int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)) for m in fiber_line.finditer(listing)]
check("header: one GreenThreadsIo, 1 worker, 5 fibers",
      re.search(r"^GreenThreadsIo #\d+: 1 worker \(worker 0: LWP [1-9]\d*\), 5 fibers$", listing, re.M) is not None)
check("5 fiber lines, all on worker 0", len(fibers) == 5 and all(w == 0 for _, w, _, _ in fibers))


def one(state, waits_re):
    found = [f for f in fibers if f[2] == state and re.fullmatch(waits_re, f[3])]
    check("a fiber %s %s" % (state, waits_re), len(found) == 1)
    return found[0][0] if len(found) == 1 else None


ids = {
    "recv": one("parked", r"recv fd=%d  ctx 0x[0-9a-f]+" % fd),
    "sleep": one("parked", r"sleep  ctx 0x[0-9a-f]+"),
    "root": one("parked", r"futex_wait word=0x[0-9a-f]+  ctx 0x[0-9a-f]+"),
    "yield": one("runnable", r"ctx 0x[0-9a-f]+"),
    "breaker": one("running", r"\(LWP [1-9]\d*\)"),
}

expect = {"recv": "parked_in_recv", "sleep": "parked_in_sleep", "yield": "yielding",
          "breaker": "zsync_gdb_probe_break", "root": "g_group_await"}  # the root awaits the group
for name, fid in ids.items():
    if fid is None:
        continue
    out = gdb.execute("zsync-fiber-bt %d" % fid, to_string=True)
    gdb.write("--- zsync-fiber-bt %d (%s)\n%s" % (fid, name, out))
    check("bt of fiber %d (%s) shows %s" % (fid, name, expect[name]), expect[name] in out)
    if name == "breaker":
        check("bt of the running fiber is its worker thread's", "is running on worker 0" in out)

# The real registers are back: the selected thread is still in zsync_gdb_probe_break.
out = gdb.execute("bt 1", to_string=True)
gdb.write("--- bt 1\n" + out)
check("registers restored after the backtraces", "zsync_gdb_probe_break" in out)
gdb.execute("kill")
gdb.write("zsync-gdb-test: %s\n" % ("ok" if not failures else "FAILED: " + "; ".join(failures)))
