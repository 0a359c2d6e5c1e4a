#!/usr/bin/env bash
# Runs bench_pool (ThreadPoolIo against oneTBB) from an existing build and prints the figures beside
# their goals. Builds nothing: build first (Release gives the meaningful numbers), e.g.
#   cmake --preset release && cmake --build build/release --target bench_pool
#   tests/bench/run_pool_benchmarks.sh build/release
# Options (after the build dir):
#   --quick          small sizes (a check that everything runs; the figures are not meaningful)
#   --no-callgrind   skip the instruction counts (wall clock only)
#   --no-perf        skip the futex / context-switch counts (perf stat)
# Method (docs/benchmarks.md, "ThreadPoolIo"): wall-clock figures are medians of interleaved runs with
# min–max, 1 worker and 2 workers (rows numbered 4: issue 10's goals); each process interleaves the zsync
# and oneTBB modes. Instructions per task are callgrind differences between two sizes of the same mode
# (setup, warm-up and thread start cancel exactly). Syscalls and context switches per task come from
# `perf stat` the same way, when perf can read tracepoints. Exit status: 0 when every goal is met, 1
# when one is not, 2 on a usage or run error.
set -euo pipefail

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 1 ]] || usage
build=$1; shift
quick=0; callgrind=1; perfstat=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=1 ;;
    --no-callgrind) callgrind=0 ;;
    --no-perf) perfstat=0 ;;
    *) usage ;;
  esac
  shift
done

prog=$build/tests/bench/bench_pool
[[ -x $prog ]] || { echo "error: $prog not found (build the benchmarks first; ZSYNC_BUILD_BENCH=ON)" >&2; exit 2; }
if ((callgrind)) && ! command -v valgrind >/dev/null; then
  echo "error: valgrind not found (install it, or pass --no-callgrind)" >&2; exit 2
fi
if ((perfstat)) && ! perf stat -e syscalls:sys_enter_futex true >/dev/null 2>&1; then
  echo "note: perf cannot read the futex tracepoint here: syscall counts skipped"; perfstat=0
fi

if ((quick)); then
  n=15; iters=1000; runs=3; cg_n=(10 12); cg_iters=(500 1000); ps_iters=(500 1000)
else
  n=30; iters=100000; runs=7; cg_n=(16 18); cg_iters=(10000 20000); ps_iters=(20000 40000)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fig() { awk -v n="$2" -v f="${3:-3}" '$1=="figure" && $2==n {print $f; found=1} END {if (!found) exit 1}' "$1"; }
kv() { awk -v n="$2" -v k="$3" '$1=="figure" && $2==n {for (i=4;i<=NF;i++) {split($i,a,"="); if (a[1]==k) print a[2]}}' "$1"; }
mm() { fig "$1" "$2" >/dev/null 2>&1 || { echo "not measured"; return; }; echo "$(fig "$1" "$2") ($(kv "$1" "$2" min)–$(kv "$1" "$2" max))"; }
le() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a <= b)}'; }
verdict() { if le "$1" "$2"; then echo met; else echo "NOT met"; fi; }
fibtasks() { awk -v n="$1" 'BEGIN {a=0; b=1; for (i=0;i<=n;i++) {t=a+b; a=b; b=t}; print a-1}'; }  # fib(n+1)-1

echo "== machine"
echo "nproc: $(nproc); cpu: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1); kernel: $(uname -r)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$prog" --mode seq_fib --n 2 | grep '^note:' || true
echo

failed=0
rows=()

