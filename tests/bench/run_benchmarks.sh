#!/usr/bin/env bash
# Runs zsync's benchmark programs from an existing build and prints the figures beside their goals.
# Builds nothing: build first (a Release build gives the meaningful numbers), e.g.
#   cmake --preset release && cmake --build build/release     (or any -DCMAKE_BUILD_TYPE=Release build)
#   tests/bench/run_benchmarks.sh build/release
# Options (after the build dir):
#   --quick          small sizes (a check that everything runs; the figures are not meaningful)
#   --dir DIR        where bench_copy puts its files (default /tmp)
#   --no-callgrind   skip the instruction counts (wall clock only)
# Method (docs/benchmarks.md): per-call costs are instruction counts from callgrind, which counts
# user-space instructions only (the kernel's part of a syscall is not counted, and cancels in a
# difference anyway); only the measured loops (functions zsync_bench_*) are collected. Wall-clock
# figures are medians of interleaved runs with min–max. Exit status: 0 when every goal is met, 1 when
# one is not, 2 on a usage or run error.
set -euo pipefail

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 1 ]] || usage
build=$1; shift
quick=0; copy_dir=/tmp; callgrind=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=1 ;;
    --dir) copy_dir=$2; shift ;;
    --no-callgrind) callgrind=0 ;;
    *) usage ;;
  esac
  shift
done

bin=$build/tests/bench
for p in bench_pread bench_vtable bench_copy; do
  [[ -x $bin/$p ]] || { echo "error: $bin/$p not found (build the benchmarks first; ZSYNC_BUILD_BENCH=ON)" >&2; exit 2; }
done
if ((callgrind)) && ! command -v valgrind >/dev/null; then
  echo "error: valgrind not found (install it, or pass --no-callgrind)" >&2; exit 2
fi

if ((quick)); then
  cg_iters=1000; pread_iters=1000; vt_iters=10000; runs=3; size_mib=4
else
  cg_iters=100000; pread_iters=200000; vt_iters=10000000; runs=7; size_mib=256
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Instructions collected in the zsync_bench_* loop of `prog --mode mode --iters n`.
ir() {
  local prog=$1 mode=$2 n=$3 out=$work/cg.$1.$2
  valgrind --tool=callgrind --collect-atstart=no --toggle-collect='zsync_bench_*' \
    --callgrind-out-file="$out" "$bin/$prog" --mode "$mode" --iters "$n" >"$out.stdout" 2>"$out.stderr" \
    || { echo "error: callgrind run of $prog --mode $mode failed:" >&2; cat "$out.stderr" >&2; exit 2; }
  awk '/^totals:/ {print $2; found=1} END {if (!found) exit 1}' "$out"
}
# A figure's value from a program's output: fig FILE NAME [FIELD] (FIELD 3 = the median / value).
fig() { awk -v n="$2" -v f="${3:-3}" '$1=="figure" && $2==n {print $f; found=1} END {if (!found) exit 1}' "$1"; }
kv() { awk -v n="$2" -v k="$3" '$1=="figure" && $2==n {for (i=4;i<=NF;i++) {split($i,a,"="); if (a[1]==k) print a[2]}}' "$1"; }
per_call() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {printf "%.2f", (a-b)/n}'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a <= b)}'; }
verdict() { if le "$1" "$2"; then echo met; else echo "NOT met"; fi; }

echo "== machine"
echo "nproc: $(nproc); cpu: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1); kernel: $(uname -r)"
echo "copy dir: $copy_dir ($(stat -f -c %T "$copy_dir") filesystem); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

failed=0
rows=()

