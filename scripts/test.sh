#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test except the `long` label.
#   scripts/test.sh            all tests (what CI runs)
#   scripts/test.sh -L unit    only the unit tests (any ctest arguments pass through)
#   LONG=1 scripts/test.sh     include the long-running tests
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh"
cd "${BUILD_DIR:-$ROOT/build}"
args=(--output-on-failure -j2 --timeout 900)
[ "${LONG:-0}" = 1 ] || args+=(-LE long)
ctest "${args[@]}" "$@"
