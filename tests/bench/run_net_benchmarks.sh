#!/usr/bin/env bash
# Runs the sync and network benchmarks from an existing build and prints the figures beside their goals
# (docs/benchmarks.md, "Sync and network"). Builds nothing: build first (Release), e.g.
#   cmake --preset release && cmake --build build/release
#   tests/bench/run_net_benchmarks.sh build/release
# Options (after the build dir):
#   --quick          small sizes (a check that everything runs; the figures are not meaningful)
#   --no-callgrind   skip the instruction counts (wall clock only)
#   --no-echo        skip the echo comparison     --no-http   skip the HTTP comparison (wrk)
# Needs valgrind (callgrind), wrk (HTTP) and standalone Asio in the build (the peers). Exit status: 0
# when every goal is met, 1 when one is not (or a figure could not be measured), 2 on a usage or run error.
set -euo pipefail

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 1 ]] || usage
build=$1; shift
quick=0; callgrind=1; echo_on=1; http_on=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=1 ;;
    --no-callgrind) callgrind=0 ;;
    --no-echo) echo_on=0 ;;
    --no-http) http_on=0 ;;
    *) usage ;;
  esac
  shift
done

bd=$build/tests/bench
for p in bench_sync bench_echo_zsync bench_net_client; do
  [[ -x $bd/$p ]] || { echo "error: $bd/$p not found (build the benchmarks first; ZSYNC_BUILD_BENCH=ON)" >&2; exit 2; }
done
if ((callgrind)) && ! command -v valgrind >/dev/null; then
  echo "error: valgrind not found (install it, or pass --no-callgrind)" >&2; exit 2
fi

if ((quick)); then
  iters=100000; rt=500; runs=3; cg_iters=(1000 2000); msgs=200; wrk_d=1s; http_runs=1
else
  iters=10000000; rt=20000; runs=7; cg_iters=(100000 200000); msgs=20000; wrk_d=5s; http_runs=5
fi

work=$(mktemp -d)
pids=()
cleanup() { local p; for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

fig() { awk -v n="$2" -v f="${3:-3}" '$1=="figure" && $2==n {print $f; found=1} END {if (!found) exit 1}' "$1"; }
kv() { awk -v n="$2" -v k="$3" '$1=="figure" && $2==n {for (i=4;i<=NF;i++) {split($i,a,"="); if (a[1]==k) print a[2]}}' "$1"; }
mm() { fig "$1" "$2" >/dev/null 2>&1 || { echo "not measured"; return; }; printf '%s (%s–%s)' "$(fig "$1" "$2")" "$(kv "$1" "$2" min)" "$(kv "$1" "$2" max)"; }
r0() { awk -v x="$1" 'BEGIN {printf "%.0f", x}'; }
mm0() { fig "$1" "$2" >/dev/null 2>&1 || { echo "not measured"; return; }; printf '%s (%s–%s)' "$(r0 "$(fig "$1" "$2")")" "$(r0 "$(kv "$1" "$2" min)")" "$(r0 "$(kv "$1" "$2" max)")"; }
le() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a <= b)}'; }
verdict() { if le "$1" "$2"; then echo met; else echo "NOT met"; fi; }
median() { sort -g | awk '{v[NR]=$1} END {if (!NR) exit 1; printf "%s %s %s\n", (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2), v[1], v[NR]}'; }

echo "== machine"
echo "nproc: $(nproc); cpu: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1); kernel: $(uname -r)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo

failed=0
rows=()

