#!/usr/bin/env bash
# Join move rate: how fast a 4th node receives its share of the data, and what the move does to
# foreground reads meanwhile.
#
#   bench/join_move.sh              (builds first unless SKIP_BUILD=1)
# Env: DATA_MB=1024 (KV data written before the join) VALUE_KB=64 PARTITIONS=64
#      FG_CONNS=8 (connections of the foreground GET load on node-1, before and during the move)
#      BUILD_DIR=./build KEEP_DATA=1
#      THREADS= (scheduler threads per node; empty = the default, one per core)
#
# Steps: 3 nodes (RF 3) are filled with DATA_MB of values through node-1; foreground GETs run
# for 5 s (p99 before); node-4 joins while the same GET load runs; the move is over when node-1's
# /partitions/stats shows node-4 with its share of replicas (partitions * 3 / 4, +-1), no move in
# progress and nothing under-replicated. Every replica node-4 gets is a whole partition's data
# (a streamed snapshot where the leader's log was compacted, else the log's entries), so moved
# MB = DATA_MB * node-4's replicas / PARTITIONS. A move ends only once its data is there: the
# new replica is promoted to voter when it holds 90% of the leader's log (before session 26 a
# short log of large entries promoted it at once, and a 256-MB move "ended" before its data
# had arrived: the figures of earlier sessions at 256 MB measured the membership steps).
# Prints: moved MB, seconds from the join to the end of the move, MB/s, and the foreground
# req/s and p99 before and during the move. The move throttle: the meta leader changes at most
# a few placements per rebalance tick (cluster::placement_changes), each partition leader
# streams one snapshot per follower at a time in chunks of 256 KiB (raft_group_options), so a
# node receives at most about one snapshot per partition it gains at once.
# Ports (loopback only): HTTP 28180.., KV 29180.., Raft 29101.. (below the kernel's ephemeral
# range, 32768-60999 here: a node's outgoing connection could otherwise take a later node's port)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/bench-lib.sh"
build_clusterkit "$ROOT"
DATA_MB=${DATA_MB:-1024}
VALUE_KB=${VALUE_KB:-64}
PARTITIONS=${PARTITIONS:-64}
FG_CONNS=${FG_CONNS:-8}
KEYS=$((DATA_MB * 1024 / VALUE_KB))
LUA=$ROOT/bench/lua/kv.lua
WORK=$(mktemp -d /tmp/ck-bench-join.XXXXXX)

