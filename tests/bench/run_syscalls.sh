#!/usr/bin/env bash
# Syscalls per echoed message: the reactor's echo server on io_uring and on epoll, and the Asio echo
# server, in the same run (docs/benchmarks.md, "Reactor"). Builds nothing: build first (Release), e.g.
#   cmake --preset release && cmake --build --preset release
#   tests/bench/run_syscalls.sh build/release
# Options (after the build dir):
#   --conns 1,64     connection counts            --size 64       message size in bytes
#   --msgs 2000,6000 the two message counts per connection (see Method)
#   --tool strace|perf  strace -f -c (default: per-syscall breakdown) or perf stat -e raw_syscalls:sys_enter
#                    attached to the running server (total only; the server runs at full speed)
#
# Method. Each server runs alone under `strace -f -c` (every thread it has; io_uring's kernel workers
# make no syscalls of their own), while bench_net_client, outside strace, makes round trips on K
# connections: write S bytes, read the S bytes back (checked). Each (server, K) is measured twice, with
# M1 and M2 round trips per connection (--runs 1: one untimed round of min(M,100)+1 and one of M+1, each
# on fresh connections), then
#     syscalls/message = (calls(M2) - calls(M1)) / (K * (M2 - M1)),
# which cancels start-up, accept and close. Everything the server calls counts, failed calls too
# (epoll's EAGAIN retries). strace stops the server at every syscall, so the server is slower than
# usual and, with many connections, finds more ready per turn: figures for K > 1 are those of a slowed
# server (io_uring batches more per io_uring_enter, epoll more events per epoll_wait).
# Prints, per server and K, the figure and the per-syscall breakdown (calls per message, >= 0.005).
# With --tool perf the server is not stopped at each syscall (perf counts the raw_syscalls:sys_enter
# tracepoint of the server's threads, attached with -p after it printed its address, detached when the
# client is done), so batching is what it is at full speed; perf gives the total only.
# Exit status 0, or 2 on a usage or run error.
set -euo pipefail

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 1 ]] || usage
build=$1; shift
conns=1,64; size=64; msgs=2000,6000; tool=strace
while [[ $# -gt 0 ]]; do
  case $1 in
    --tool) tool=$2; shift ;;
    --conns) conns=$2; shift ;;
    --size) size=$2; shift ;;
    --msgs) msgs=$2; shift ;;
    *) usage ;;
  esac
  shift
done
IFS=, read -r m1 m2 <<<"$msgs"
[[ -n ${m1:-} && -n ${m2:-} && $m2 -gt $m1 && $m1 -ge 100 ]] || { echo "error: --msgs M1,M2 with 100 <= M1 < M2" >&2; exit 2; }
case $tool in
  strace) command -v strace >/dev/null || { echo "error: strace not found (scripts/deps.sh installs it)" >&2; exit 2; } ;;
  perf) command -v perf >/dev/null || { echo "error: perf not found" >&2; exit 2; } ;;
  *) usage ;;
esac

bd=$build/tests/bench
for p in bench_echo_reactor bench_net_client; do
  [[ -x $bd/$p ]] || { echo "error: $bd/$p not found (build the benchmarks first; ZSYNC_BUILD_BENCH=ON)" >&2; exit 2; }
done
names=(uring epoll)
declare -A cmd=([uring]="$bd/bench_echo_reactor --reactor uring" [epoll]="$bd/bench_echo_reactor --reactor epoll" [asio]="$bd/bench_echo_asio")
if [[ -x $bd/bench_echo_asio ]]; then names+=(asio); else echo "note: bench_echo_asio not built (no standalone Asio): asio skipped"; fi

work=$(mktemp -d)
tracer=
cleanup() { [[ -n $tracer ]] && { kill "$tracer" 2>/dev/null || true; wait "$tracer" 2>/dev/null || true; }; rm -rf "$work"; }
trap cleanup EXIT