# ---- 1. uncontended Mutex: callgrind instructions per lock+unlock pair (difference of two sizes)
if ((callgrind)); then
  ir() {
    local out=$work/cg.$1.$2
    valgrind --tool=callgrind --collect-atstart=no --toggle-collect='zsync_bench_sync_*' \
      --callgrind-out-file="$out" "$bd/bench_sync" --mode "$1" --workers 1 --iters "$2" >"$out.stdout" 2>"$out.stderr" \
      || { echo "error: callgrind run of bench_sync --mode $1 failed:" >&2; cat "$out.stderr" >&2; exit 2; }
    awk '/^totals:/ {print $2; found=1} END {if (!found) exit 1}' "$out"
  }
  per() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {printf "%.1f", (b-a)/n}'; }
  echo "== callgrind: instructions per uncontended lock+unlock pair ((${cg_iters[1]} − ${cg_iters[0]}) pairs, loop included)"
  d=$(( cg_iters[1] - cg_iters[0] ))
  for m in mutex_blocking mutex_pool std_mutex; do
    v=$(per "$(ir $m ${cg_iters[0]})" "$(ir $m ${cg_iters[1]})" $d)
    printf -v "ir_$m" '%s' "$v"
    printf '  %-15s %s Ir/pair\n' $m "$v"
  done
  echo
  for m in mutex_blocking mutex_pool; do
    v=ir_$m
    ratio=$(awk -v a="${!v}" -v b="$ir_std_mutex" 'BEGIN {printf "%.2f", a/b}')
    vd=$(verdict "$ratio" 1.0); [[ $vd == met ]] || failed=1
    what=BlockingIo; [[ $m == mutex_pool ]] && what="ThreadPoolIo task"
    rows+=("1  Mutex lock+unlock ($what) / std::mutex, Ir|${!v} / $ir_std_mutex Ir = ${ratio}x|<= 1.0x|$vd")
  done
fi

# ---- 1 and 2 in wall-clock time: bench_sync, 1 and 2 workers
for w in 1 2; do
  echo "== bench_sync, $w worker(s): $iters lock+unlock pairs, $rt ping-pong round trips ($runs interleaved runs)"
  "$bd/bench_sync" --mode wall --workers $w --iters $iters --rt $rt --runs $runs | tee "$work/sync.$w"
  echo
done
f=$work/sync.1
rows+=("1  Mutex pair wall ns: BlockingIo / pool task / std|$(mm "$f" sync.w1.mutex.blocking.ns_per_pair) / $(mm "$f" sync.w1.mutex.pool.ns_per_pair) / $(mm "$f" sync.w1.mutex.std.ns_per_pair)|(info)|-")
for w in 1 2; do
  f=$work/sync.$w
  sp=$(awk '$1=="config" {for (i=2;i<=NF;i++) if ($i ~ /^spawn=/) print substr($i,7)}' "$f")
  rows+=("2  Queue ping-pong, $w worker(s) (pong: $sp), ns per round trip: zsync / std threads|$(mm0 "$f" sync.w$w.pingpong.zsync.ns_per_round_trip) / $(mm0 "$f" sync.w$w.pingpong.std.ns_per_round_trip)|(info)|-")
done

# ---- 3. echo throughput, zsync server against the Asio server, the same client
if ((echo_on)); then
  if [[ -x $bd/bench_echo_asio ]]; then
    echo "== echo: K connections × $msgs round trips each, 64 B and 4 KiB ($runs interleaved runs)"
    "$bd/bench_net_client" --server "zsync=$bd/bench_echo_zsync --workers 1" --server "asio=$bd/bench_echo_asio" \
      --conns 1,16 --sizes 64,4096 --msgs $msgs --runs $runs | tee "$work/echo"
    echo
    for k in 1 16; do for b in 64 4096; do
      f=$work/echo; c=k$k.b$b
      rows+=("3  echo K=$k ${b} B: round trips/s zsync / asio|$(mm0 "$f" net.echo.zsync.$c.rt_per_s) / $(mm0 "$f" net.echo.asio.$c.rt_per_s)|(info)|-")
      rows+=("3  echo K=$k ${b} B: MiB/s zsync / asio; paired ratio|$(mm "$f" net.echo.zsync.$c.mib_per_s) / $(mm "$f" net.echo.asio.$c.mib_per_s); $(mm "$f" net.echo.zsync_over_asio.$c.ratio)|(info)|-")
    done; done
  else
    echo "note: bench_echo_asio not built (no standalone Asio): echo comparison skipped"
    rows+=("3  echo zsync / asio|not measured (no Asio)|(info)|-")
  fi
fi

