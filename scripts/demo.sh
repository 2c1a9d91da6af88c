#!/usr/bin/env bash
# The Docker walkthrough (compose/README.md) replayed against the local 3-node cluster of
# scripts/run-cluster.sh (loopback; cluster API 8080-8082, KV API 9080-9082, Raft 9001-9003,
# data under ./.cluster). Start that first, in another terminal:
#
#   scripts/run-cluster.sh          # terminal 1
#   scripts/demo.sh                 # terminal 2
#
# Each step prints a heading, the exact command and its (jq-formatted) answer, then a check
# line (ok / UNEXPECTED); the script exits 1 if any check failed.
#
# Process control (the guide's docker-compose stop/start/up) on loopback:
#   5. stop node2  - needs node-2's PID: from ./.cluster/node-2.pid if run-cluster.sh writes one,
#                    else (DEMO_STOP_NODE2=1) the process listening on 127.0.0.1:8081 whose
#                    environment says NODE_ID=node-2. It is stopped with SIGTERM and started
#                    again exactly as run-cluster.sh starts it (same DATA_DIR, ports, log); the
#                    restarted node is then NOT a child of run-cluster.sh (see the note printed).
#                    Without either, the step only shows the commands to run by hand.
#   6. add node4   - started here on 8083/9083/9004 (DATA_DIR ./.cluster/node-4, JOIN_ADDR
#                    127.0.0.1:8080); it leaves (POST /leave?node=node-4, the README's "Remove a
#                    Node") and is stopped by PID at the end, even on error or Ctrl-C; its data
#                    dir is removed.
#
# Env: CLUSTER_DIR (default ./.cluster), BUILD_DIR or CLUSTERKIT_BIN (the binary for node-4 and a
# restarted node-2; default $BUILD_DIR/clusterkit, ./build/clusterkit), DEMO_STOP_NODE2=1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${CLUSTER_DIR:-$ROOT/.cluster}
BIN=${CLUSTERKIT_BIN:-${BUILD_DIR:-$ROOT/build}/clusterkit}

failures=0
node4_pid=""
node4_member=false

bold=""; plain=""
if [ -t 1 ]; then bold=$(tput bold 2>/dev/null || true); plain=$(tput sgr0 2>/dev/null || true); fi
step() { printf '\n%s=== %s ===%s\n' "$bold" "$*" "$plain"; }
note() { printf '# %s\n' "$*"; }
# show CMD: prints the exact command, runs it (bash -c, so pipes and jq work as written) and
# prints its answer; the answer is kept in $out.
show() {
  printf '%s$ %s%s\n' "$bold" "$1" "$plain"
  out=$(bash -c "$1" 2>&1) || true
  printf '%s\n' "$out"
}
check() { # check DESCRIPTION ACTUAL EXPECTED
  if [ "$2" = "$3" ]; then
    printf '  ok: %s (%s)\n' "$1" "$2"
  else
    printf '  UNEXPECTED: %s: got "%s", expected "%s"\n' "$1" "$2" "$3"
    failures=$((failures + 1))
  fi
}
q() { curl -s -m 5 "$@" 2>/dev/null || true; }  # quiet helper for checks and waits
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.5 s
  local secs=$1 what=$2 t0=$SECONDS; shift 2
  for _ in $(seq 1 $((secs * 2))); do
    if "$@"; then note "$what: after $((SECONDS - t0)) s"; return 0; fi
    sleep 0.5
  done
  printf '  UNEXPECTED: %s: not within %s s\n' "$what" "$secs"
  failures=$((failures + 1))
  return 1
}

cleanup() {
  trap - INT TERM EXIT
  if [ -n "$node4_pid" ] && kill -0 "$node4_pid" 2>/dev/null; then
    if $node4_member; then
      note "cleanup: node-4 is still a member; asking it to leave (POST /leave?node=node-4)"
      q -X POST "http://localhost:8080/leave?node=node-4" >/dev/null
      for _ in $(seq 1 60); do
        q http://localhost:8080/cluster | jq -e '[.nodes[].id] | index("node-4") | not' >/dev/null 2>&1 && break
        sleep 0.5
      done
    fi
    note "cleanup: stopping node-4 (pid $node4_pid)"
    kill -TERM "$node4_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$node4_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$node4_pid" 2>/dev/null || true
    rm -rf "$STATE/node-4"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "demo.sh needs $tool (scripts/setup.sh installs it)" >&2; exit 1; }
