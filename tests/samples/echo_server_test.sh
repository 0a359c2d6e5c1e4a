#!/usr/bin/env bash
# echo_server on one backend, checked with real clients (python3 sockets) over 127.0.0.1:
#   usage: echo_server_test.sh ECHO_SERVER BACKEND
# - 1 MiB of random bytes comes back exactly (written and read at once, so neither side can stall);
# - connections one after another; an empty connection gets an empty echo;
# - pool only: 4 connections served at once (each answered while all are open), and
#   --max-connections 2 closes a third client at once (issue 10: never left waiting in the backlog),
#   and a client after one of the first two closed is served;
# - SIGTERM with a client connected and idle: the server exits 0 (the blocked read is cancelled).
source "$(dirname "$0")/lib.sh"
SERVER="$1"; BACKEND="$2"
need python3

client() {  # client SCENARIO: runs one python scenario against $PORT
  python3 - "$PORT" "$1" <<'PY'
import os, socket, sys, threading, time
port, scenario = int(sys.argv[1]), sys.argv[2]

def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.settimeout(10)
    return s

def read_all(s):
    out = bytearray()
    while True:
        b = s.recv(65536)
        if not b:
            return bytes(out)
        out += b

def read_n(s, n):
    out = bytearray()
    while len(out) < n:
        b = s.recv(n - len(out))
        if not b:
            break
        out += b
    return bytes(out)

if scenario == "big":
    data = os.urandom(1 << 20)
    s = conn()
    def send():
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    t = threading.Thread(target=send); t.start()
    got = read_all(s); t.join()
    sys.exit(0 if got == data else f"echoed {len(got)} bytes, not the 1 MiB sent (equal prefix: {got == data[:len(got)]})")
elif scenario == "sequential":
    for i in range(5):
        s = conn()
        msg = f"message {i}\n".encode() * (i + 1)
        s.sendall(msg); s.shutdown(socket.SHUT_WR)
        got = read_all(s); s.close()
        if got != msg: sys.exit(f"connection {i}: got {got!r}")
    s = conn(); s.shutdown(socket.SHUT_WR)
    if read_all(s) != b"": sys.exit("an empty connection got bytes back")
elif scenario == "concurrent":
    socks = [conn() for _ in range(4)]
    for i, s in enumerate(socks): s.sendall(b"hello %d" % i)
    for i, s in enumerate(socks):  # every one answered while all four are open
        got = read_n(s, 7)
        if got != b"hello %d" % i: sys.exit(f"connection {i}: got {got!r}")
    for s in socks: s.close()
elif scenario == "limit":  # server started with --max-connections 2
    a, b = conn(), conn()
    for s in (a, b): s.sendall(b"x")
    for s in (a, b):
        if read_n(s, 1) != b"x": sys.exit("one of the first two connections was not served")
    c = conn(); c.settimeout(5)
    t = time.monotonic()
    try:
        c.sendall(b"y")
        got = c.recv(1)
    except ConnectionResetError:
        got = b""
    except socket.timeout:
        sys.exit("a third connection past --max-connections 2 was left waiting instead of closed")
    if got != b"": sys.exit(f"a third connection was served past --max-connections 2 (got {got!r})")
    if time.monotonic() - t > 2: sys.exit("the third connection was closed only after %.1f s" % (time.monotonic() - t))
    c.close()
    a.close()
    for attempt in range(50):  # the server counts a out once its task ends
        d = conn()
        try:
            d.sendall(b"z")
            if read_n(d, 1) == b"z": break
        except (ConnectionResetError, BrokenPipeError):
            pass
        d.close()
        time.sleep(0.05)
    else:
        sys.exit("no connection was served after one of the first two closed")
    b.close(); d.close()
elif scenario == "idle":  # connect, send nothing, keep the connection open (until killed)
    s = conn()
    s.sendall(b"z")
    if read_n(s, 1) != b"z": sys.exit("no echo")
    print("connected", flush=True)
    time.sleep(30)
else:
    sys.exit("unknown scenario " + scenario)
PY
}

start_server echo "$SERVER" --backend "$BACKEND" --port 0 --bind 127.0.0.1 --workers 2
check "1 MiB echoed exactly" client big
check "sequential connections and an empty one" client sequential
if [[ $BACKEND != blocking ]]; then
  check "4 connections served at once" client concurrent
fi
# SIGTERM while a client is connected and idle (its read blocks in the server).
client idle >"$WORK/idle.out" 2>&1 &
IDLE=$!
for ((i = 0; i < 100; i++)); do grep -q connected "$WORK/idle.out" && break; sleep 0.05; done
check "idle client connected" grep -q connected "$WORK/idle.out"
stop_server
kill "$IDLE" 2>/dev/null; wait "$IDLE" 2>/dev/null

if [[ $BACKEND != blocking ]]; then
  start_server echo-limit "$SERVER" --backend "$BACKEND" --port 0 --bind 127.0.0.1 --max-connections 2
  check "--max-connections 2 closes a third client at once; a later one is served" client limit
  stop_server
fi
finish
