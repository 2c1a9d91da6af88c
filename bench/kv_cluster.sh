#!/usr/bin/env bash
# 3-node KV throughput and latency: POST /kv/set and GET /kv/get over keep-alive connections
# (wrk, 1/16/64 connections in total) spread over the KV ports of a 3-node ClusterKit on loopback,
# against a 3-member etcd cluster (fsync on, the durable linearizable reference) measured in the
# same run on the same machine with the same load.
#
#   bench/kv_cluster.sh             (builds first; etcd is skipped with a message if not installed)
# Env: CONNS="1 16 64" DURATION=10 RUNS=3 KEYSPACE=10000 VALUE_SIZE=100 SKIP_ETCD=1
#      MODES="spread single" (spread: C split over the 3 nodes/members; single: all C to node-1 /
#      member 1) OPS="set get stale" (stale: clusterkit consistency=stale vs etcd serializable)
#      BUILD_DIR=./build (its clusterkit target is built first unless SKIP_BUILD=1)
#      PAUSE=1 (s between cells) WRK_THREADS=1 (per wrk process)
#      THREADS= (scheduler threads per node; empty = the default, one per core)
#      FILL_SECONDS=30 (wrk fill always runs this long) KEEP_DATA=1 (keep the node/member data dirs under the work dir)
#
# How a cell is measured: one wrk process per node/member, all started together with the same -d,
# each with its share of the connections (C split as evenly as possible: 16 -> 6/5/5, 64 -> 22/21/21;
# C=1 -> only node-1 / member 1 gets load). Every process writes its latency quantile function
# (bench/lua/hist.lua: wrk percentiles at 0.5..99 % in 0.5 steps, 99.01..99.99 % in 0.01 steps, max), and
# the cell's
#   req/s   = sum over the processes of (requests / that process's measured duration)
#   p50/p99 = percentiles of the merged distribution: each process's quantile points weighted by its
#             request count (point at p_k carries requests * (p_k - p_k-1) / 100), then the smallest
#             latency whose cumulative weight reaches 50 % / 99 % of all requests. So a node that served
#             more requests weighs more; it is not an average of per-process percentiles. Resolution:
#             0.5 % of each process's requests around p50, 0.01 % around p99.
# The per-process req/s are kept in the raw TSV (column per_node_rps).
# Before each ClusterKit cell the leaders are let settle where that cell's load puts them
# (settle_for_cell in bench-lib.sh: they follow where requests enter).
# Both clusters run for the whole benchmark (the idle one costs only heartbeats); the load order is
# interleaved (for run { for conns { ck set, ck get, etcd put, etcd range } }) so drift hits all cells.
# Ports (loopback only): clusterkit HTTP 18080-18082, KV 19080-19082, Raft 19001-19003;
# etcd clients 13379/13479/13579, peers 13380/13480/13580.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/bench-lib.sh"
build_clusterkit "$ROOT"
PAUSE=${PAUSE:-1}
WRK_THREADS=${WRK_THREADS:-1}
WORK=$(mktemp -d /tmp/ck-bench-cluster.XXXXXX)
OUT=$WORK/results.tsv
printf 'system\top\tconns\trun\trps\tp50_us\tp99_us\terrors\tp90_us\tmax_us\trequests\tper_node_rps\tmode\n' > "$OUT"

