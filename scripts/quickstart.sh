#!/usr/bin/env bash
# First run of zsync: installs what is missing (scripts/deps.sh), builds the `release` preset and runs the
# save_data sample (two files written "at once", then a line on standard output) in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh

zsync_deps

configure_quiet=()
[[ -f build/release/build.ninja ]] && configure_quiet=(--log-level=WARNING)
cmake --preset release "${configure_quiet[@]}"
cmake --build --preset release

dir=$(mktemp -d "${TMPDIR:-/tmp}/zsync-quickstart.XXXXXX")
trap 'rm -rf "$dir"' EXIT
echo
echo "\$ build/release/samples/save_data/save_data --dir $dir"
build/release/samples/save_data/save_data --dir "$dir"
ls -l "$dir"
echo
echo "Next: scripts/test.sh (builds the dev preset and runs the tests)."
