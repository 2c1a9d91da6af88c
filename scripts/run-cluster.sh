#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs a local 3-node ClusterKit on
# loopback with the user guide's host ports (cluster API 8080-8082, KV API 9080-9082, Raft
# 9001-9003), data under ./.cluster/. node-1 bootstraps, node-2 and node-3 join it; a second
# run resumes the same cluster from the data dirs. Ctrl-C stops everything it started.

set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh"
BIN=${BUILD_DIR:-$ROOT/build}/clusterkit
STATE=${CLUSTER_DIR:-$ROOT/.cluster}
mkdir -p "$STATE"

pids=()
stop_all() {
  trap - INT TERM EXIT
  # scripts/demo.sh may have restarted a node: its pid file names the current process.
  for f in "$STATE"/node-*.pid; do
    [ -f "$f" ] && pids+=("$(cat "$f")")
  done
  echo
  echo "stopping the nodes..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -f "$STATE"/node-*.pid
  echo "stopped; data kept in $STATE (delete it for a fresh cluster)"
}
trap stop_all INT TERM EXIT

start_node() { # id http kv raft [extra env...]
  local id=$1 http=$2 kv=$3 raft=$4; shift 4
  env NODE_ID="$id" HTTP_ADDR="127.0.0.1:$http" KV_ADDR="127.0.0.1:$kv" RAFT_ADDR="127.0.0.1:$raft" \
      DATA_DIR="$STATE/$id" "$@" "$BIN" >>"$STATE/$id.log" 2>&1 &
  pids+=($!)
  echo $! >"$STATE/$id.pid"  # scripts/demo.sh stops and starts nodes through these
  echo "started $id (pid $!): cluster API http://127.0.0.1:$http  KV API http://127.0.0.1:$kv  log $STATE/$id.log"
}

# A new data dir needs BOOTSTRAP (node-1) or JOIN_ADDR (the others); an existing one neither.
first_start() { [ -d "$STATE/$1" ] && echo false || echo true; }
if [ "$(first_start node-1)" = true ]; then
  start_node node-1 8080 9080 9001 BOOTSTRAP=true
else
  start_node node-1 8080 9080 9001
fi
for n in 2 3; do
  if [ "$(first_start node-$n)" = true ]; then
    start_node "node-$n" "808$((n - 1))" "908$((n - 1))" "900$n" JOIN_ADDR=127.0.0.1:8080
  else
    start_node "node-$n" "808$((n - 1))" "908$((n - 1))" "900$n"
  fi
done

alive_nodes() {
  curl -sf -m 1 http://127.0.0.1:8080/cluster 2>/dev/null |
    python3 -c 'import json,sys; print(sum(n["status"] == "alive" for n in json.load(sys.stdin)["nodes"]))' 2>/dev/null ||
    echo 0
}
printf 'waiting for 3 alive nodes with a leader'
formed=false
for _ in $(seq 1 150); do
  for i in "${!pids[@]}"; do
    kill -0 "${pids[$i]}" 2>/dev/null || { echo; echo "node-$((i + 1)) exited:"; tail -5 "$STATE/node-$((i + 1)).log"; exit 1; }
  done
  if [ "$(alive_nodes)" = 3 ] && curl -sf -m 1 http://127.0.0.1:8080/ready >/dev/null 2>&1; then
    formed=true
    break
  fi
  printf ' %s' "$(alive_nodes)"; sleep 0.2
done
echo
$formed || { echo "the cluster did not form within 30 s; last log lines:"; tail -n 3 "$STATE"/node-*.log; exit 1; }
echo "ready: 3 nodes. Try:"
echo "  curl -s localhost:8080/cluster | jq '.nodes | length'"
echo "  curl -s localhost:8080/cluster | jq '.nodes[] | {id, status, meta_role, is_leader}'"
echo "  curl -X POST localhost:9080/kv/set -d '{\"key\":\"user:123\",\"value\":\"John Doe\"}'"
echo "  curl 'localhost:9080/kv/get?key=user:123'"
echo "  ${BUILD_DIR:-build}/http/client/clusterkit-ctl cluster status     (docs/cli.md)"
echo "  open http://localhost:8080/ui in a browser: the live dashboard"
echo "Ctrl-C stops the cluster."
wait "${pids[@]}"
