#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs a local ClusterKit on loopback
# with the user guide's ports (cluster API 8080, KV API 9080, Raft 9001), data under
# ./.cluster/. Ctrl-C stops everything it started.
#
# Stage note: nodes cannot join a cluster yet (issue 4), so this starts node-1 alone as a
# bootstrapped single-node cluster; node-2/node-3 on 8081-8082 follow with membership.
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
  echo
  echo "stopping ${#pids[@]} node(s)..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  echo "stopped; data kept in $STATE (delete it for a fresh cluster)"
}
trap stop_all INT TERM EXIT

start_node() { # id http kv raft [extra env...]
  local id=$1 http=$2 kv=$3 raft=$4; shift 4
  local bootstrap=false
  [ -d "$STATE/$id" ] || bootstrap=${BOOTSTRAP_FIRST:-true}
  env NODE_ID="$id" HTTP_ADDR="127.0.0.1:$http" KV_ADDR="127.0.0.1:$kv" RAFT_ADDR="127.0.0.1:$raft" \
      DATA_DIR="$STATE/$id" BOOTSTRAP="$bootstrap" "$@" "$BIN" >>"$STATE/$id.log" 2>&1 &
  pids+=($!)
  echo "started $id (pid $!): cluster API http://127.0.0.1:$http  KV API http://127.0.0.1:$kv  log $STATE/$id.log"
}

start_node node-1 8080 9080 9001

printf 'waiting for the cluster'
for _ in $(seq 1 100); do
  if curl -sf -m 1 http://127.0.0.1:8080/ready >/dev/null 2>&1; then break; fi
  kill -0 "${pids[0]}" 2>/dev/null || { echo; echo "node-1 exited:"; tail -5 "$STATE/node-1.log"; exit 1; }
  printf '.'; sleep 0.2
done
echo
curl -sf -m 2 http://127.0.0.1:8080/ready >/dev/null || { echo "node-1 is not ready after 20 s:"; tail -5 "$STATE/node-1.log"; exit 1; }
echo "ready. Try:"
echo "  curl -s localhost:8080/cluster | jq '.nodes | length'"
echo "  curl -X POST localhost:9080/kv/set -d '{\"key\":\"user:123\",\"value\":\"John Doe\"}'"
echo "  curl 'localhost:9080/kv/get?key=user:123'"
echo "Ctrl-C stops the cluster."
wait "${pids[@]}"
