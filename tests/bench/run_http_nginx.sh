#!/usr/bin/env bash
# HTTP: the sample http_server on GreenThreadsIo against nginx with one worker process, both serving the
# same 4 KiB file, same run, under wrk (issue 13: goal >= 1.0x nginx, 0 socket errors).
#
#   tests/bench/run_http_nginx.sh BUILD_DIR [--conns "16 256"] [--duration 5s] [--runs 5] [--workers "1 2"]
#
# Servers: `http_server --backend green --workers W` for each W, and nginx (worker_processes 1, sendfile,
# access log off, keep-alive without a request limit). Rounds are interleaved: every round runs every
# connection count on every server, the order rotating; one short untimed round first. Figures:
#   figure net.http.nginx_cmp.<server>.c<C>.requests_per_s   median, min-max of the rounds
#   figure net.http.nginx_cmp.<server>_over_nginx.c<C>.ratio  paired per-round ratio
#   figure net.http.nginx_cmp.<server>.c<C>.errors           socket errors + non-2xx, all rounds
# wrk runs with one thread (-t1): client and servers share the machine's CPUs (two here), so this
# compares servers under the same client, not the machine's capacity. Exit 0 when it measured (the
# verdict is in the figures), 2 on a setup error.
set -euo pipefail
build=${1:?usage: run_http_nginx.sh BUILD_DIR [--conns LIST] [--duration D] [--runs N] [--workers LIST]}
shift
conns="16 256" duration=5s runs=5 workers="1 2"
while (($#)); do
  case $1 in
    --conns) conns=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    *) echo "run_http_nginx.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
sample=$build/samples/http_server/http_server
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x $sample ]] || { echo "error: $sample not built" >&2; exit 2; }
[[ -x $nginx ]] || { echo "error: nginx not found (install the Debian package nginx-light: not in scripts/deps.sh, since its postinst starts a service on port 80)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "error: wrk not found" >&2; exit 2; }

work=$(mktemp -d /tmp/run_http_nginx.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
chmod 755 "$work"  # nginx's worker may run as another user (nobody) when started as root
mkdir -p "$work/root"
head -c 4096 /dev/urandom >"$work/root/index.html"
chmod 644 "$work/root/index.html"

# A free port for nginx (it cannot report one it chose): ask the kernel, then release it.
nginx_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 100000000;
  client_body_temp_path $work/tmp_body;
  proxy_temp_path $work/tmp_proxy;
  fastcgi_temp_path $work/tmp_fcgi;
  uwsgi_temp_path $work/tmp_uwsgi;
  scgi_temp_path $work/tmp_scgi;
  server { listen 127.0.0.1:$nginx_port; root $work/root; }
}
EOF
"$nginx" -p "$work" -c "$work/nginx.conf" 2>"$work/nginx.stderr" &
pids+=($!)

names=() ports=()
for w in $workers; do
  "$sample" --backend green --workers "$w" --root "$work/root" --port 0 --bind 127.0.0.1 --max-connections 4096 --quiet \
    >"$work/green$w.out" 2>"$work/green$w.err" &
  pids+=($!)
  port=
  for _ in $(seq 200); do
    port=$(sed -n '1s/^listening on .*:\([0-9]*\)$/\1/p' "$work/green$w.out")
    [[ -n $port ]] && break
    sleep 0.05
  done
  [[ -n $port ]] || { echo "error: http_server --workers $w did not print its address" >&2; cat "$work/green$w.err" >&2; exit 2; }
  names+=("green_w$w") ports+=("$port")
done
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$nginx_port/index.html" && break; sleep 0.05; done
curl -sf -o /dev/null "http://127.0.0.1:$nginx_port/index.html" || { echo "error: nginx does not serve" >&2; cat "$work/nginx.stderr" "$work/nginx.err" >&2 || true; exit 2; }
names+=(nginx) ports+=("$nginx_port")
ns=${#names[@]}

echo "config conns=\"$conns\" duration=$duration runs=$runs workers=\"$workers\" nproc=$(nproc) load=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
for ((r = 0; r <= runs; r++)); do  # round 0: untimed warm-up
  for c in $conns; do
    for ((j = 0; j < ns; j++)); do
      i=$(( (j + r) % ns ))
      out=$work/wrk.${names[$i]}.c$c.$r
      wrk -t1 -c"$c" -d"$( ((r)) && echo "$duration" || echo 1s )" "http://127.0.0.1:${ports[$i]}/index.html" >"$out" 2>&1 || true
      ((r)) || continue
      rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
      errs=$(awk '/Socket errors:/ {for (i=3;i<=NF;i++) {gsub(",","",$i); if ($i ~ /^[0-9]+$/) t+=$i}} /Non-2xx or 3xx/ {t+=$NF} END {print t+0}' "$out")
      echo "${rps:-0}" >>"$work/rps.${names[$i]}.c$c"
      echo "$r ${rps:-0}" >>"$work/round.${names[$i]}.c$c"
      echo "$errs" >>"$work/errs.${names[$i]}.c$c"
    done
  done
done

median() { sort -g | awk '{v[NR]=$1} END {if (!NR) {print "0 0 0"; exit} m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.3f %.3f %.3f\n", m, v[1], v[NR]}'; }
for c in $conns; do
  for n in "${names[@]}"; do
    read -r m lo hi < <(median <"$work/rps.$n.c$c")
    echo "figure net.http.nginx_cmp.$n.c$c.requests_per_s $m req/s min=$lo max=$hi runs=$runs"
    echo "figure net.http.nginx_cmp.$n.c$c.errors $(awk '{t+=$1} END {print t+0}' "$work/errs.$n.c$c") count"
  done
  for n in "${names[@]}"; do
    [[ $n == nginx ]] && continue
    read -r m lo hi < <(join "$work/round.$n.c$c" "$work/round.nginx.c$c" | awk '$3 > 0 {print $2 / $3}' | median)
    echo "figure net.http.nginx_cmp.${n}_over_nginx.c$c.ratio $m x min=$lo max=$hi runs=$runs"
  done
done
