#!/usr/bin/env bash
# Single-node KV throughput and latency: POST /kv/set and GET /kv/get over keep-alive
# connections (wrk, 1/16/64 connections), against a single-member etcd (fsync on, the
# durable linearizable reference) measured in the same run on the same machine.
#
#   bench/kv_single_node.sh            (builds first; etcd is skipped if not installed)
# Env: CONNS="1 16 64" DURATION=10 RUNS=3 KEYSPACE=10000 VALUE_SIZE=100 SKIP_ETCD=1
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/bench-lib.sh"
"$ROOT/scripts/build.sh" >/dev/null
BIN=${BUILD_DIR:-$ROOT/build}/clusterkit
WORK=$(mktemp -d /tmp/ck-bench.XXXXXX)
OUT=$WORK/results.tsv
printf 'system\top\tconns\trun\trps\tp50_us\tp99_us\terrors\n' > "$OUT"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

wait_http() { # url what
  for _ in $(seq 1 100); do curl -sf -m 1 -o /dev/null "$1" && return 0; sleep 0.2; done
  echo "$2 did not come up" >&2; exit 1
}

# --- clusterkit, one node -------------------------------------------------------------------
NODE_ID=bench-1 BOOTSTRAP=true DATA_DIR=$WORK/ck HTTP_ADDR=127.0.0.1:18080 KV_ADDR=127.0.0.1:19080 \
  RAFT_ADDR=127.0.0.1:19001 LOG_LEVEL=warn "$BIN" >"$WORK/ck.log" 2>&1 &
pids+=($!)
wait_http http://127.0.0.1:18080/ready clusterkit
CK=http://127.0.0.1:19080
timeout 120 wrk -t2 -c16 -d"${FILL_SECONDS:-15}s" -s "$BENCH_DIR/lua/kv.lua" "$CK" -- fill "$KEYSPACE" "$VALUE_SIZE" 2 >/dev/null || true

# --- etcd, one member (reference) -------------------------------------------------------------
ETCD_URL=""
if [ "${SKIP_ETCD:-0}" != 1 ] && command -v etcd >/dev/null; then
  etcd --name b1 --data-dir "$WORK/etcd" --listen-client-urls http://127.0.0.1:12379 \
    --advertise-client-urls http://127.0.0.1:12379 --listen-peer-urls http://127.0.0.1:12380 \
    --initial-advertise-peer-urls http://127.0.0.1:12380 --initial-cluster b1=http://127.0.0.1:12380 \
    --logger zap --log-outputs "$WORK/etcd.log" >/dev/null 2>&1 &
  pids+=($!)
  ETCD_URL=http://127.0.0.1:12379
  for _ in $(seq 1 100); do curl -sf -m 1 -o /dev/null "$ETCD_URL/health" && break; sleep 0.2; done
  timeout 120 wrk -t2 -c16 -d"${FILL_SECONDS:-15}s" -s "$BENCH_DIR/lua/etcd-kv.lua" "$ETCD_URL" -- fill "$KEYSPACE" "$VALUE_SIZE" 2 >/dev/null || true
fi

for run in $(seq 1 "$RUNS"); do
  for c in $CONNS; do
    wrk_cell clusterkit set "$c" "$run" "$BENCH_DIR/lua/kv.lua" "$CK" -- set "$KEYSPACE" "$VALUE_SIZE" || true
    wrk_cell clusterkit get "$c" "$run" "$BENCH_DIR/lua/kv.lua" "$CK" -- get "$KEYSPACE" "$VALUE_SIZE" || true
    if [ -n "$ETCD_URL" ]; then
      wrk_cell etcd set "$c" "$run" "$BENCH_DIR/lua/etcd-kv.lua" "$ETCD_URL" -- put "$KEYSPACE" "$VALUE_SIZE" || true
      wrk_cell etcd get "$c" "$run" "$BENCH_DIR/lua/etcd-kv.lua" "$ETCD_URL" -- range "$KEYSPACE" "$VALUE_SIZE" || true
    fi
  done
done
echo
python3 "$BENCH_DIR/summarize.py" "$OUT"
echo "raw results: $OUT"
