#!/usr/bin/env bash
# http_server on one backend, checked with curl (and raw requests from python3) over 127.0.0.1:
#   usage: http_server_test.sh HTTP_SERVER BACKEND
# 200 with the exact bytes (a small file, a 300 KiB binary over several write chunks, a percent-encoded
# name, a directory's index.html), Content-Type, 404, 405 with Allow, HEAD (Content-Length, no body),
# 400 for raw malformed requests, 414 / 431 for oversized ones, traversal refused (/../, %2e%2e, an
# encoded slash; the file outside the root never served), keep-alive (curl re-uses the connection;
# not with Connection: close or HTTP/1.0), two pipelined requests, the idle timeout (an idle client is
# dropped, and on BlockingIo the next client is served after it), Last-Modified and If-Modified-Since
# (304, in all three date forms; malformed dates ignored), Range (206 with Content-Range, 416, a list of
# ranges and malformed ones answered 200 with the whole file, If-Range), Content-Type by extension, and
# a clean exit on SIGTERM.
source "$(dirname "$0")/lib.sh"
SERVER="$1"; BACKEND="$2"
need curl python3

ROOT="$WORK/root"
mkdir -p "$ROOT/sub" "$ROOT/empty dir"
printf 'hello, zsync\n' >"$ROOT/a.txt"
head -c 307200 /dev/urandom >"$ROOT/blob.bin"
printf '<p>index</p>\n' >"$ROOT/sub/index.html"
printf 'spaced\n' >"$ROOT/a b.txt"
printf 'SECRET outside the root\n' >"$WORK/secret.txt"

start_server http "$SERVER" --backend "$BACKEND" --root "$ROOT" --port 0 --bind 127.0.0.1 --workers 2 --idle-timeout 1
URL="http://127.0.0.1:$PORT"
CURL=(curl -s --max-time 10)

get_ok() {  # get_ok PATH FILE: 200 and exactly FILE's bytes
  local code
  code="$("${CURL[@]}" -o "$WORK/body" -w '%{http_code}' "$URL$1")" || { echo "  curl failed"; return 1; }
  [[ $code == 200 ]] || { echo "  status $code"; return 1; }
  cmp "$WORK/body" "$2"
}
status_is() {  # status_is CODE CURL-ARGS...: the response status (after --path-as-is: no normalising)
  local want="$1" code; shift
  code="$("${CURL[@]}" --path-as-is -o "$WORK/body" -w '%{http_code}' "$@")"
  [[ $code == "$want" ]] || { echo "  status $code, wanted $want"; return 1; }
}
not_secret() { ! grep -q SECRET "$WORK/body"; }
refused() {  # refused PATH: 400 or 404, and not the file outside the root
  local code
  code="$("${CURL[@]}" --path-as-is -o "$WORK/body" -w '%{http_code}' "$URL$1")"
  [[ $code == 400 || $code == 404 ]] || { echo "  status $code"; return 1; }
  not_secret
}
header_has() {  # header_has REGEX CURL-ARGS...
  local re="$1"; shift
  "${CURL[@]}" -o /dev/null -D "$WORK/headers" "$@" && grep -qiE "$re" "$WORK/headers"
}

raw() {  # raw PYTHON-BYTES-LITERAL: sends it, prints the whole response (until the server closes)
  python3 - "$PORT" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.settimeout(10)
s.sendall(eval(sys.argv[2], {}))  # a bytes expression from this script
out = bytearray()
while True:
    try:
        b = s.recv(65536)
    except ConnectionResetError:
        break
    if not b: break
    out += b
sys.stdout.buffer.write(bytes(out))
PY
}
raw_status() {  # raw_status CODE PYTHON-BYTES-LITERAL
  local first
  first="$(raw "$2" | head -n1 | tr -d '\r')"
  [[ $first == "HTTP/1.1 $1 "* ]] || { echo "  got '$first'"; return 1; }
}

