#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test except the `long` label.
#   scripts/test.sh            all tests (what CI runs), fuzz smoke runs included
#   scripts/test.sh -L unit    only the unit tests (any ctest arguments pass through)
#   LONG=1 scripts/test.sh     include the long-running tests
#   SANITIZE=address,undefined scripts/test.sh
#                              the same tests built with ASan + UBSan in build-sanitize/ (any
#                              report fails the test; SANITIZE_LAYERS=runtime builds only that
#                              layer, the Raft core and cluster logic, and its unit and
#                              simulation tests, as CI does)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/setup.sh"
args=(--output-on-failure -j2 --timeout 900)
[ "${LONG:-0}" = 1 ] || args+=(-LE long)
build_args=()
if [ -n "${SANITIZE:-}" ]; then
  export BUILD_DIR=${BUILD_DIR:-$ROOT/build-sanitize}
  # -O1 without debug info: instrumented -O2 -g builds of the CAF-heavy code take ~4x longer.
  export BUILD_TYPE=${BUILD_TYPE:-None} CXXFLAGS=${CXXFLAGS:--O1}
  build_args=(-DCK_SANITIZE="$SANITIZE")
  [ -z "${SANITIZE_LAYERS:-}" ] || build_args+=(-DCK_LAYERS="$SANITIZE_LAYERS")
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$ROOT/tests/sanitize/ubsan.supp}
  # compose_config checks the stock binary's libraries; the fuzz targets are their own build;
  # the examples link the installed (instrumented) package into an uninstrumented app.
  args+=(-E '^(compose_config|fuzz_.*|example_.*)$')
fi
"$ROOT/scripts/build.sh" "${build_args[@]}"
cd "${BUILD_DIR:-$ROOT/build}"
ctest "${args[@]}" "$@"
