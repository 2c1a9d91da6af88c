#!/usr/bin/env bash
# Installs every Debian package that building, testing, benchmarking and running ClusterKit
# needs. A no-op (no apt call at all) when everything is already installed.
#
#   scripts/setup.sh            install what is missing (needs root or sudo)
#   scripts/setup.sh --list     print the package list (the Dockerfile check compares against it)
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config
  # libraries (headers + runtime)
  libcaf-dev libcaf-openssl0.17 liblmdb-dev libfmt-dev libspdlog-dev libyaml-cpp-dev nlohmann-json3-dev
  libhttp-parser-dev libcli11-dev libssl-dev zlib1g-dev libjemalloc-dev doctest-dev
  # the client library (client/): HTTP with keep-alive and connection reuse
  libcurl4-openssl-dev
  # tests, benchmarks and the run scripts
  python3 curl jq wrk lmdb-utils procps iproute2 docker-compose openssl
  # the fuzz targets (tests/fuzz, scripts/fuzz.sh): clang and its libFuzzer
  clang libfuzzer-14-dev
  # the benchmarks' reference (etcd, measured in the same run) and the profiler
  etcd-server etcd-client linux-perf
  # the dashboard's browser test (tests/process/test_dashboard.py): headless chromium
  chromium chromium-driver python3-selenium
)

if [ "${1:-}" = "--list" ]; then
  printf '%s\n' "${PACKAGES[@]}"
  exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
echo "setup: installing ${missing[*]}"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