check "GET a small file: 200, exact bytes" get_ok /a.txt "$ROOT/a.txt"
check "GET a 300 KiB binary: 200, exact bytes" get_ok /blob.bin "$ROOT/blob.bin"
check "GET a percent-encoded name" get_ok /a%20b.txt "$ROOT/a b.txt"
check "GET a directory serves its index.html" get_ok /sub/ "$ROOT/sub/index.html"
check "GET with a query string" get_ok "/a.txt?x=1&y=/../z" "$ROOT/a.txt"
absolute_form() {  # RFC 9112 §3.2.2: GET http://host/a.txt HTTP/1.1
  local code
  code="$("${CURL[@]}" --request-target "http://127.0.0.1:$PORT/a.txt" -o "$WORK/body" -w '%{http_code}' "$URL/")"
  [[ $code == 200 ]] || { echo "  status $code"; return 1; }
  cmp "$WORK/body" "$ROOT/a.txt"
}
check "absolute-form target (curl --request-target http://host/a.txt): 200, exact bytes" absolute_form
check "absolute-form raw: GET http://t/sub/ HTTP/1.1" eval 'raw "b\"GET http://t/sub/ HTTP/1.1\\r\\nHost: t\\r\\nConnection: close\\r\\n\\r\\n\"" | grep -q "<p>index</p>"'
check "absolute-form traversal refused: http://t/../secret.txt" eval 'raw "b\"GET http://t/../secret.txt HTTP/1.1\\r\\nHost: t\\r\\nConnection: close\\r\\n\\r\\n\"" | { ! grep -q SECRET; }'
check "Content-Type text/plain for .txt" header_has '^Content-Type: text/plain' "$URL/a.txt"
check "Content-Type text/html for .html" header_has '^Content-Type: text/html' "$URL/sub/index.html"
check "Content-Length of the binary" header_has '^Content-Length: 307200' "$URL/blob.bin"
check "404 for a missing file" status_is 404 "$URL/missing.txt"
check "404 for a directory without index.html" status_is 404 "$URL/empty%20dir/"
check "404 for an absolute path outside the root (/etc/passwd is root-relative)" status_is 404 "$URL/etc/passwd"
check "405 for POST" status_is 405 -X POST "$URL/a.txt"
check "405 carries Allow: GET, HEAD" header_has '^Allow: GET, HEAD' -X DELETE "$URL/a.txt"

