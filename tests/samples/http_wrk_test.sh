#!/usr/bin/env bash
# A short bounded wrk run against http_server: it must complete requests with no socket errors and no
# non-2xx responses, and the server must then exit cleanly on SIGTERM.
#   usage: http_wrk_test.sh HTTP_SERVER BACKEND CONNECTIONS
source "$(dirname "$0")/lib.sh"
SERVER="$1"; BACKEND="$2"; CONNECTIONS="$3"
need wrk

ROOT="$WORK/root"
mkdir -p "$ROOT"
head -c 4096 /dev/urandom >"$ROOT/page.bin"
start_server http "$SERVER" --backend "$BACKEND" --root "$ROOT" --port 0 --bind 127.0.0.1 --workers 2 --quiet

wrk -t1 -c"$CONNECTIONS" -d2s --timeout 5s "http://127.0.0.1:$PORT/page.bin" >"$WORK/wrk.out" 2>&1
rc=$?
sed 's/^/  wrk: /' "$WORK/wrk.out"
check "wrk exited 0" test "$rc" = 0
requests="$(sed -nE 's/^ *([0-9]+) requests in .*/\1/p' "$WORK/wrk.out")"
check "wrk completed requests (${requests:-none})" test "${requests:-0}" -gt 0
# wrk prints these lines only when the counts are not zero.
check "no socket errors" eval '! grep -q "Socket errors" "$WORK/wrk.out"'
check "no non-2xx/3xx responses" eval '! grep -q "Non-2xx or 3xx responses" "$WORK/wrk.out"'
stop_server
finish