done

# --- the cluster must be up -------------------------------------------------------------------
up=0
for port in 8080 8081 8082; do
  curl -sf -m 2 "http://127.0.0.1:$port/health" >/dev/null 2>&1 && up=$((up + 1))
done
if [ "$up" -ne 3 ] || ! curl -sf -m 2 http://127.0.0.1:8080/ready >/dev/null 2>&1; then
  cat >&2 <<EOF
The local cluster is not up ($up of 3 nodes answer /health on 127.0.0.1:8080-8082, or node-1 is
not /ready). Start it in another terminal and wait for "ready: 3 nodes":

    scripts/run-cluster.sh

then run scripts/demo.sh again.
EOF
  exit 1
fi

# --- 1. Start the cluster -----------------------------------------------------------------------
step "1. Start the cluster (run-cluster.sh did it; the guide: docker-compose up -d)"
show "curl -s http://localhost:8080/cluster | jq '.nodes | length'"
check "/cluster | jq '.nodes | length'" "$out" 3
show "curl -s http://localhost:8080/cluster | jq -c '.nodes[] | {id, status, raft_addr, http_addr, kv_addr, is_leader}'"

# --- 2. Health -----------------------------------------------------------------------------------
step "2. Check Cluster Health"
for port in 8080 8081 8082; do
  show "curl -s http://localhost:$port/health"
  check "/health on $port" "$(jq -r '.message' <<<"$out")" healthy
done
show "curl -s http://localhost:8080/ready"
check "/ready on 8080" "$(jq -r '.ready' <<<"$out")" true
show "curl -s http://localhost:8080/health/detailed | jq"
check "/health/detailed healthy" "$(jq -r '.healthy' <<<"$out")" true
check "/health/detailed alive_nodes" "$(jq -r '.alive_nodes' <<<"$out")" 3

# --- 3. Store and retrieve ------------------------------------------------------------------------
step "3. Store and Retrieve Data"
show "curl -s -X POST http://localhost:9080/kv/set -H 'Content-Type: application/json' -d '{\"key\":\"user:123\",\"value\":\"John Doe\"}'"
check "set user:123" "$(jq -r '.status + " " + .partition' <<<"$out")" "success partition-48"
for port in 9080 9081 9082; do
  show "curl -s 'http://localhost:$port/kv/get?key=user:123'"
  check "get user:123 from $port" "$(jq -r '.value' <<<"$out")" "John Doe"
done
show "curl -s http://localhost:9080/kv/list | jq"
check "user:123 listed on node-1" "$(jq -r '.keys | index("user:123") != null' <<<"$out")" true
show "curl -s -X POST 'http://localhost:9080/kv/delete?key=user:123'"
check "delete user:123" "$(jq -r '.status' <<<"$out")" deleted
show "curl -s -w ' HTTP %{http_code}\n' 'http://localhost:9081/kv/get?key=user:123'"
check "get after delete" "${out##* }" 404

# --- 4. Replication -----------------------------------------------------------------------------
step "4. Test Replication"
# shellcheck disable=SC2016  # the guide's loop, printed and run as written
loop='for i in {1..10}; do
  curl -s -X POST http://localhost:9080/kv/set \
    -H "Content-Type: application/json" \
    -d "{\"key\":\"user-$i\",\"value\":\"User $i\"}"; echo