# Conditional and range requests (RFC 9110 §13, §14). a.txt and blob.bin get a known modification time.
touch -d '2001-02-03 04:05:06 UTC' "$ROOT/a.txt" "$ROOT/blob.bin"
LM='Sat, 03 Feb 2001 04:05:06 GMT'
printf '{}\n' >"$ROOT/x.json"; printf 'x' >"$ROOT/noext"; printf 'p' >"$ROOT/p.PNG"
check "Content-Type application/json for .json" header_has '^Content-Type: application/json' "$URL/x.json"
check "Content-Type image/png for .PNG (case-insensitive)" header_has '^Content-Type: image/png' "$URL/p.PNG"
check "Content-Type application/octet-stream without an extension" header_has '^Content-Type: application/octet-stream' "$URL/noext"
check "Last-Modified is the file's mtime as an IMF-fixdate" header_has "^Last-Modified: $LM" "$URL/a.txt"
check "Accept-Ranges: bytes" header_has '^Accept-Ranges: bytes' "$URL/blob.bin"
code_size() {  # code_size 'CODE SIZE' CURL-ARGS...: status and body bytes received
  local want="$1" got; shift
  got="$("${CURL[@]}" -o "$WORK/body" -D "$WORK/headers" -w '%{http_code} %{size_download}' "$@")"
  [[ $got == "$want" ]] || { echo "  got '$got', wanted '$want'"; return 1; }
}
check "If-Modified-Since equal to Last-Modified: 304, no body (curl -z)" code_size '304 0' -z "$LM" "$URL/a.txt"
check "304 keeps Last-Modified" grep -qi "^Last-Modified: $LM" "$WORK/headers"
check "If-Modified-Since later: 304" code_size '304 0' -z 'Sun, 04 Feb 2001 00:00:00 GMT' "$URL/a.txt"
check "If-Modified-Since in RFC 850 form: 304" code_size '304 0' -H 'If-Modified-Since: Saturday, 03-Feb-01 04:05:06 GMT' "$URL/a.txt"
check "If-Modified-Since in asctime form: 304" code_size '304 0' -H 'If-Modified-Since: Sat Feb  3 04:05:06 2001' "$URL/a.txt"
check "If-Modified-Since older than the file: 200 with the body" code_size '200 13' -z 'Sat, 03 Feb 2001 04:05:05 GMT' "$URL/a.txt"
check "If-Modified-Since malformed: ignored, 200" code_size '200 13' -H 'If-Modified-Since: yesterday' "$URL/a.txt"
check "If-Modified-Since with If-None-Match: ignored, 200" code_size '200 13' -H "If-Modified-Since: $LM" -H 'If-None-Match: "x"' "$URL/a.txt"
check "HEAD with If-Modified-Since: 304" code_size '304 0' -I -z "$LM" "$URL/a.txt"
range_ok() {  # range_ok RANGE FIRST LAST: 206, Content-Range FIRST-LAST/307200, exactly those bytes of blob.bin
  code_size "206 $(($3 - $2 + 1))" -r "$1" "$URL/blob.bin" || return 1
  grep -qi "^Content-Range: bytes $2-$3/307200"$'\r'"\$" "$WORK/headers" || { echo "  $(grep -i content-range "$WORK/headers")"; return 1; }
  grep -qi "^Content-Length: $(($3 - $2 + 1))"$'\r'"\$" "$WORK/headers" || { echo "  Content-Length wrong"; return 1; }
  python3 -c 'import sys; f, l = int(sys.argv[3]), int(sys.argv[4]); sys.exit(open(sys.argv[1], "rb").read()[f:l + 1] != open(sys.argv[2], "rb").read())' \
    "$ROOT/blob.bin" "$WORK/body" "$2" "$3" || { echo "  body differs"; return 1; }
}
check "Range 0-0: 206, the first byte" range_ok 0-0 0 0
check "Range 100-65635 (crosses the write chunk): 206, exact bytes" range_ok 100-65635 100 65635
check "Range 300000- (open end): 206" range_ok 300000- 300000 307199
check "Range -1000 (suffix): 206, the last 1000 bytes" range_ok -1000 306200 307199
check "Range 307000-999999 (end clamped): 206" range_ok 307000-999999 307000 307199
check "Range -999999 (suffix longer than the file): 206, all of it" range_ok -999999 0 307199
unsatisfiable() {
  code_size "416 $(printf '416 Range Not Satisfiable\n' | wc -c)" "$@" "$URL/blob.bin" || return 1
  grep -qi '^Content-Range: bytes \*/307200' "$WORK/headers"
}
check "Range 307200- (past the end): 416 with Content-Range: bytes */307200" unsatisfiable -r 307200-
check "Range -0: 416" unsatisfiable -H 'Range: bytes=-0'
check "a list of ranges: the whole file, 200 (documented)" code_size '200 307200' -r 0-1,5-6 "$URL/blob.bin"
check "malformed Range (bytes=x-y): ignored, 200" code_size '200 307200' -H 'Range: bytes=x-y' "$URL/blob.bin"
check "malformed Range (bytes=5-3): ignored, 200" code_size '200 307200' -H 'Range: bytes=5-3' "$URL/blob.bin"
check "Range in another unit: ignored, 200" code_size '200 307200' -H 'Range: items=0-1' "$URL/blob.bin"
check "Range with a huge number: ignored, 200" code_size '200 307200' -H 'Range: bytes=99999999999999999999999-' "$URL/blob.bin"
check "If-Range equal to Last-Modified: the range, 206" code_size '206 10' -r 0-9 -H "If-Range: $LM" "$URL/blob.bin"
check "If-Range with another date: the whole file, 200" code_size '200 307200' -r 0-9 -H 'If-Range: Sun, 04 Feb 2001 00:00:00 GMT' "$URL/blob.bin"
check "If-Range with an entity tag: the whole file, 200" code_size '200 307200' -r 0-9 -H 'If-Range: "abc"' "$URL/blob.bin"
check "HEAD with Range: ignored, 200" code_size '200 0' -I -r 0-9 "$URL/blob.bin"
check "Range with If-Modified-Since current: 304 wins" code_size '304 0' -r 0-9 -z "$LM" "$URL/blob.bin"
range_keep() { "${CURL[@]}" -v -r 0-9 -o /dev/null -o /dev/null "$URL/blob.bin" "$URL/blob.bin" 2>&1 | grep -q 'Re-using existing connection'; }
check "keep-alive after a 206" range_keep
unsat_keep() { "${CURL[@]}" -v -r 999999- -o /dev/null -o /dev/null "$URL/blob.bin" "$URL/a.txt" 2>&1 | grep -q 'Re-using existing connection'; }
check "keep-alive after a 416" unsat_keep
check "400 for a control character in a Range field" raw_status 400 'b"GET /blob.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=0-\x01\r\n\r\n"'
check "raw two-range request: 200, the whole file" eval 'raw "b\"GET /a.txt HTTP/1.1\\r\\nHost: t\\r\\nRange: bytes=0-1,3-4\\r\\nConnection: close\\r\\n\\r\\n\"" | grep -q "hello, zsync"'

