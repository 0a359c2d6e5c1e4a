#!/usr/bin/env bash
# Runs zsync's benchmark programs from an existing build and prints the figures beside their goals
# (bench_pread, bench_vtable, bench_copy; and bench_frames, stackless frames against coroutines, when
# the build has it: it needs zsync-gen).
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

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
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
frames=0
if [[ -x $bin/bench_frames ]]; then frames=1; else echo "note: $bin/bench_frames not found (it needs zsync-gen): frames skipped" >&2; fi
if ((callgrind)) && ! command -v valgrind >/dev/null; then
  echo "error: valgrind not found (install it, or pass --no-callgrind)" >&2; exit 2
fi

if ((quick)); then
  cg_iters=1000; pread_iters=1000; vt_iters=10000; runs=3; size_mib=4; frames_iters=10000
else
  cg_iters=100000; pread_iters=200000; vt_iters=10000000; runs=7; size_mib=256; frames_iters=10000000
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
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
# Instructions per iteration as the difference of two sizes, (Ir(2n) - Ir(n)) / n: what runs once per
# process (warm-up, lazy binding, the first allocation) cancels. The 2n run's files stay in $work.
ir_diff() {
  local a b
  a=$(ir "$1" "$2" "$3")
  b=$(ir "$1" "$2" $((2 * $3)))
  per_call "$b" "$a" "$3"
}
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
  if ((frames)); then
    echo "== callgrind: stackless frames against coroutines ((Ir(2n) - Ir(n)) / n, n = $cg_iters)"
    declare -A FR
    for m in resume_frame resume_coro resume_coro_op init_frame init_coro; do
      FR[$m]=$(ir_diff bench_frames $m $cg_iters)
      printf '  %-16s %8s Ir per %s\n' "$m" "${FR[$m]}" "${m%%_*}"
    done
    f_allocs=$(kv "$work/cg.bench_frames.init_frame.stdout" frames.init_frame.allocations_per_init allocations)
    c_allocs=$(kv "$work/cg.bench_frames.init_coro.stdout" frames.init_coro.allocations_per_init allocations)
    f_mallocs=$(grep -c -E '^c?fn=.*\b(malloc|calloc|realloc)\b' "$work/cg.bench_frames.init_frame" || true)
    r_res=$(ratio "${FR[resume_frame]}" "${FR[resume_coro]}")
    r_res_op=$(ratio "${FR[resume_frame]}" "${FR[resume_coro_op]}")
    r_init=$(ratio "${FR[init_frame]}" "${FR[init_coro]}")
    vr=$(verdict "$r_res" 1.0); [[ $vr == met ]] || failed=1
    vi=$(verdict "$r_init" 0.5); [[ $vi == met ]] || failed=1
    if [[ -z $f_allocs ]]; then vfa="n/a (operator new not replaced)"
    else vfa=$( [[ $f_allocs == 0 && $f_mallocs == 0 ]] && echo met || echo "NOT met"); [[ $vfa == met ]] || failed=1; fi
    rows+=("F1 resume: frame / coroutine, Ir per resume|${FR[resume_frame]} / ${FR[resume_coro]} = ${r_res}x|<= 1.0x|$vr")
    rows+=("F1 resume: frame / coroutine with an Operation|${FR[resume_frame]} / ${FR[resume_coro_op]} = ${r_res_op}x|(info)|-")
    rows+=("F2 init: async_init / coroutine creation, Ir|${FR[init_frame]} / ${FR[init_coro]} = ${r_init}x|<= 0.5x|$vi")
    rows+=("F2 allocations per init: frame (malloc: $f_mallocs) / coroutine|${f_allocs:-n/a} / ${c_allocs:-n/a} in $((2 * cg_iters)) inits each|0 for the frame|$vfa")
  fi
  echo
fi

