#!/usr/bin/env bash
# http_server and symbolic links under the served root (issue 10), checked with curl:
#   usage: http_symlink_test.sh HTTP_SERVER BACKEND
# By default a link that resolves outside the root is refused with 403 and its target's bytes are never
# served (root/etclink -> /etc: GET /etclink/passwd; a link to a file beside the root), links that stay
# inside are followed (a file, a directory), a link loop is 404 and the server goes on serving. With
# --follow-symlinks the link to /etc is followed (what the option promises).
source "$(dirname "$0")/lib.sh"
SERVER="$1"; BACKEND="$2"
need curl

ROOT="$WORK/root"
mkdir -p "$ROOT/sub"
printf 'hello, zsync\n' >"$ROOT/a.txt"
printf '<p>index</p>\n' >"$ROOT/sub/index.html"
printf 'SECRET outside the root\n' >"$WORK/secret.txt"
ln -s /etc "$ROOT/etclink"
ln -s ../secret.txt "$ROOT/secretlink"
ln -s a.txt "$ROOT/inlink"
ln -s sub "$ROOT/sublink"
ln -s ../a.txt "$ROOT/sub/uplink"
ln -s loop "$ROOT/loop"

CURL=(curl -s --max-time 10)
status_is() {  # status_is CODE PATH: the status, and the body is never /etc/passwd's or the secret
  local code
  code="$("${CURL[@]}" --path-as-is -o "$WORK/body" -w '%{http_code}' "$URL$2")"
  [[ $code == "$1" ]] || { echo "  status $code, wanted $1"; return 1; }
  if [[ $1 != 200 ]] && { grep -q '^root:' "$WORK/body" || grep -q SECRET "$WORK/body"; }; then echo "  served a file outside the root"; return 1; fi
}
get_ok() {  # get_ok PATH FILE
  local code
  code="$("${CURL[@]}" -o "$WORK/body" -w '%{http_code}' "$URL$1")" || { echo "  curl failed"; return 1; }
  [[ $code == 200 ]] || { echo "  status $code"; return 1; }
  cmp "$WORK/body" "$2"
}

start_server http "$SERVER" --backend "$BACKEND" --root "$ROOT" --port 0 --bind 127.0.0.1 --workers 2 --quiet
URL="http://127.0.0.1:$PORT"
check "403 for /etclink/passwd (root/etclink -> /etc)" status_is 403 /etclink/passwd
check "403 for /etclink/ (a directory outside)" status_is 403 /etclink/
check "403 for /secretlink (-> ../secret.txt)" status_is 403 /secretlink
check "link to a file inside: 200, its bytes" get_ok /inlink "$ROOT/a.txt"
check "link to a directory inside: its index.html" get_ok /sublink/ "$ROOT/sub/index.html"
check "link up but still inside (sub/uplink -> ../a.txt)" get_ok /sub/uplink "$ROOT/a.txt"
check "404 for a link loop" status_is 404 /loop
check "still serving after the loop" get_ok /a.txt "$ROOT/a.txt"
stop_server

start_server http-follow "$SERVER" --backend "$BACKEND" --root "$ROOT" --port 0 --bind 127.0.0.1 --workers 2 --quiet --follow-symlinks
URL="http://127.0.0.1:$PORT"
follows() { get_ok /etclink/passwd /etc/passwd; }
check "--follow-symlinks: /etclink/passwd is /etc/passwd" follows
check "--follow-symlinks: /secretlink is served" get_ok /secretlink "$WORK/secret.txt"
stop_server
finish
