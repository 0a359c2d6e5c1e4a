#!/usr/bin/env bash
# Builds and tests zsync: scripts/test.sh [PRESET]   (default: dev; also release, asan, ubsan, tsan)
# Installs missing dependencies first (scripts/deps.sh), then configures, builds and runs
# `ctest --preset PRESET`, which fails when no test is found. Re-running with nothing changed is quick.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh

preset=${1:-dev}
case $preset in
  dev|release|asan|ubsan|tsan) ;;
  -h|--help) sed -n '2,4s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) echo "test.sh: unknown preset '$preset' (dev, release, asan, ubsan, tsan)" >&2; exit 2 ;;
esac

zsync_deps --quiet

# Configure every time (a fraction of a second once configured; quiet then, so that changes to
# CMakePresets.json are picked up), build, test.
configure_quiet=()
[[ -f build/$preset/build.ninja ]] && configure_quiet=(--log-level=WARNING)
cmake --preset "$preset" "${configure_quiet[@]}"
cmake --build --preset "$preset"
ctest --preset "$preset"
