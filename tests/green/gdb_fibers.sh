#!/usr/bin/env bash
# green.gdb_fibers: gdb_fibers.sh PROBE SCRIPT CHECKS — runs gdb_probe under gdb (batch) with
# scripts/gdb/zsync.py and gdb_fibers.py, which lists the fibers and prints each one's backtrace. Exit 77
# (SKIPPED) when gdb is missing.
set -u
probe=$1
script=$2
checks=$3
command -v gdb >/dev/null || { echo "SKIPPED: gdb not found (Debian package gdb)"; exit 77; }
out=$(gdb -nx -batch -x "$script" -x "$checks" "$probe" 2>&1)
echo "$out"
if echo "$out" | grep -qx 'zsync-gdb-test: ok'; then exit 0; fi
echo "FAILED (no 'zsync-gdb-test: ok' line)"
exit 1
