#!/usr/bin/env bash
# fiber.gdb_backtrace: gdb_check.sh PROBE SCRIPT — runs `fiber_probe parked` under gdb (batch), and asks
# scripts/gdb/zsync.py for the backtrace of each parked fiber. Exit 77 (SKIPPED) when gdb is missing.
set -u
probe=$1
script=$2
command -v gdb >/dev/null || { echo "SKIPPED: gdb not found (Debian package gdb)"; exit 77; }
out=$(gdb -nx -batch -ex "source $script" -ex "break zsync_probe_break" -ex "run parked" \
  -ex "zsync-fiber-bt zsync_probe_parked[0]" -ex "zsync-fiber-bt zsync_probe_parked[1]" -ex "bt 1" \
  -ex "kill" "$probe" 2>&1)
echo "$out"
alpha=$(echo "$out" | sed -n '/zsync context .*:/,$p' | grep -c 'parked_in_alpha')
beta=$(echo "$out" | grep -c 'parked_in_beta')
# and the real registers came back: the last `bt 1` is in zsync_probe_break again
back=$(echo "$out" | tail -n 5 | grep -c 'zsync_probe_break')
if [[ $alpha -ge 1 && $beta -ge 1 && $back -ge 1 ]]; then echo "ok"; exit 0; fi
echo "FAILED: alpha=$alpha beta=$beta registers-restored=$back"
exit 1
