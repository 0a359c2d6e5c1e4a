#!/usr/bin/env bash
# http_server under overload (issue 10), with real clients (curl, python3 sockets) on 127.0.0.1:
#   usage: http_overload_test.sh HTTP_SERVER BACKEND
# - pool: past --max-connections a client gets 503 with Retry-After at once (not a wait in the listen
#   backlog), the refusals are logged, and once the holders leave clients are served again;
# - a request head that does not complete within --header-timeout gets 408 and a close (slowloris);
#   pool: a normal client is served within its timeout while 200 half-sent heads are open; blocking
#   (one connection at a time): the half head is answered 408 and the next client is served after it;
# - pool: 5,000 simultaneous connects (above a limit of 64) each get a complete response, 200 or 503,
#   and none is reset.
source "$(dirname "$0")/lib.sh"
SERVER="$1"; BACKEND="$2"
need curl python3

ROOT="$WORK/root"
mkdir -p "$ROOT"
printf 'hello, zsync\n' >"$ROOT/a.txt"
CURL=(curl -s --max-time 10)

py() {  # py SCENARIO [ARGS...]: a python client scenario against $PORT
  python3 - "$PORT" "$@" <<'PY'
import socket, sys, time, selectors, errno
port, scenario, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=10); s.settimeout(10); return s
def read_all(s):
    out = bytearray()
    while True:
        b = s.recv(65536)
        if not b: return bytes(out)
        out += b
if scenario == "hold":  # hold N idle connections open for S seconds, printing "held" once connected
    n, secs = int(args[0]), float(args[1])
    socks = [conn() for _ in range(n)]
    print("held", flush=True); time.sleep(secs)
elif scenario == "half":  # N connections each send half a head; each must get 408 and a close within S s
    n, secs = int(args[0]), float(args[1])
    socks = [conn() for _ in range(n)]
    for s in socks: s.sendall(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n")
    print("sent", flush=True)
    t = time.monotonic()
    for i, s in enumerate(socks):
        s.settimeout(max(0.1, secs - (time.monotonic() - t)))
        try:
            d = read_all(s)
        except socket.timeout:
            sys.exit(f"half head {i}: no answer within {secs} s")
        if not d.startswith(b"HTTP/1.1 408 "): sys.exit(f"half head {i}: got {d[:40]!r}")
elif scenario == "storm":  # N simultaneous non-blocking connects, a request on each, count outcomes
    n = int(args[0])
    sel = selectors.DefaultSelector()
    state = {}
    for i in range(n):
        s = socket.socket(); s.setblocking(False)
        r = s.connect_ex(("127.0.0.1", port))
        if r not in (0, errno.EINPROGRESS): sys.exit(f"connect {i}: {errno.errorcode.get(r, r)}")
        state[s] = [b"", False]
        sel.register(s, selectors.EVENT_WRITE)
    counts = {"200": 0, "503": 0, "reset": 0, "other": 0}
    deadline = time.monotonic() + 60
    while state and time.monotonic() < deadline:
        for key, ev in sel.select(timeout=1):
            s = key.fileobj
            st = state[s]
            try:
                if ev & selectors.EVENT_WRITE:
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err: raise ConnectionResetError(err)
                    s.send(b"GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                    sel.modify(s, selectors.EVENT_READ)
                    continue
                b = s.recv(65536)
                if b:
                    st[0] += b; continue
                code = st[0][9:12].decode(errors="replace")
                counts[code if code in ("200", "503") else "other"] += 1
            except (ConnectionResetError, BrokenPipeError):
                counts["reset"] += 1
            sel.unregister(s); s.close(); del state[s]
    counts["unfinished"] = len(state)
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    if counts["reset"] or counts["other"] or state or counts["200"] == 0: sys.exit("storm: " + str(counts))
else:
    sys.exit("unknown scenario " + scenario)
PY
}

wait_line() {  # wait_line FILE TEXT
  local i
  for ((i = 0; i < 200; i++)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}

if [[ $BACKEND != blocking ]]; then
  start_server http "$SERVER" --backend "$BACKEND" --root "$ROOT" --port 0 --bind 127.0.0.1 --workers 2 --quiet \
    --max-connections 4 --idle-timeout 30 --header-timeout 1
  URL="http://127.0.0.1:$PORT"
  py hold 4 4 >"$WORK/hold.out" 2>&1 &
  HOLD=$!
  check "4 idle connections hold the limit" wait_line "$WORK/hold.out" held
  sleep 0.3
  refused_503() {
    local t0=$SECONDS code
    code="$("${CURL[@]}" -D "$WORK/headers" -o "$WORK/body" -w '%{http_code}' "$URL/a.txt")"
    [[ $code == 503 ]] || { echo "  status $code"; return 1; }
    grep -qi '^Retry-After: ' "$WORK/headers" || { echo "  no Retry-After"; return 1; }
    (( SECONDS - t0 <= 2 )) || { echo "  took $((SECONDS - t0)) s"; return 1; }
  }
  check "past --max-connections: 503 with Retry-After at once" refused_503
  check "the refusal is logged" wait_line "$SERVER_ERR" "refused 1 connection"
  kill "$HOLD" 2>/dev/null; wait "$HOLD" 2>/dev/null
  served_again() {
    local i
    for ((i = 0; i < 50; i++)); do
      [[ "$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$URL/a.txt")" == 200 ]] && return 0
      sleep 0.1
    done
    return 1
  }
  check "served again once the holders left" served_again
  stop_server

  start_server http-slow "$SERVER" --backend "$BACKEND" --root "$ROOT" --port 0 --bind 127.0.0.1 --workers 2 --quiet \
    --max-connections 512 --header-timeout 2
  URL="http://127.0.0.1:$PORT"
  py half 200 10 >"$WORK/half.out" 2>&1 &
  HALF=$!
  check "200 half heads sent" wait_line "$WORK/half.out" sent
  normal_served() {
    local t
    t="$("${CURL[@]}" -o "$WORK/body" -w '%{http_code} %{time_total}' "$URL/a.txt")"
    [[ $t == "200 "* ]] && cmp -s "$WORK/body" "$ROOT/a.txt" || { echo "  $t"; return 1; }
    echo "  normal client: $t s"
  }
  check "a normal client is served while 200 half heads are open" normal_served
  check "every half head gets 408 and a close" wait "$HALF"
  stop_server

  start_server http-storm "$SERVER" --backend "$BACKEND" --root "$ROOT" --port 0 --bind 127.0.0.1 --workers 2 --quiet \
    --max-connections 64
  storm() { py storm 5000 >"$WORK/storm.out" 2>&1; local rc=$?; sed 's/^/  /' "$WORK/storm.out"; return $rc; }
  check "5,000 simultaneous connects: each gets 200 or 503, none reset" storm
  stop_server
else
  start_server http-slow "$SERVER" --backend blocking --root "$ROOT" --port 0 --bind 127.0.0.1 --quiet --header-timeout 1
  URL="http://127.0.0.1:$PORT"
  check "start-up says BlockingIo serves one connection at a time" grep -q "one connection at a time" "$SERVER_ERR"
  py half 1 5 >"$WORK/half.out" 2>&1 &
  HALF=$!
  check "a half head sent" wait_line "$WORK/half.out" sent
  after_half() { [[ "$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$URL/a.txt")" == 200 ]]; }
  check "the next client is served after the half head's 408" after_half
  check "the half head got 408 and a close" wait "$HALF"
  stop_server
fi
finish
