#!/usr/bin/env bash
# Runs the AArch64 fiber tests under qemu-user: run_aarch64.sh TESTS PROBE. Exit 77 (ctest: SKIPPED) with
# the reason when qemu-aarch64 or the binary is missing; otherwise the tests' own exit status.
set -u
tests=$1
probe=$2
if ! command -v qemu-aarch64 >/dev/null; then
  echo "SKIPPED: qemu-aarch64 not found (Debian package qemu-user; scripts/deps.sh installs it)"
  exit 77
fi
if [[ ! -x $tests ]]; then
  echo "SKIPPED: $tests was not built"
  exit 77
fi
export QEMU_LD_PREFIX=/usr/aarch64-linux-gnu
# The probe is spawned by the tests: it runs under qemu through binfmt_misc if registered, else the tests
# are told to start it through qemu themselves.
export ZSYNC_FIBER_PROBE_RUNNER="$(command -v qemu-aarch64)"
exec qemu-aarch64 -L /usr/aarch64-linux-gnu "$tests"
