#!/usr/bin/env bash
# Bad input on the echo or HTTP sample server (issue 13, item 5), with real clients (python3 sockets):
#   usage: bad_input_test.sh echo|http SERVER BACKEND
# - clients that reset mid-transfer (SO_LINGER 0, then close) while data flows both ways;
# - a peer that never reads (it fills both socket buffers): the server keeps serving other clients, and
#   closes that connection itself once its write deadline passes (echo: --idle-timeout; http: the
#   30 s write timeout);
# - 200 idle connections holding half a request (echo: a few bytes already echoed; http: half a head,
#   answered 408 after --header-timeout) and, for http, 100 that never send a byte (closed after
#   --idle-timeout): others are served while they are open, and the server closes every one itself.
# After each step the server's descriptors (/proc/PID/fd) and threads (/proc/PID/task) must be back
# at the baseline taken after a first served client. The server runs in its own process, so its heap
# is not counted here (the in-process tests in tests/green count allocations).
source "$(dirname "$0")/lib.sh"
KIND="$1"; SERVER="$2"; BACKEND="$3"
need python3

ROOT="$WORK/root"
mkdir -p "$ROOT"
printf 'hello, zsync\n' >"$ROOT/a.txt"
head -c $((8 << 20)) /dev/urandom >"$ROOT/big.bin"

py() {  # py SCENARIO [ARGS...]: a python client scenario against $PORT
  python3 - "$PORT" "$KIND" "$ROOT" "$@" <<'PY'
import os, select, socket, struct, sys, threading, time
port, kind, root, scenario, args = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]

def conn(timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout); s.settimeout(timeout); return s

def read_all(s):
    out = bytearray()
    while True:
        b = s.recv(65536)
        if not b: return bytes(out)
        out += b

def served():  # one well-behaved client: exact echo of 1 MiB, or GET /a.txt with the file's bytes
    s = conn()
    if kind == "echo":
        data = os.urandom(1 << 20)
        t = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR))); t.start()
        got = read_all(s); t.join(); s.close()
        return got == data
    s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    got = read_all(s); s.close()
    return got.startswith(b"HTTP/1.1 200 ") and got.endswith(open(root + "/a.txt", "rb").read())

def closed_by_server(s, limit):  # waits until the server closed s (end of stream or reset); seconds taken
    t = time.monotonic()
    s.setblocking(False)
    while time.monotonic() - t < limit:
        r, _, x = select.select([s], [], [s], 0.2)
        if not r and not x: continue
        try:
            while True:
                b = s.recv(65536)
                if not b: return time.monotonic() - t
        except BlockingIOError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - t
    return None

def closed_unread(s, limit):  # as closed_by_server, without reading anything (a reset or a FIN seen by poll)
    t = time.monotonic()
    p = select.poll()
    p.register(s, select.POLLERR | select.POLLHUP | select.POLLRDHUP)
    while time.monotonic() - t < limit:
        if p.poll(200): return time.monotonic() - t
    return None

if scenario == "served":
    sys.exit(0 if served() else "a well-behaved client was not served correctly")
elif scenario == "warm":  # N well-behaved clients at once, a few times (every worker's lazy state made)
    ok = []
    for _ in range(3):
        ts = [threading.Thread(target=lambda: ok.append(served())) for _ in range(int(args[0]))]
        for t in ts: t.start()
        for t in ts: t.join()
    sys.exit(0 if all(ok) and len(ok) == 3 * int(args[0]) else "a well-behaved client was not served correctly")
elif scenario == "reset":  # N clients reset the connection mid-transfer
    n = int(args[0])
    def one(i):
        s = conn()
        if kind == "echo":  # as much as goes without blocking: the echo flows back meanwhile
            s.setblocking(False)
            try:
                for _ in range(16): s.send(os.urandom(64 << 10))
            except BlockingIOError:
                pass
            s.setblocking(True)
        else:
            s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n" * 4)
        s.recv(1000 + i)                       # the transfer has started
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()                              # RST, with data in flight on both sides
    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts: t.start()
    for t in ts: t.join()
    print("reset", n, flush=True)
elif scenario == "noread":  # fill both buffers, never read, until the server closes (within LIMIT s)
    limit, hold = float(args[0]), float(args[1])
    s = conn()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.setblocking(False)
    chunk = os.urandom(65536) if kind == "echo" else b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n" * 64
    sent, stalled = 0, None
    while True:  # until sends have failed for 1 s: the server stopped reading (its writes block)
        try:
            sent += s.send(chunk); stalled = None
        except BlockingIOError:
            stalled = stalled or time.monotonic()
            if time.monotonic() - stalled > 1: break
            time.sleep(0.02)
    print(f"full after {sent} bytes", flush=True)
    took = closed_unread(s, limit)
    if took is None: sys.exit(f"the server did not close a peer that never reads within {limit} s")
    print(f"closed by the server {took:.1f} s after the buffers filled", flush=True)
    time.sleep(hold)  # our end stays open meanwhile: the server's descriptor is its own to close