pids=()
fg_pid=""
cleanup() {
  trap - EXIT INT TERM
  [ -n "$fg_pid" ] && kill -TERM "$fg_pid" 2>/dev/null || true
  stop_pids "${pids[@]}"
  wait 2>/dev/null || true
  [ "${KEEP_DATA:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

HTTP_PORT0=28180 KV_PORT0=29180 RAFT_PORT0=29101  # node-N listens on PORT0 + N - 1
NODE1_HTTP=http://127.0.0.1:$HTTP_PORT0
NODE1_KV=http://127.0.0.1:$KV_PORT0
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$@" || true; }
start_node() {  # start_node INDEX (0-based)
  local i=$1 id=node-$(($1 + 1)) role
  if [ "$i" = 0 ]; then role=(BOOTSTRAP=true); else role=(JOIN_ADDR=127.0.0.1:$HTTP_PORT0); fi
  env NODE_ID="$id" "${role[@]}" DATA_DIR="$WORK/$id" PARTITIONS="$PARTITIONS" \
    HTTP_ADDR="127.0.0.1:$((HTTP_PORT0 + i))" KV_ADDR="127.0.0.1:$((KV_PORT0 + i))" \
    RAFT_ADDR="127.0.0.1:$((RAFT_PORT0 + i))" LOG_LEVEL=warn ${THREADS:+THREADS=$THREADS} "$BIN" >"$WORK/$id.log" 2>&1 &
  pids+=($!)
}
stats() { curl -s --max-time 3 "$NODE1_HTTP/partitions/stats" || echo '{}'; }
# settled N_NODES: node-1's view has every node with its share, no move, nothing under-replicated.
# jq, not python3: polled every 0.2 s during the move, and a python3 start (through a pyenv
# shim where there is one) cost up to 20 % of this 2-core machine, taken from the move.
settled() {
  stats | jq -e --argjson n "$1" --argjson p "$PARTITIONS" '
    (.replicas_per_node // {}) as $per | ($p * 3 / $n) as $ideal
    | ($per | length) == $n
      and ([$per[] | (. - $ideal) | if . < 0 then -. else . end | . <= 1] | all)
      and .moves_in_progress == 0 and .under_replicated == 0 and .without_leader == 0' \
    >/dev/null 2>&1
}
wait_for() {  # wait_for SECONDS WHAT COMMAND...
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || { echo "timed out after ${limit}s waiting for $what" >&2; tail -n 3 "$WORK"/node-*.log >&2; exit 1; }
    sleep 0.2
  done
}
result() { grep '^RESULT' "$1" | tail -1; }
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

node1_ready() { [ "$(http_code "$NODE1_HTTP/ready")" = 200 ]; }
for i in 0 1 2; do
  start_node "$i"
  if [ "$i" = 0 ]; then wait_for 30 "node-1 ready" node1_ready; fi
done
wait_for 120 "3 nodes settled" settled 3
echo "3 nodes x $PARTITIONS partitions settled; filling $DATA_MB MB ($KEYS keys of $VALUE_KB KiB) through node-1"
t0=$SECONDS
# wrk runs for its whole -d even after the fill op stopped its threads: stop it once each
# thread's last key (thread t writes keys t, t+2, ...) reads back, plus a moment for the
# requests still in flight on its other connections.
wrk -t2 -c16 -d1800s -s "$LUA" "$NODE1_KV" -- fill "$KEYS" $((VALUE_KB * 1024)) 2 \
  >"$WORK/fill.out" 2>&1 &
fg_pid=$!
key_present() { [ "$(http_code "$NODE1_KV/kv/get?key=bench/$(printf '%05d' "$1")")" = 200 ]; }
filled() { key_present $((KEYS - 1)) && key_present $((KEYS - 2)); }
wait_for 1800 "the fill's last keys" filled
sleep 2
kill -INT "$fg_pid" 2>/dev/null || true
wait "$fg_pid" 2>/dev/null || true
fg_pid=""
fill=$(result "$WORK/fill.out")
echo "fill: $(field "$fill" requests) requests, status errors $(field "$fill" err_status), $((SECONDS - t0)) s"
for k in 0 1 $((KEYS / 2)) $((KEYS - 1)); do
  key_present "$k" || { echo "fill incomplete: bench/$(printf '%05d' "$k") missing" >&2; exit 1; }
done

timeout 60 wrk -t1 -c"$FG_CONNS" -d5s -s "$LUA" "$NODE1_KV" -- get "$KEYS" 1 >"$WORK/before.out" 2>&1 || true
before=$(result "$WORK/before.out")

wrk -t1 -c"$FG_CONNS" -d1800s -s "$LUA" "$NODE1_KV" -- get "$KEYS" 1 >"$WORK/during.out" 2>&1 &
fg_pid=$!
t_join=$(date +%s.%N)
start_node 3
wait_for 1800 "node-4's share moved" settled 4
t_done=$(date +%s.%N)
kill -INT "$fg_pid" 2>/dev/null || true
wait "$fg_pid" 2>/dev/null || true
fg_pid=""
during=$(result "$WORK/during.out")

node4=$(stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["replicas_per_node"].get("node-4", 0))')
python3 - "$DATA_MB" "$node4" "$PARTITIONS" "$t_join" "$t_done" "$before" "$during" <<'PY'
import sys
data_mb, replicas, partitions = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
seconds = float(sys.argv[5]) - float(sys.argv[4])
def f(line, key):
    for kv in line.split()[1:]:
        k, _, v = kv.partition("=")
        if k == key:
            return float(v)
    return float("nan")
moved = data_mb * replicas / partitions
print("| what | figure |")
print("|---|---|")
print(f"| data in the cluster | {data_mb:.0f} MB (x3 replicas) |")
print(f"| moved to node-4 | {replicas} replicas, {moved:.0f} MB |")
print(f"| join to end of move | {seconds:.1f} s |")
print(f"| move rate | {moved / seconds:.1f} MB/s |")
for name, line in (("before", sys.argv[6]), ("during the move", sys.argv[7])):
    print(f"| foreground GET on node-1, {name} | {f(line, 'rps'):,.0f} req/s, p99 {f(line, 'p99_us') / 1000:.1f} ms |")
PY