# ---- 4. HTTP under wrk: the zsync sample http_server against the Asio server
if ((http_on)); then
  sample=$build/samples/http_server/http_server
  if ! command -v wrk >/dev/null; then
    echo "note: wrk not found: HTTP comparison skipped"; rows+=("4  HTTP wrk|not measured (no wrk)|0 errors|not measured"); failed=1
  elif [[ ! -x $bd/bench_http_asio || ! -x $sample ]]; then
    echo "note: bench_http_asio or samples/http_server not built: HTTP comparison skipped"
    rows+=("4  HTTP wrk|not measured (server missing)|0 errors|not measured"); failed=1
  else
    mkdir -p "$work/root"
    head -c 4096 /dev/urandom >"$work/root/index.html"
    # Starts a server in the background; sets port to what its first line says.
    start() {
      local name=$1; shift
      "$@" >"$work/$name.out" 2>"$work/$name.err" &
      pids+=($!)
      local i
      for i in $(seq 200); do
        port=$(sed -n '1s/^listening on .*:\([0-9]*\)$/\1/p' "$work/$name.out")
        [[ -n $port ]] && return 0
        sleep 0.05
      done
      echo "error: $name did not print its address" >&2; cat "$work/$name.err" >&2; exit 2
    }
    start zsync "$sample" --backend pool --root "$work/root" --port 0; port_zsync=$port
    start asio "$bd/bench_http_asio" --root "$work/root" --port 0; port_asio=$port
    names=(zsync asio)
    echo "== HTTP: wrk -t1 -c16 -d$wrk_d --latency, GET /index.html (4 KiB), $http_runs interleaved runs per server"
    for ((r = 0; r <= http_runs; r++)); do  # round 0: warm-up, not counted
      for j in 0 1; do
        n=${names[$(( (j + r) % 2 ))]}; p=port_$n
        out=$work/wrk.$n.$r
        wrk -t1 -c16 -d"$( ((r)) && echo $wrk_d || echo 1s )" --latency "http://127.0.0.1:${!p}/index.html" >"$out" 2>&1
        ((r)) || continue
        rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
        lat=$(awk '$1=="Latency" {print $2; exit}' "$out")
        p99=$(awk '$1=="99%" {print $2}' "$out")
        errs=$(awk '/Socket errors:/ {e=0; for (i=3;i<=NF;i++) {gsub(",","",$i); if ($i ~ /^[0-9]+$/) e+=$i}; t+=e} /Non-2xx or 3xx/ {t+=$NF} END {print t+0}' "$out")
        us() { awk -v x="$1" 'BEGIN {v=x+0; if (x ~ /us$/) {} else if (x ~ /ms$/) v*=1000; else if (x ~ /s$/) v*=1e6; printf "%.0f", v}'; }
        echo "  $n run $r: $rps req/s, latency avg $lat p99 $p99, errors $errs"
        echo "$rps" >>"$work/rps.$n"; us "$lat" >>"$work/lat.$n"; echo >>"$work/lat.$n"; us "$p99" >>"$work/p99.$n"; echo >>"$work/p99.$n"
        echo "$errs" >>"$work/errs.$n"
      done
    done
    echo
    for n in zsync asio; do
      read -r m lo hi < <(median <"$work/rps.$n")
      read -r lm llo lhi < <(sed '/^$/d' "$work/lat.$n" | median)
      read -r pm plo phi < <(sed '/^$/d' "$work/p99.$n" | median)
      e=$(awk '{t+=$1} END {print t+0}' "$work/errs.$n")
      printf -v "rps_$n" '%s' "$m"
      vd=met; [[ $e == 0 ]] || { vd="NOT met"; failed=1; }
      rows+=("4  HTTP $n: req/s; latency avg µs; p99 µs|$(r0 $m) ($(r0 $lo)–$(r0 $hi)); $lm ($llo–$lhi); $pm ($plo–$phi)|0 errors|$vd ($e)")
      echo "figure net.http.wrk.$n.requests_per_s $m req/s min=$lo max=$hi runs=$http_runs"
      echo "figure net.http.wrk.$n.latency_avg_us $lm us min=$llo max=$lhi runs=$http_runs"
      echo "figure net.http.wrk.$n.errors $e count"
    done
    rows+=("4  HTTP zsync / asio, ratio of median req/s|$(awk -v a="$rps_zsync" -v b="$rps_asio" 'BEGIN {printf "%.2fx", a/b}')|(info)|-")
    echo
  fi
fi

echo "== summary (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%s\n' "${rows[@]}" | awk -F'|' '{printf "%-78s %-62s %-10s %s\n", $1, $2, $3, $4}'
((quick)) && echo "(--quick: sizes too small for the figures to mean anything)"
exit $failed