pids=()      # every long-running process this script started (nodes, members)
wrk_pids=()  # wrk processes of the cell in flight
cleanup() {
  trap - EXIT INT TERM
  stop_everything
  if [ "${KEEP_DATA:-0}" != 1 ]; then rm -rf "$WORK"/ck "$WORK"/etcd; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- clusterkit, 3 nodes ----------------------------------------------------------------------------
start_clusterkit_3

# --- etcd, 3 members (reference) ----------------------------------------------------------------------
ETCD_URLS=()
if [ "${SKIP_ETCD:-0}" = 1 ]; then
  echo "etcd: skipped (SKIP_ETCD=1)"
elif ! command -v etcd >/dev/null; then
  echo "etcd: skipped -- not installed (apt-get install -y etcd-server etcd-client); no reference, no ratios"
else
  E_CLIENT=(13379 13479 13579); E_PEER=(13380 13480 13580)
  check_ports "${E_CLIENT[@]}" "${E_PEER[@]}"
  cluster_spec="m1=http://127.0.0.1:${E_PEER[0]},m2=http://127.0.0.1:${E_PEER[1]},m3=http://127.0.0.1:${E_PEER[2]}"
  mkdir -p "$WORK/etcd"
  for i in 0 1 2; do
    name=m$((i + 1))
    etcd --name "$name" --data-dir "$WORK/etcd/$name" \
      --listen-client-urls "http://127.0.0.1:${E_CLIENT[$i]}" --advertise-client-urls "http://127.0.0.1:${E_CLIENT[$i]}" \
      --listen-peer-urls "http://127.0.0.1:${E_PEER[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${E_PEER[$i]}" \
      --initial-cluster "$cluster_spec" --initial-cluster-state new --initial-cluster-token "ck-bench-$$" \
      --logger zap --log-outputs "$WORK/etcd-$name.log" >/dev/null 2>&1 &
    pids+=($!)
  done
  healthy=false
  for _ in $(seq 1 150); do   # at most ~30 s for a leader seen by every member
    ok=0
    for p in "${E_CLIENT[@]}"; do curl -sf -m 1 "http://127.0.0.1:$p/health" 2>/dev/null | grep -q '"true"' && ok=$((ok + 1)); done
    [ "$ok" = 3 ] && { healthy=true; break; }
    sleep 0.2
  done
  $healthy || { echo "etcd: 3 members not healthy in 30 s; logs in $WORK" >&2; exit 1; }
  for p in "${E_CLIENT[@]}"; do ETCD_URLS+=("http://127.0.0.1:$p"); done
  echo "etcd: 3 members healthy ($(curl -s -m 2 "${ETCD_URLS[0]}/version"))"
fi

# --- preload every key once (through node-1 / member 1), then check a few keys on every node -------
fill_summary() { grep '^RESULT' | awk '{ for (i = 2; i <= NF; i++) { split($i, a, "="); v[a[1]] = a[2] }
  printf "requests=%s errors(status/timeout)=%s/%s", v["requests"], v["err_status"], v["err_timeout"] }'; }
echo "clusterkit fill: $(timeout 120 wrk -t2 -c16 -d"${FILL_SECONDS:-30}s" -s "$BENCH_DIR/lua/kv.lua" "${CK_URLS[0]}" -- fill "$KEYSPACE" "$VALUE_SIZE" 2 2>&1 | fill_summary || true)"
last=$(printf '%05d' $((KEYSPACE - 1)))
for u in "${CK_URLS[@]}"; do
  for k in 00000 "$last"; do
    code=$(curl -s -m 3 -o /dev/null -w '%{http_code}' "$u/kv/get?key=bench/$k")
    [ "$code" = 200 ] || echo "warning: preload check: GET $u/kv/get?key=bench/$k -> $code" >&2
  done
done
if [ "${#ETCD_URLS[@]}" -gt 0 ]; then
  echo "etcd fill: $(timeout 120 wrk -t2 -c16 -d"${FILL_SECONDS:-30}s" -s "$BENCH_DIR/lua/etcd-kv.lua" "${ETCD_URLS[0]}" -- fill "$KEYSPACE" "$VALUE_SIZE" 2 2>&1 | fill_summary || true)"
fi

MODES=${MODES:-spread single}
OPS=${OPS:-set get stale}
echo "load: conns=[$CONNS] total; modes=[$MODES] (spread: split over 3 wrk processes, one per node; single: one wrk on node-1 / member 1); ops=[$OPS]; duration=${DURATION}s runs=$RUNS keyspace=$KEYSPACE value=${VALUE_SIZE}B"
echo "loadavg before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'system\top\tconns\trun\trps\tp50_us\tp99_us\terrors\tp90_us\tmax_us\trequests\tper_node_rps\tmode\n'
ck_op() { case $1 in set) echo set ;; get) echo get ;; stale) echo stale ;; esac; }
etcd_op() { case $1 in set) echo put ;; get) echo range ;; stale) echo srange ;; esac; }
for run in $(seq 1 "$RUNS"); do
  for MODE in $MODES; do
    if [ "$MODE" = single ]; then ck_urls=("${CK_URLS[0]}"); etcd_urls=("${ETCD_URLS[@]:0:1}");
    else ck_urls=("${CK_URLS[@]}"); etcd_urls=("${ETCD_URLS[@]}"); fi
    for c in $CONNS; do
      for op in $OPS; do
        settle_for_cell "$c" "${ck_urls[@]}"
        cluster_cell clusterkit "$op" "$c" "$run" "$BENCH_DIR/lua/kv.lua" "${ck_urls[@]}" -- "$(ck_op "$op")" "$KEYSPACE" "$VALUE_SIZE"; sleep "$PAUSE"
        if [ "${#etcd_urls[@]}" -gt 0 ]; then
          cluster_cell etcd "$op" "$c" "$run" "$BENCH_DIR/lua/etcd-kv.lua" "${etcd_urls[@]}" -- "$(etcd_op "$op")" "$KEYSPACE" "$VALUE_SIZE"; sleep "$PAUSE"
        fi
      done
    done
  done
done
echo "loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "3-node clusterkit vs 3-member etcd (fsync on); p50/p99 of the merged histograms; stale = clusterkit consistency=stale vs etcd serializable range"
python3 "$BENCH_DIR/summarize.py" "$OUT"
echo "raw results: $OUT"