echo "== wall clock: pread ($runs interleaved runs x $pread_iters calls)"
"$bin/bench_pread" --mode wall --runs $runs --iters $pread_iters --dir "$copy_dir" | tee "$work/pread.wall"
echo "== wall clock: Io table call ($runs interleaved runs x $vt_iters calls)"
"$bin/bench_vtable" --mode wall --runs $runs --iters $vt_iters | tee "$work/vtable.wall"
echo "== wall clock: copy ${size_mib} MiB in 64 KiB chunks ($runs interleaved runs each)"
"$bin/bench_copy" --runs $runs --size-mib $size_mib --chunk-kib 64 --dir "$copy_dir" | tee "$work/copy.wall"
if ((frames)); then
  echo "== stackless frames: sizes, and wall clock ($runs interleaved runs x $frames_iters resumes, $((frames_iters / 10)) inits)"
  "$bin/bench_frames" --mode wall --runs $runs --iters $frames_iters | tee "$work/frames.wall"
fi
echo

mm() { echo "$(fig "$1" "$2") ($(kv "$1" "$2" min)–$(kv "$1" "$2" max))"; }
rows+=("1  pread wall: direct / File::pread ns per call|$(mm "$work/pread.wall" pread.direct.ns_per_call) / $(mm "$work/pread.wall" pread.io.ns_per_call)|(info)|-")
rows+=("1  pread wall: File::pread / direct (paired ratio)|$(mm "$work/pread.wall" pread.io_over_direct.ratio)|(info)|-")
rows+=("2  table call wall: table − direct ns per call|$(mm "$work/vtable.wall" vtable.table_minus_direct.ns_per_call)|(info)|-")
rows+=("3  copy ${size_mib} MiB: direct / Io ms|$(mm "$work/copy.wall" copy.direct.ms) / $(mm "$work/copy.wall" copy.io.ms)|(info)|-")
rows+=("3  copy: Io / direct, ratio of medians|$(fig "$work/copy.wall" copy.io_over_direct.ratio_of_medians)x (paired: $(mm "$work/copy.wall" copy.io_over_direct.paired_ratio))|reported (no threshold)|-")
if ((frames)); then
  fw=$work/frames.wall
  rows+=("F1 resume wall ns: frame / coroutine / coroutine+Operation|$(mm "$fw" frames.resume.frame.ns_per_resume) / $(mm "$fw" frames.resume.coro.ns_per_resume) / $(mm "$fw" frames.resume.coro_op.ns_per_resume)|(info)|-")
  rows+=("F1 resume wall: frame / coroutine (paired)|$(mm "$fw" frames.resume.frame_over_coro.ratio); with Operation $(mm "$fw" frames.resume.frame_over_coro_op.ratio)|(info)|-")
  rows+=("F2 init+destroy wall ns: frame / coroutine|$(mm "$fw" frames.init.frame.ns_per_init_destroy) / $(mm "$fw" frames.init.coro.ns_per_init_destroy); paired $(mm "$fw" frames.init.frame_over_coro.ratio)|(info)|-")
  for b in loop string buffer4k nested; do
    fs=$(fig "$fw" frames.size.$b.frame); cs=$(fig "$fw" frames.size.$b.coro); os=$(fig "$fw" frames.size.$b.coro_op)
    rs=$(fig "$fw" frames.size.$b.frame_over_coro.ratio); ro=$(fig "$fw" frames.size.$b.frame_over_coro_op.ratio)
    vs=$(verdict "$rs" 1.0); [[ $vs == met ]] || failed=1
    rows+=("F3 frame size, $b: frame_size / coroutine frame|$fs / $cs B = ${rs}x (coroutine+Operation $os B: ${ro}x)|<= 1.0x|$vs")
  done
  w10=$(fig "$fw" frames.w10.frame_size); w10b=$(kv "$fw" frames.w10.frame_size bound)
  vw=$(verdict "$w10" "$w10b"); [[ $vw == met ]] || failed=1
  rows+=("F4 ten wrappers around 8 KiB: frame_size<&w10>|$w10 B (bound $w10b, static_assert)|<= bound|$vw")
fi

echo "== summary"
printf '%s\n' "${rows[@]}" | awk -F'|' '{printf "%-58s %-44s %-24s %s\n", $1, $2, $3, $4}'
((quick)) && echo "(--quick: sizes too small for the figures to mean anything)"
exit $failed
