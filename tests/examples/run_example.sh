#!/usr/bin/env bash
# Builds one example the way its users do, against an INSTALLED ClusterKit, then runs its
# process test with the example's binary:
#   tests/examples/run_example.sh <build dir> <example name> <binary name> <test module>
# Installs <build dir> into a fresh temporary prefix (cmake --install), configures and builds
# examples/<name> out of tree with -DCMAKE_PREFIX_PATH=<prefix>, and runs
# tests/examples/<test module>.py with EXAMPLE_BIN=<the example's binary> and CLUSTERKIT_BIN=
# the same, or $NODE_BIN when set (an example that is a client of a stock cluster).
set -euo pipefail
BUILD=$1 NAME=$2 BIN=$3 TEST=$4
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/ck-example-"$NAME"-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cmake --install "$BUILD" --prefix "$WORK/prefix" > "$WORK/install.log"
config=$(find "$WORK/prefix" -name ClusterKitConfig.cmake | head -1)
[ -n "$config" ] || { echo "run_example: no ClusterKitConfig.cmake installed"; exit 1; }
echo "run_example: installed into $WORK/prefix (${config#$WORK/prefix/})"
generator=()
command -v ninja > /dev/null && generator=(-G Ninja)
cmake -S "$ROOT/examples/$NAME" -B "$WORK/build" "${generator[@]}" \
  -DCMAKE_PREFIX_PATH="$WORK/prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$WORK/configure.log" \
  || { cat "$WORK/configure.log"; exit 1; }
cmake --build "$WORK/build" -j"${JOBS:-2}" > "$WORK/build.log" || { cat "$WORK/build.log"; exit 1; }
echo "run_example: built examples/$NAME against the installed package"
cd "$ROOT/tests/examples"
EXAMPLE_BIN="$WORK/build/$BIN" CLUSTERKIT_BIN="${NODE_BIN:-$WORK/build/$BIN}" \
  PYTHONDONTWRITEBYTECODE=1 python3 -m unittest -v "$TEST"
