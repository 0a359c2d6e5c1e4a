# Shared by the sample script tests: start a server on an ephemeral loopback port, stop it, fail, skip.
# Each test sources this, then calls start_server; the EXIT trap kills what is still running.
set -uo pipefail

SKIP=77  # CTest SKIP_RETURN_CODE
WORK="$(mktemp -d "${TMPDIR:-/tmp}/zsync-samples.XXXXXX")"
SERVER_PID=""
PORT=""
FAILURES=0

cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

need() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null || { echo "SKIP: $c is not installed (scripts/deps.sh installs it)"; exit "$SKIP"; }
  done
}

fail() { echo "FAIL: $*"; FAILURES=$((FAILURES + 1)); }
pass() { echo "ok: $*"; }
check() {  # check DESCRIPTION COMMAND...: the command must succeed
  local what="$1"; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

# start_server LOGNAME COMMAND...: runs the server in the background, waits (10 s at most) for its first
# line "listening on 127.0.0.1:PORT" and sets SERVER_PID and PORT.
start_server() {
  local name="$1"; shift
  SERVER_OUT="$WORK/$name.out"; SERVER_ERR="$WORK/$name.err"
  "$@" >"$SERVER_OUT" 2>"$SERVER_ERR" &
  SERVER_PID=$!
  local i line=""
  for ((i = 0; i < 200; i++)); do
    line="$(head -n1 "$SERVER_OUT" 2>/dev/null)"
    [[ "$line" == "listening on "* ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  if [[ "$line" != "listening on 127.0.0.1:"* ]]; then
    echo "FAIL: $name did not print 'listening on 127.0.0.1:PORT' (got '$line')"; cat "$SERVER_ERR"; exit 1
  fi
  PORT="${line##*:}"
  echo "$name: $line (pid $SERVER_PID)"
}

# stop_server: SIGTERM, then the server must exit with status 0 within 10 s.
stop_server() {
  local i
  kill -TERM "$SERVER_PID"
  for ((i = 0; i < 200; i++)); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.05
  done
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    fail "server still running 10 s after SIGTERM"
    return
  fi
  wait "$SERVER_PID"
  local rc=$?
  SERVER_PID=""
  if [[ $rc == 0 ]]; then pass "clean exit on SIGTERM"; else fail "exit status $rc after SIGTERM"; sed 's/^/  server: /' "$SERVER_ERR"; fi
}

finish() {
  if ((FAILURES)); then
    echo "$FAILURES check(s) failed; server stderr (last 30 lines):"
    tail -n 30 "$SERVER_ERR" 2>/dev/null | sed 's/^/  /'
    exit 1
  fi
  echo "all checks passed"
  exit 0
}
