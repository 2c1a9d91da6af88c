#!/usr/bin/env bash
# The whole comparison of issue 12 in one run: idle CPU, ClusterKit vs etcd writes and reads
# (1/16/64 connections, all load on one node and spread over three), and the join move rate;
# then one table of every goal with its figure and whether it is met.
#
#   bench/compare.sh                 (about 15 minutes; builds first unless SKIP_BUILD=1)
#   FULL=1 bench/compare.sh          (adds 9 nodes x 1,024 partitions and a 1 GiB move: ~25 min)
# Env: THREADS= (scheduler threads per node, passed to every node; empty = one per core)
#      CONNS="1 16 64" DURATION=10 RUNS=1 (kv_cluster.sh) DATA_MB=256 (join_move.sh; 1024 if FULL)
#
# Each part is its own script (bench/idle_cpu.sh, bench/kv_cluster.sh, bench/join_move.sh),
# run one after the other so no two measure at once; their full outputs stay in the work
# directory printed at the end. Measure on a quiet machine: on 2 cores a build or another
# cluster moves the figures by more than the differences being measured.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-1}  # before bench-lib.sh, whose default is 3
source "$ROOT/bench/bench-lib.sh"
build_clusterkit "$ROOT"
export SKIP_BUILD=1 BUILD_DIR
WORK=$(mktemp -d /tmp/ck-compare.XXXXXX)
if [ "${FULL:-0}" = 1 ]; then configs="1x64 3x64 9x1024"; data_mb=${DATA_MB:-1024};
else configs="1x64 3x64"; data_mb=${DATA_MB:-256}; fi

echo "== idle CPU ($configs)"
# KILL_CHECK applies to the largest configuration only when FULL (9 x 1,024 is the goal's).
KILL_CHECK=${FULL:-0} CONFIGS="$configs" SETTLE_MAX=900 "$ROOT/bench/idle_cpu.sh" | tee "$WORK/idle.out"
echo "== KV load against etcd"
RUNS=$RUNS "$ROOT/bench/kv_cluster.sh" \
  | tee "$WORK/kv.out"
echo "== join move ($data_mb MB)"
DATA_MB=$data_mb "$ROOT/bench/join_move.sh" | tee "$WORK/move.out"

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo);" \
     "THREADS=${THREADS:-default}; loadavg now $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$ROOT/bench/compare_summary.py" "$WORK"
echo "outputs: $WORK"