# HEAD: the GET's head, no body.
head_ok() {
  "${CURL[@]}" -I -o "$WORK/headers" -w '%{http_code} %{size_download}' "$URL/blob.bin" >"$WORK/w" || return 1
  [[ "$(cat "$WORK/w")" == "200 0" ]] || { echo "  $(cat "$WORK/w")"; return 1; }
  grep -qi '^Content-Length: 307200' "$WORK/headers"
}
check "HEAD: 200, Content-Length, no body (curl)" head_ok
head_raw() {  # with Connection: close the server closes after the head: nothing may follow it
  raw 'b"HEAD /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"' >"$WORK/resp"
  python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); h,sep,rest=d.partition(b"\r\n\r\n"); sys.exit(0 if sep and h.startswith(b"HTTP/1.1 200") and b"Content-Length: 13" in h and rest==b"" else repr(d))' "$WORK/resp"
}
check "HEAD: no body bytes on the wire (raw)" head_raw

# Malformed and oversized requests.
check "400 for a malformed request line" raw_status 400 'b"GARBAGE\r\n\r\n"'
check "400 for a request line with two spaces" raw_status 400 'b"GET  /a.txt HTTP/1.1\r\nHost: t\r\n\r\n"'
check "400 for a header line without a colon" raw_status 400 'b"GET /a.txt HTTP/1.1\r\nHost t\r\n\r\n"'
check "400 for HTTP/1.1 without Host" raw_status 400 'b"GET /a.txt HTTP/1.1\r\n\r\n"'
check "505 for HTTP/2.0" raw_status 505 'b"GET /a.txt HTTP/2.0\r\nHost: t\r\n\r\n"'
check "414 for a 20 KiB target" raw_status 414 'b"GET /" + b"a" * 20480 + b" HTTP/1.1\r\nHost: t\r\n\r\n"'
check "431 for 20 KiB of header fields" raw_status 431 'b"GET /a.txt HTTP/1.1\r\nHost: t\r\n" + b"X-Pad: " + b"p" * 20480 + b"\r\n\r\n"'

# Traversal: never the file outside the root.
check "refused: /../secret.txt" refused /../secret.txt
check "refused: /sub/../../secret.txt" refused /sub/../../secret.txt
check "refused: /%2e%2e/secret.txt" refused /%2e%2e/secret.txt
check "refused: /%2E%2E%2Fsecret.txt" refused /%2E%2E%2Fsecret.txt
check "refused: /sub%2f..%2f..%2fsecret.txt" refused /sub%2f..%2f..%2fsecret.txt
check "refused: /..%5csecret.txt" refused /..%5csecret.txt
check "refused (raw): GET /../secret.txt" eval 'raw "b\"GET /../secret.txt HTTP/1.1\\r\\nHost: t\\r\\nConnection: close\\r\\n\\r\\n\"" | { ! grep -q SECRET; }'

# Keep-alive.
reuses() { "${CURL[@]}" -v -o /dev/null -o /dev/null "$@" "$URL/a.txt" "$URL/sub/" 2>&1 | grep -q 'Re-using existing connection'; }
check "keep-alive: curl re-uses the connection for a second request" reuses
check "Connection: close is honoured (no re-use)" eval '! reuses -H "Connection: close"'
check "HTTP/1.0 closes by default (no re-use)" eval '! reuses --http1.0'
check "HTTP/1.0 with Connection: keep-alive is kept" reuses --http1.0 -H "Connection: keep-alive"
pipelined() {
  raw 'b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\nGET /sub/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"' >"$WORK/resp"
  [[ "$(grep -c 'HTTP/1.1 200' "$WORK/resp")" == 2 ]] && grep -q 'hello, zsync' "$WORK/resp" && grep -q '<p>index</p>' "$WORK/resp"
}
check "two pipelined requests on one connection" pipelined

# Idle timeout (--idle-timeout 1): an idle connection is closed; on BlockingIo, which serves one
# connection at a time, the next client is served once the idle one is dropped.
idle() {
  python3 - "$PORT" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
t = time.monotonic()
s.settimeout(10)
d = s.recv(1)
el = time.monotonic() - t
sys.exit(0 if d == b"" and el < 5 else f"idle connection: recv {d!r} after {el:.1f} s")
PY
  local idle_pid=$!
  sleep 0.2
  get_ok /a.txt "$ROOT/a.txt" || { echo "  a client after the idle one was not served"; wait $idle_pid; return 1; }
  wait $idle_pid
}
check "idle keep-alive connection dropped after the timeout; others still served" idle

stop_server
finish