if ((callgrind)); then
  echo "== callgrind: instructions in the measured loops ($cg_iters calls each)"
  declare -A IR
  for m in io operate direct baseline; do IR[pread.$m]=$(ir bench_pread $m $cg_iters); done
  for m in table direct blocking baseline; do IR[vtable.$m]=$(ir bench_vtable $m $cg_iters); done
  for k in pread.io pread.operate pread.direct pread.baseline vtable.table vtable.direct vtable.blocking vtable.baseline; do
    printf '  %-16s %12s Ir  %8.2f Ir/call\n' "$k" "${IR[$k]}" "$(per_call "${IR[$k]}" 0 $cg_iters)"
  done
  allocs=$(kv "$work/cg.bench_pread.io.stdout" pread.io.allocations per_call)
  allocs_op=$(kv "$work/cg.bench_pread.operate.stdout" pread.operate.allocations per_call)
  # malloc reached from the measured loop at all (whether or not through operator new)?
  mallocs=$(grep -c -E '^c?fn=.*\b(malloc|calloc|realloc)\b' "$work/cg.bench_pread.io" || true)
  d_io=$(per_call "${IR[pread.io]}" "${IR[pread.direct]}" $cg_iters)
  d_op=$(per_call "${IR[pread.operate]}" "${IR[pread.direct]}" $cg_iters)
  d_vt=$(per_call "${IR[vtable.table]}" "${IR[vtable.direct]}" $cg_iters)
  d_bn=$(per_call "${IR[vtable.blocking]}" "${IR[vtable.baseline]}" $cg_iters)
  v1=$(verdict "$d_io" 40); [[ $v1 == met ]] || failed=1
  va=$( [[ $allocs == 0.000000 && $mallocs == 0 ]] && echo met || echo "NOT met"); [[ $va == met ]] || failed=1
  v2=$(verdict "$d_vt" 4); [[ $v2 == met ]] || failed=1
  rows+=("1  64-byte pread: File::pread over ::pread|+$d_io Ir/call|<= +40 Ir|$v1")
  rows+=("1  64-byte pread: io.operate(op) over ::pread|+$d_op Ir/call|(info)|-")
  rows+=("1  allocations per File::pread (malloc in loop: $mallocs)|$allocs|0|$va")
  rows+=("2  call through the Io table over direct call|+$d_vt Ir/call|<= +4 Ir|$v2")
  rows+=("2  BlockingIo operate(nop) through the table|$d_bn Ir/call|(info)|-")
  echo
fi

echo "== wall clock: pread ($runs interleaved runs x $pread_iters calls)"
"$bin/bench_pread" --mode wall --runs $runs --iters $pread_iters --dir "$copy_dir" | tee "$work/pread.wall"
echo "== wall clock: Io table call ($runs interleaved runs x $vt_iters calls)"
"$bin/bench_vtable" --mode wall --runs $runs --iters $vt_iters | tee "$work/vtable.wall"
echo "== wall clock: copy ${size_mib} MiB in 64 KiB chunks ($runs interleaved runs each)"
"$bin/bench_copy" --runs $runs --size-mib $size_mib --chunk-kib 64 --dir "$copy_dir" | tee "$work/copy.wall"
echo

mm() { echo "$(fig "$1" "$2") ($(kv "$1" "$2" min)–$(kv "$1" "$2" max))"; }
rows+=("1  pread wall: direct / File::pread ns per call|$(mm "$work/pread.wall" pread.direct.ns_per_call) / $(mm "$work/pread.wall" pread.io.ns_per_call)|(info)|-")
rows+=("1  pread wall: File::pread / direct (paired ratio)|$(mm "$work/pread.wall" pread.io_over_direct.ratio)|(info)|-")
rows+=("2  table call wall: table − direct ns per call|$(mm "$work/vtable.wall" vtable.table_minus_direct.ns_per_call)|(info)|-")
rows+=("3  copy ${size_mib} MiB: direct / Io ms|$(mm "$work/copy.wall" copy.direct.ms) / $(mm "$work/copy.wall" copy.io.ms)|(info)|-")
rows+=("3  copy: Io / direct, ratio of medians|$(fig "$work/copy.wall" copy.io_over_direct.ratio_of_medians)x (paired: $(mm "$work/copy.wall" copy.io_over_direct.paired_ratio))|reported (no threshold)|-")

echo "== summary"
printf '%s\n' "${rows[@]}" | awk -F'|' '{printf "%-58s %-44s %-24s %s\n", $1, $2, $3, $4}'
((quick)) && echo "(--quick: sizes too small for the figures to mean anything)"
exit $failed