done'
show "$loop"
check "10 sets acknowledged" "$(grep -c '"status":"success"' <<<"$out")" 10
all_keys=$(q "http://localhost:9080/kv/list?limit=10000" | jq '.count')
note "node-1 stores $all_keys keys in total (this cluster's data dir may hold keys from earlier runs)"
counts_equal() {
  local a b c
  a=$(q http://localhost:9080/kv/list | jq '.count'); b=$(q http://localhost:9081/kv/list | jq '.count')
  c=$(q http://localhost:9082/kv/list | jq '.count')
  [ -n "$a" ] && [ "$a" = "$b" ] && [ "$b" = "$c" ]
}
wait_for 15 "the three counts are equal" counts_equal || true
for n in 1 2 3; do
  show "echo 'Node $n:' && curl -s http://localhost:908$((n - 1))/kv/list | jq '.count'"
done
note "3 nodes, replication factor 3: every node stores every key, so the counts are equal"

# --- 5. Fault tolerance -------------------------------------------------------------------------
step "5. Test Fault Tolerance"
node2_pid=""
if [ -f "$STATE/node-2.pid" ]; then
  node2_pid=$(cat "$STATE/node-2.pid")
  note "node-2's PID from $STATE/node-2.pid: $node2_pid"
elif [ "${DEMO_STOP_NODE2:-}" = 1 ]; then
  node2_pid=$(ss -Hltnp 'sport = :8081' 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2 || true)
  if [ -n "$node2_pid" ] && ! tr '\0' '\n' <"/proc/$node2_pid/environ" 2>/dev/null | grep -qx 'NODE_ID=node-2'; then
    note "the process on :8081 (pid $node2_pid) is not NODE_ID=node-2; not touching it"
    node2_pid=""
  fi
  [ -n "$node2_pid" ] && note "node-2's PID (the listener of 127.0.0.1:8081, NODE_ID=node-2): $node2_pid"
fi
if [ -n "$node2_pid" ] && [ ! -x "$BIN" ]; then
  note "no binary at $BIN to start node-2 again (set CLUSTERKIT_BIN or BUILD_DIR): not stopping it"
  node2_pid=""
fi
if [ -n "$node2_pid" ] && kill -0 "$node2_pid" 2>/dev/null; then
  printf '%s$ kill -TERM %s%s   # docker-compose stop node2\n' "$bold" "$node2_pid" "$plain"
  kill -TERM "$node2_pid"
  for _ in $(seq 1 100); do kill -0 "$node2_pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$node2_pid" 2>/dev/null && { echo "node-2 did not stop within 10 s" >&2; exit 1; }
  stopped=true
else
  stopped=false
  note "SKIPPED stopping node-2: its PID is unknown (run-cluster.sh writes no pid file)."
  note "To try it by hand: in run-cluster.sh's terminal note node-2's pid (\"started node-2 (pid N)\"),"
  note "  kill -TERM N, run the commands below, then start it again as run-cluster.sh does:"
  note "  NODE_ID=node-2 HTTP_ADDR=127.0.0.1:8081 KV_ADDR=127.0.0.1:9081 RAFT_ADDR=127.0.0.1:9002 \\"
  note "    DATA_DIR=$STATE/node-2 $BIN >>$STATE/node-2.log 2>&1 &"
  note "  (or run this script with DEMO_STOP_NODE2=1)"
fi
show "curl -s -X POST http://localhost:9080/kv/set -H 'Content-Type: application/json' -d '{\"key\":\"test-after-failure\",\"value\":\"Still works!\"}'"
check "write with node-2 down" "$(jq -r '.status' <<<"$out")" success
show "curl -s 'http://localhost:9080/kv/get?key=test-after-failure'"
check "read it back" "$(jq -r '.value' <<<"$out")" "Still works!"
if $stopped; then
  node2_status() { [ "$(q http://localhost:8080/cluster | jq -r '.nodes[] | select(.id == "node-2") | .status')" = "$1" ]; }
  wait_for 10 "node-2 suspect" node2_status suspect || true
  show "curl -s http://localhost:8080/cluster | jq -c '[.nodes[] | {id, status}]'"
  printf '%s$ NODE_ID=node-2 HTTP_ADDR=127.0.0.1:8081 KV_ADDR=127.0.0.1:9081 RAFT_ADDR=127.0.0.1:9002 DATA_DIR=%s %s >>%s 2>&1 &%s   # docker-compose start node2\n' \
    "$bold" "$STATE/node-2" "$BIN" "$STATE/node-2.log" "$plain"
  env NODE_ID=node-2 HTTP_ADDR=127.0.0.1:8081 KV_ADDR=127.0.0.1:9081 RAFT_ADDR=127.0.0.1:9002 \
      DATA_DIR="$STATE/node-2" nohup "$BIN" >>"$STATE/node-2.log" 2>&1 </dev/null &
  new_node2=$!
  [ -f "$STATE/node-2.pid" ] && echo "$new_node2" >"$STATE/node-2.pid"
  all_alive() { [ "$(q http://localhost:8080/cluster | jq '[.nodes[] | select(.status == "alive")] | length')" = 3 ]; }
  wait_for 30 "3 nodes alive again" all_alive || true
  show "curl -s http://localhost:8080/cluster | jq '.nodes | length'"
  check "3 nodes again" "$out" 3
  show "curl -s 'http://localhost:9081/kv/get?key=test-after-failure'"
  check "node-2 serves the write it missed" "$(jq -r '.value' <<<"$out")" "Still works!"
  if [ -f "$STATE/node-2.pid" ]; then
    note "node-2 now runs as pid $new_node2 (written to $STATE/node-2.pid: run-cluster.sh's Ctrl-C stops it)"
  else
    note "node-2 now runs as pid $new_node2, started by this script; stop it with: kill $new_node2"
  fi
else
  show "curl -s http://localhost:8080/cluster | jq -c '[.nodes[] | {id, status}]'"
fi

# --- 6. Partition migration -----------------------------------------------------------------------
step "6. Test Partition Migration (a 4th node on 8083/9083/9004)"
if [ ! -x "$BIN" ]; then
  note "SKIPPED: no clusterkit binary at $BIN (set CLUSTERKIT_BIN or BUILD_DIR)"
elif curl -s -m 1 http://127.0.0.1:8083/health >/dev/null 2>&1; then
  note "SKIPPED: something already answers on 127.0.0.1:8083"
else
  if [ -d "$STATE/node-4" ]; then
    note "removing a stale $STATE/node-4 left by an earlier demo"
    rm -rf "$STATE/node-4"
  fi
  printf '%s$ NODE_ID=node-4 HTTP_ADDR=127.0.0.1:8083 KV_ADDR=127.0.0.1:9083 RAFT_ADDR=127.0.0.1:9004 JOIN_ADDR=127.0.0.1:8080 DATA_DIR=%s %s >>%s 2>&1 &%s\n' \
    "$bold" "$STATE/node-4" "$BIN" "$STATE/node-4.log" "$plain"
  env NODE_ID=node-4 HTTP_ADDR=127.0.0.1:8083 KV_ADDR=127.0.0.1:9083 RAFT_ADDR=127.0.0.1:9004 \
      JOIN_ADDR=127.0.0.1:8080 DATA_DIR="$STATE/node-4" "$BIN" >>"$STATE/node-4.log" 2>&1 &
  node4_pid=$!
  node4_member=true
  note "node-4 pid $node4_pid (stopped by this script at the end)"
  node4_has_keys() { [ "$(q http://localhost:9083/kv/list | jq '.count' 2>/dev/null || echo 0)" -gt 0 ] 2>/dev/null; }
  wait_for 45 "node-4 stores keys" node4_has_keys || true
  show "curl -s http://localhost:8080/rebalance | jq '{running, moves_total, moves_done}'"
  moves_done() { q http://localhost:8080/rebalance | jq -e '.running == false' >/dev/null 2>&1 &&
                 q http://localhost:8080/partitions/stats | jq -e '.under_replicated == 0 and .moves_in_progress == 0' >/dev/null 2>&1; }
  wait_for 60 "rebalancing finished" moves_done || true
  show "curl -s http://localhost:8080/rebalance | jq '{running, moves_total, moves_done}'"
  show "curl -s http://localhost:9083/kv/list | jq '.count'"
  if [ "${out:-0}" -gt 0 ] 2>/dev/null; then check "node-4 stores keys" yes yes; else check "node-4 stores keys" "$out" "> 0"; fi
  for n in 1 2 3 4; do
    show "echo 'Node $n:' && curl -s http://localhost:908$((n - 1))/kv/list | jq '.count'"
  done
  note "4 nodes, RF 3: each key is on 3 of them, so each count is about 3/4 of the keys"
  show "curl -s 'http://localhost:9083/kv/get?key=user-7'"
  check "user-7 through node-4" "$(jq -r '.value' <<<"$out")" "User 7"
fi

# --- 7. Partition distribution ------------------------------------------------------------------
step "7. View Partition Distribution"
show "curl -s http://localhost:8080/partitions/stats | jq"
check "total_partitions" "$(jq -r '.total_partitions' <<<"$out")" 64
check "without_leader" "$(jq -r '.without_leader' <<<"$out")" 0
show "curl -s http://localhost:8080/partitions | jq -c '{count, first_three: .partitions[:3]}'"
note "(the full list: curl http://localhost:8080/partitions | jq)"
check "/partitions count" "$(jq -r '.count' <<<"$out")" 64
show "curl -s 'http://localhost:8080/partitions/key?key=user:123' | jq"
check "user:123's partition" "$(jq -r '.id' <<<"$out")" partition-48

# --- 8. Metrics ------------------------------------------------------------------------------------
step "8. Monitor Metrics"
show "curl -s http://localhost:8080/metrics | jq"
check "/metrics is JSON" "$(jq -r 'type' <<<"$out")" object
show "curl -s http://localhost:8080/metrics/prometheus | grep '^# TYPE'"
check "Prometheus kv_sets_total" "$(grep -c '^# TYPE clusterkit_kv_sets_total ' <<<"$out")" 1
show "curl -s http://localhost:8080/consensus/stats | jq"
note "(watch -n 2 'curl -s http://localhost:8080/metrics | jq' to watch them live)"

# --- Troubleshooting ---------------------------------------------------------------------------
step "Troubleshooting: can the nodes reach each other, is every partition healthy"
show "curl -s http://127.0.0.1:8081/health"
show "curl -s http://localhost:8081/ready | jq -c"
show "curl -s http://localhost:8080/partitions | jq -c '.partitions[] | select(.status != \"healthy\")'"
check "partitions not healthy" "$(wc -w <<<"$out")" 0

# --- Remove a node ---------------------------------------------------------------------------------
step "Remove a Node (node-4, gracefully)"
if [ -n "$node4_pid" ]; then
  show "curl -s -X POST 'http://localhost:8080/leave?node=node-4'"
  check "/leave accepted" "$(jq -r '.status' <<<"$out")" leaving
  node4_gone() { q http://localhost:8080/cluster | jq -e '[.nodes[].id] | index("node-4") | not' >/dev/null 2>&1; }
  if wait_for 60 "node-4 removed from /cluster" node4_gone; then node4_member=false; fi
  wait_for 60 "rebalancing finished" moves_done || true
  show "curl -s http://localhost:8080/rebalance | jq '{running, moves_total, moves_done}'"
  printf '%s$ kill -TERM %s%s   # docker-compose stop node4; docker-compose rm -f node4\n' "$bold" "$node4_pid" "$plain"
  cleanup
  trap cleanup EXIT
  node4_pid=""
  show "curl -s http://localhost:8080/cluster | jq '.nodes | length'"
  check "3 nodes after the leave" "$out" 3
  show "curl -s 'http://localhost:9082/kv/get?key=user-7'"
  check "still serving" "$(jq -r '.value' <<<"$out")" "User 7"
else
  note "SKIPPED: node-4 was not started by this script"
fi

echo
if [ "$failures" -eq 0 ]; then
  echo "${bold}demo finished: every check ok${plain}"
else
  echo "${bold}demo finished: $failures check(s) UNEXPECTED (see above)${plain}"
  exit 1
fi