elif scenario == "idle":  # N half requests (and M silent connections), each closed by the server in LIMIT s
    n, m, limit, at_least = int(args[0]), int(args[1]), float(args[2]), float(args[3])
    half = []
    for i in range(n):
        s = conn()
        if kind == "echo":
            s.sendall(b"half a request %d" % i)
            want = b"half a request %d" % i
            got = b""
            while len(got) < len(want): got += s.recv(len(want) - len(got))
            if got != want: sys.exit(f"idle {i}: echo {got!r}")
        else:
            s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n")
        half.append(s)
    silent = [conn() for _ in range(m)]
    print("held", flush=True)
    t0 = time.monotonic()
    for i, s in enumerate(half + silent):
        took = closed_by_server(s, max(0.5, limit - (time.monotonic() - t0)))
        if took is None: sys.exit(f"connection {i} of {n + m} not closed by the server within {limit} s")
    el = time.monotonic() - t0
    if el < at_least: sys.exit(f"closed after {el:.1f} s, before the timeout ({at_least} s)")
    print(f"all {n + m} closed by the server after {el:.1f} s", flush=True)
    time.sleep(float(args[4]))  # our ends stay open meanwhile: the server's descriptors are its own to close
else:
    sys.exit("unknown scenario " + scenario)
PY
}

fds() { ls "/proc/$SERVER_PID/fd" 2>/dev/null | wc -l; }
# The server's own threads: io_uring's io-wq workers (iou-wrk-N, started and retired by the kernel for
# file reads) are listed under /proc/PID/task too, and are not counted.
threads() { cat /proc/"$SERVER_PID"/task/*/comm 2>/dev/null | grep -cv '^iou-'; }
wait_line() {  # wait_line FILE TEXT [SECONDS]
  local i
  for ((i = 0; i < ${3:-10} * 20; i++)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}
# back_to_baseline WHAT: descriptors and threads as at the start (the last closes may take a moment).
back_to_baseline() {
  local i f t
  for ((i = 0; i < 100; i++)); do
    f="$(fds)"; t="$(threads)"
    [[ $f == "$BASE_FDS" && $t == "$BASE_THREADS" ]] && { pass "$1: $f fds, $t threads (the baseline)"; return; }
    sleep 0.05
  done
  fail "$1: $f fds (baseline $BASE_FDS), $t threads (baseline $BASE_THREADS)"
  ls -l "/proc/$SERVER_PID/fd" 2>/dev/null | sed 's/^/  /' | tail -n 20
}

if [[ $KIND == echo ]]; then
  IDLE=2; WRITE_LIMIT=15
  start_server echo "$SERVER" --backend "$BACKEND" --port 0 --bind 127.0.0.1 --workers 2 --idle-timeout "$IDLE" --max-connections 1024
else
  IDLE=2; HEADER=3; WRITE_LIMIT=45  # http_server's write timeout is 30 s (not configurable)
  start_server http "$SERVER" --backend "$BACKEND" --root "$ROOT" --port 0 --bind 127.0.0.1 --workers 2 --quiet \
    --idle-timeout "$IDLE" --header-timeout "$HEADER" --max-connections 1024
fi
# The baseline is taken once every worker has served clients: each worker's reactor starts its offload
# threads (file I/O, open, stat) on first use, and those stay for the server's life.
check "32 clients at once are served, three times" py warm 32
sleep 0.3
BASE_FDS="$(fds)"; BASE_THREADS="$(threads)"
echo "baseline: $BASE_FDS fds, $BASE_THREADS threads"

check "50 clients reset mid-transfer (SO_LINGER 0)" py reset 50
check "served after the resets" py served
back_to_baseline "after the resets"

py noread "$WRITE_LIMIT" 5 >"$WORK/noread.out" 2>&1 &
NOREAD=$!
check "a peer that never reads filled its buffers" wait_line "$WORK/noread.out" "full after" 20
check "served while a peer never reads" py served
check "the server closed the peer that never reads" wait_line "$WORK/noread.out" "closed by the server" "$WRITE_LIMIT"
back_to_baseline "the server's end of the peer that never reads closed (the peer's still open)"
check "the never-reading client ended well" wait "$NOREAD"
sed 's/^/  /' "$WORK/noread.out"

if [[ $KIND == echo ]]; then
  py idle 200 0 15 "$((IDLE - 1))" 5 >"$WORK/idle.out" 2>&1 &
else
  py idle 200 100 15 "$((IDLE - 1))" 5 >"$WORK/idle.out" 2>&1 &
fi
IDLERS=$!
check "idle connections with half a request held" wait_line "$WORK/idle.out" held 20
# A connect completes in the kernel's backlog before the server accepts it: give the accepts time.
for ((i = 0; i < 200; i++)); do held_fds="$(fds)"; ((held_fds >= BASE_FDS + 200)) && break; sleep 0.05; done
if ((held_fds >= BASE_FDS + 200)); then pass "the server holds them ($held_fds fds)"; else fail "the server holds $held_fds fds with 200+ idle connections (baseline $BASE_FDS)"; fi
check "served while the idle connections are open" py served
check "every idle connection closed by the server after its timeout" wait_line "$WORK/idle.out" "closed by the server" 20
back_to_baseline "the server's ends of the idle connections closed (the clients' still open)"
check "the idle clients ended well" wait "$IDLERS"
sed 's/^/  /' "$WORK/idle.out"
check "served at the end" py served
stop_server
finish