# Runs server $1 under strace while the client makes $3 round trips on each of $2 connections;
# leaves the strace -c table in $work/$1.k$2.m$3.
measure() {
  local name=$1 k=$2 m=$3 out=$work/$1.k$2.m$3 port= i child perf_pid=
  # shellcheck disable=SC2086  # the command is words
  if [[ $tool == strace ]]; then
    strace -f -c -o "$out" ${cmd[$name]} >"$out.stdout" 2>"$out.stderr" &
  else
    ${cmd[$name]} >"$out.stdout" 2>"$out.stderr" &
  fi
  tracer=$!
  for i in $(seq 400); do
    port=$(sed -n '1s/^listening on .*:\([0-9]*\)$/\1/p' "$out.stdout" 2>/dev/null)
    [[ -n $port ]] && break
    sleep 0.05
  done
  [[ -n $port ]] || { echo "error: $name did not print its address" >&2; cat "$out.stderr" >&2; exit 2; }
  if [[ $tool == perf ]]; then
    perf stat -x, -e raw_syscalls:sys_enter -p "$tracer" -o "$out.perf" &
    perf_pid=$!
    sleep 0.5  # perf attaches
  fi
  "$bd/bench_net_client" --connect "$name=127.0.0.1:$port" --conns "$k" --sizes "$size" --msgs "$m" --runs 1 >"$out.client" 2>&1 \
    || { echo "error: bench_net_client against $name failed:" >&2; cat "$out.client" >&2; exit 2; }
  if [[ $tool == perf ]]; then
    kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
    kill -TERM "$tracer"; wait "$tracer" 2>/dev/null || true
    tracer=
    # perf -x, lines: value,unit,event,...  Written as an strace-like "total" row for calls().
    awk -F, '$3 ~ /raw_syscalls:sys_enter/ {printf "100.00 0 0 %s total\n", $1; found=1} END {if (!found) exit 1}' "$out.perf" >"$out" \
      || { echo "error: no perf count for $name (k=$k, m=$m):" >&2; cat "$out.perf" >&2; exit 2; }
    return
  fi
  # End the server itself (strace's child), so strace writes its table as the tracee exits.
  child=$(pgrep -P "$tracer" | head -1 || true)
  [[ -n $child ]] && kill -TERM "$child" 2>/dev/null || kill -TERM "$tracer"
  wait "$tracer" 2>/dev/null || true
  tracer=
  grep -q ' total$' "$out" || { echo "error: no strace summary for $name (k=$k, m=$m)" >&2; exit 2; }
}

# calls of every syscall in an strace -c table: "name calls" lines (the total as "total").
calls() { awk '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ {print $NF, $4}' "$1"; }

echo "== machine"
echo "nproc: $(nproc); kernel: $(uname -r); tool: $tool ($($tool --version 2>&1 | head -1))"
echo "commit: $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "== syscalls per echoed message ($tool): ${size} B messages, (calls(M=$m2) - calls(M=$m1)) / (K * $((m2 - m1)))"
summary=()
IFS=, read -ra ks <<<"$conns"
for k in "${ks[@]}"; do
  for name in "${names[@]}"; do
    measure "$name" "$k" "$m1"
    measure "$name" "$k" "$m2"
    n=$(( k * (m2 - m1) ))
    per=$(join -a2 -e0 -o 0,1.2,2.2 <(calls "$work/$name.k$k.m$m1" | sort) <(calls "$work/$name.k$k.m$m2" | sort) |
          awk -v n="$n" '{printf "%s %.3f\n", $1, ($3 - $2) / n}')
    total=$(awk '$1=="total" {print $2}' <<<"$per")
    breakdown=$(awk '$1!="total" && $2 >= 0.005 {printf "%s%s %s", sep, $1, $2; sep=", "}' < <(sort -k2,2gr <<<"$per"))
    echo "figure reactor.syscalls.$tool.$name.k$k.b$size.per_message $total syscalls/msg ($breakdown)"
    summary+=("K=$k  $name|$total|$breakdown")
  done
done
echo
echo "== summary: syscalls per echoed message (${size} B, $tool)"
printf '%s\n' "${summary[@]}" | awk -F'|' '{printf "  %-12s %7s   %s\n", $1, $2, $3}'
