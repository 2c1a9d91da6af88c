#!/usr/bin/env bash
# Idle cost: the CPU an idle ClusterKit cluster burns, per configuration, as % of one core
# (summed over the nodes' processes: user + system time from /proc/PID/stat over a window).
#
#   bench/idle_cpu.sh                 (builds first unless SKIP_BUILD=1)
# Env: CONFIGS="1x64 3x64"  (NODESxPARTITIONS, each measured on a fresh cluster)
#      WINDOW=20 (s measured)  SETTLE=5 (s waited after every node is ready and no move runs)
#      BUILD_DIR=./build  THREADS= (scheduler threads per node; empty = the default)
#      EXTRA_ENV="K=V ..." (more settings for every node, e.g. to compare scheduler policies)
#      SETTLE_MAX=120 (s a configuration may take to settle; 9x1024 needs several minutes)
#      KILL_CHECK=1 (after the window, kill -9 the last node and report how long until every
#      partition has a leader on a survivor again, as the survivors hosting it report)
# Prints one line per configuration: nodes, partitions, % of a core in total and per node.
# Ports (loopback only): HTTP 28080.., KV 29080.., Raft 29001.. (one per node).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/bench-lib.sh"
build_clusterkit "$ROOT"
CONFIGS=${CONFIGS:-"1x64 3x64"}
WINDOW=${WINDOW:-20}
SETTLE=${SETTLE:-5}
WORK=$(mktemp -d /tmp/ck-bench-idle.XXXXXX)
TICKS=$(getconf CLK_TCK)

pids=()
stop_all() {
  stop_pids "${pids[@]}"
  wait 2>/dev/null || true
  pids=()
}
cleanup() { trap - EXIT INT TERM; stop_all; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }  # utime + stime of one process

# http_ok URL: 0 when the URL answers 200 within 2 s.
http_ok() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1")" = 200 ]; }

# wait_settled N: every node ready, no move running and (N >= 3) nothing under-replicated;
# bounded to SETTLE_MAX s.
wait_settled() {
  local n=$1 deadline=$((SECONDS + ${SETTLE_MAX:-120})) i ok
  while [ $SECONDS -lt $deadline ]; do
    ok=1
    for i in $(seq 0 $((n - 1))); do http_ok "http://127.0.0.1:$((28080 + i))/ready" || ok=0; done
    if [ $ok = 1 ]; then
      local stats; stats=$(curl -s --max-time 2 http://127.0.0.1:28080/partitions/stats || true)
      if echo "$stats" | grep -q '"moves_in_progress": *0,' &&
         { [ "$n" -lt 3 ] || echo "$stats" | grep -q '"under_replicated": *0,'; }; then
        return 0
      fi
    fi
    sleep 0.5
  done
  echo "cluster of $n did not settle within ${SETTLE_MAX:-120} s: $(curl -s --max-time 2 http://127.0.0.1:28080/ready)" \
       "$(curl -s --max-time 2 http://127.0.0.1:28080/partitions/stats | tr -d ' \n')" >&2
  tail -3 "$WORK"/node-*.log >&2
  return 1
}

printf '%-6s %-11s %-14s %s\n' nodes partitions "total %core" "per node %core"
for config in $CONFIGS; do
  n=${config%x*}; partitions=${config#*x}
  rm -rf "$WORK/data"; mkdir -p "$WORK/data"
  for i in $(seq 0 $((n - 1))); do
    id=node-$((i + 1))
    if [ "$i" = 0 ]; then role=(BOOTSTRAP=true); else role=(JOIN_ADDR=127.0.0.1:28080); fi
    # shellcheck disable=SC2086
    env NODE_ID="$id" "${role[@]}" DATA_DIR="$WORK/data/$id" PARTITIONS="$partitions" \
      HTTP_ADDR="127.0.0.1:$((28080 + i))" KV_ADDR="127.0.0.1:$((29080 + i))" \
      RAFT_ADDR="127.0.0.1:$((29001 + i))" LOG_LEVEL=warn ${THREADS:+THREADS=$THREADS} \
      ${EXTRA_ENV:-} "$BIN" >"$WORK/$id.log" 2>&1 &
    pids+=($!)
    [ "$i" = 0 ] && { for _ in $(seq 1 100); do http_ok http://127.0.0.1:28080/ready && break; sleep 0.2; done; }
  done
  wait_settled "$n"
  sleep "$SETTLE"
  before=(); for p in "${pids[@]}"; do before+=("$(cpu_ticks "$p")"); done
  sleep "$WINDOW"
  total=0; per=""
  for k in "${!pids[@]}"; do
    used=$(( $(cpu_ticks "${pids[$k]}") - ${before[$k]} ))
    total=$((total + used))
    per="$per $(awk -v t="$used" -v hz="$TICKS" -v w="$WINDOW" 'BEGIN { printf "%.1f", 100 * t / hz / w }')"
  done
  printf '%-6s %-11s %-14s %s\n' "$n" "$partitions" \
    "$(awk -v t="$total" -v hz="$TICKS" -v w="$WINDOW" 'BEGIN { printf "%.1f", 100 * t / hz / w }')" "${per# }"
  if [ "${KILL_CHECK:-0}" = 1 ] && [ "$n" -ge 3 ]; then
    # Disowned, the victim dies quietly (bash would report "Killed" with its command line).
    disown "${pids[$((n - 1))]}"
    python3 - "$n" "$partitions" "${pids[$((n - 1))]}" <<'PY'
import json, os, signal, sys, time, urllib.request
n, partitions, victim_pid = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
victim = f"node-{n}"
# How many groups the victim leads, as it reports itself: the check means little at 0.
with urllib.request.urlopen(f"http://127.0.0.1:{28080 + n - 1}/partitions", timeout=5) as r:
    led = sum(1 for p in json.load(r)["partitions"]
              if p.get("term", 0) > 0 and p.get("primary_node") == victim)
os.kill(victim_pid, signal.SIGKILL)
t0 = time.monotonic()
def led_everywhere():
    leaders = {}
    for i in range(n - 1):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{28080 + i}/partitions", timeout=2) as r:
                body = json.load(r)
        except OSError:
            return False, "a survivor did not answer"
        for p in body["partitions"]:
            if p.get("term", 0) == 0:
                continue  # not hosted there: that node's view is a guess
            if p["status"] == "no_leader" or p.get("primary_node") in ("", victim):
                return False, f'{p["id"]} on node-{i + 1}: {p["status"]} leader "{p.get("primary_node")}"'
            leaders[p["index"]] = p["primary_node"]
    if len(leaders) < partitions:
        return False, f"{partitions - len(leaders)} partitions not reported"
    return True, ""
why = ""
while time.monotonic() - t0 < 60:
    ok, why = led_everywhere()
    if ok:
        print(f"kill -9 of {victim} ({n} x {partitions}, leading {led} partitions): every partition led on a survivor after {time.monotonic() - t0:.1f} s")
        sys.exit(0)
    time.sleep(0.2)
print(f"kill -9 of {victim} ({n} x {partitions}, leading {led} partitions): partitions still without a live leader after 60 s ({why})")
PY
  fi
  stop_all
done