if ((callgrind)); then
  # Instructions collected in zsync_bench_pool_* (on the thread that runs it) for one mode and size.
  ir() {
    local out=$work/cg.$1.$2.$3
    valgrind --tool=callgrind --collect-atstart=no --toggle-collect='zsync_bench_pool_*' \
      --callgrind-out-file="$out" "$prog" --mode "$1" --workers 1 "--$2" "$3" >"$out.stdout" 2>"$out.stderr" \
      || { echo "error: callgrind run of bench_pool --mode $1 failed:" >&2; cat "$out.stderr" >&2; exit 2; }
    awk '/^totals:/ {print $2; found=1} END {if (!found) exit 1}' "$out"
  }
  per() { [[ -n $1 && -n $2 ]] || { echo "error: a callgrind run failed" >&2; exit 2; }; awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {printf "%.1f", (b-a)/n}'; }
  echo "== callgrind, 1 worker: instructions per task (difference of two sizes)"
  dt=$(( $(fibtasks ${cg_n[1]}) - $(fibtasks ${cg_n[0]}) ))
  ir_fib=$(per "$(ir fib n ${cg_n[0]})" "$(ir fib n ${cg_n[1]})" $dt)
  ir_seq=$(per "$(ir seq_fib n ${cg_n[0]})" "$(ir seq_fib n ${cg_n[1]})" $dt)
  ir_spawn=$(per "$(ir spawn iters ${cg_iters[0]})" "$(ir spawn iters ${cg_iters[1]})" $(( cg_iters[1] - cg_iters[0] )))
  echo "  fib zsync      $ir_fib Ir/task   (fib(${cg_n[1]}) - fib(${cg_n[0]}): $dt tasks)"
  echo "  fib seq        $ir_seq Ir/task   (the recursion with plain calls)"
  echo "  spawn+await    $ir_spawn Ir/pair"
  rows+=("fib, 1 worker: zsync Ir per task (callgrind)|$ir_fib Ir (plain recursion: $ir_seq)|(info)|-")
  if grep -q 'oneTBB modes are skipped' "$work/cg.fib.n.${cg_n[0]}.stdout"; then
    echo "  fib oneTBB     skipped (built without oneTBB)"
  else
    ir_tbb=$(per "$(ir tbb_fib n ${cg_n[0]})" "$(ir tbb_fib n ${cg_n[1]})" $dt)
    echo "  fib oneTBB     $ir_tbb Ir/task"
    rows+=("fib, 1 worker: oneTBB Ir per task (callgrind)|$ir_tbb Ir|(info)|-")
  fi
  rows+=("spawn+await, 1 worker: Ir per pair (callgrind)|$ir_spawn Ir|(info)|-")
  echo
fi

if ((perfstat)); then
  # futex syscalls and context switches per task: perf stat of two sizes, difference.
  pst() { perf stat -x, -e syscalls:sys_enter_futex,context-switches "$prog" --mode "$1" --workers "$2" --iters "$3" 2>&1 >/dev/null |
          awk -F, '$3 ~ /futex/ {f=$1} $3 ~ /context-switches/ {c=$1} END {print f+0, c+0}'; }
  echo "== perf stat: futex syscalls and context switches per task (all threads; (${ps_iters[1]} − ${ps_iters[0]}) tasks)"
  for w in 1 2; do
    for m in spawn inject batch; do
      read -r f0 c0 < <(pst $m $w ${ps_iters[0]}); read -r f1 c1 < <(pst $m $w ${ps_iters[1]})
      d=$(( ps_iters[1] - ps_iters[0] ))
      line=$(awk -v f0=$f0 -v f1=$f1 -v c0=$c0 -v c1=$c1 -v d=$d 'BEGIN {printf "%.2f futex, %.2f context switches", (f1-f0)/d, (c1-c0)/d}')
      printf '  %-7s %u worker(s): %s per task\n' "$m" $w "$line"
      if [[ $m == spawn && $w == 2 ]]; then
        # Issue 10: no futex syscall per spawn+await while the pool is busy (0.01 allows a stray wake
        # of a timed sleeper, which is counted over all threads).
        futex2=$(awk -v f0=$f0 -v f1=$f1 -v d=$d 'BEGIN {printf "%.4f", (f1-f0)/d}')
        vf=$(verdict "$futex2" 0.01); [[ $vf == met ]] || failed=1
        rows+=("4  spawn+await, 2 workers: futex syscalls per pair|$futex2 (perf stat, all threads)|<= 0.01|$vf")
      else
        rows+=("$m, $w worker(s): syscalls per task (perf)|$line|(info)|-")
      fi
    done
  done
  echo
fi

for w in 1 2; do
  echo "== wall clock, $w worker(s): fib($n), $iters spawns / round trips / batch ($runs interleaved runs)"
  "$prog" --mode wall --workers $w --n $n --iters $iters --runs $runs | tee "$work/wall.$w"
done
echo

f=$work/wall.1
zs=$(fig "$f" pool.w1.fib.zsync.ns_per_task)
if fig "$f" pool.w1.fib.tbb.ns_per_task >/dev/null 2>&1; then
  tb=$(fig "$f" pool.w1.fib.tbb.ns_per_task)
  rom=$(awk -v a="$zs" -v b="$tb" 'BEGIN {printf "%.3f", a/b}')
  v1=$(verdict "$rom" 1.0); [[ $v1 == met ]] || failed=1
  rows+=("1  fib($n), 1 worker: zsync / oneTBB ns per task|$(mm "$f" pool.w1.fib.zsync.ns_per_task) / $(mm "$f" pool.w1.fib.tbb.ns_per_task)|(info)|-")
  rows+=("1  fib, 1 worker: zsync / oneTBB, ratio of medians|${rom}x (paired: $(mm "$f" pool.w1.fib.zsync_over_tbb.ratio))|<= 1.0x|$v1")
else
  rows+=("1  fib($n), 1 worker: zsync ns per task|$(mm "$f" pool.w1.fib.zsync.ns_per_task)|(info)|-")
  rows+=("1  fib, 1 worker: zsync / oneTBB|not measured (no oneTBB)|<= 1.0x|not measured"); failed=1
fi
sp=$(fig "$f" pool.w1.spawn_await.ns_per_pair)
v2=$(verdict "$sp" 170); [[ $v2 == met ]] || failed=1
rows+=("2  spawn+await no-op on a worker, 1 worker, ns|$(mm "$f" pool.w1.spawn_await.ns_per_pair) (oneTBB run+wait: $(mm "$f" pool.w1.spawn_await.tbb.ns_per_pair))|<= 170 ns|$v2")
rows+=("3  injection round trip from main, 1 worker, ns|$(mm "$f" pool.w1.inject.ns_per_round_trip)|(info)|-")
rows+=("3  $iters injected then awaited, 1 worker, ns per task|$(mm "$f" pool.w1.inject_batch.ns_per_task)|(info)|-")
f=$work/wall.2
rows+=("fib($n), 2 workers: zsync / oneTBB ns per task|$(mm "$f" pool.w2.fib.zsync.ns_per_task) / $(mm "$f" pool.w2.fib.tbb.ns_per_task)|(info)|-")
rows+=("spawn+await, 2 workers, ns|$(mm "$f" pool.w2.spawn_await.ns_per_pair) (oneTBB: $(mm "$f" pool.w2.spawn_await.tbb.ns_per_pair))|(info)|-")
# Issue 10, item 2: with 2 workers, fib and spawn+await at most oneTBB's time (paired per-round ratio).
if fig "$f" pool.w2.fib.zsync_over_tbb.ratio >/dev/null 2>&1; then
  for what in fib spawn_await; do
    r2=$(fig "$f" pool.w2.$what.zsync_over_tbb.ratio)
    v=$(verdict "$r2" 1.0); [[ $v == met ]] || failed=1
    rows+=("4  $what, 2 workers: zsync / oneTBB, paired ratio|$(mm "$f" pool.w2.$what.zsync_over_tbb.ratio)|<= 1.0x|$v")
  done
fi
rows+=("injection round trip, 2 workers, ns|$(mm "$f" pool.w2.inject.ns_per_round_trip)|(info)|-")
rows+=("injected batch, 2 workers, ns per task|$(mm "$f" pool.w2.inject_batch.ns_per_task)|(info)|-")

echo "== summary"
printf '%s\n' "${rows[@]}" | awk -F'|' '{printf "%-52s %-58s %-10s %s\n", $1, $2, $3, $4}'
((quick)) && echo "(--quick: sizes too small for the figures to mean anything)"
exit $failed
