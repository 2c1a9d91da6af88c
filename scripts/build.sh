#!/usr/bin/env bash
# Configures and builds ClusterKit into ./build (Ninja, RelWithDebInfo, ccache when present).
#   scripts/build.sh [extra cmake args...]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} "$@"
fi
cmake --build "$BUILD" -j"${JOBS:-2}"
