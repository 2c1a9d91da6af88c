#!/usr/bin/env bash
# A/B of two clusterkit binaries under the same wrk load, interleaved, so that a change is judged
# against the drift of this machine (runs of one binary differ by 10-20 % here) rather than
# against a figure from another hour. Each round starts a fresh 3-node cluster of each binary in
# turn (order A B, then B A, ...), fills the key space, measures every cell, and records besides
# req/s and p50/p99 the CPU the three node processes spent per request (from /proc: user +
# system time over the cell), which moves far less between runs than req/s does.
#
#   bench/ab.sh OLD_BINARY NEW_BINARY        e.g. bench/ab.sh /tmp/clusterkit-before build/clusterkit
# Env: ROUNDS=3 CONNS="16 64" OPS=set (set get stale) MODE=spread (or single: all load to node-1)
#      DURATION=8 THREADS=1 (scheduler threads per node) FILL_SECONDS=5 KEYSPACE=10000 VALUE_SIZE=100
#
# Before every cell the leaders are let settle where the cell's load puts them (settle_for_cell in
# bench-lib.sh: they follow where requests enter); the wait goes to stderr when there was one.
# Prints one row per op and connection count: the medians over the rounds for A and B, and B/A.
# Ports as bench/kv_cluster.sh (loopback only); the clusters run one at a time.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ $# -eq 2 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
BINS=("$1" "$2")
for b in "${BINS[@]}"; do [ -x "$b" ] || { echo "not an executable: $b" >&2; exit 2; }; done
source "$ROOT/bench/bench-lib.sh"
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-"16 64"}
OPS=${OPS:-set}
MODE=${MODE:-spread}
DURATION=${DURATION:-8}
THREADS=${THREADS:-1}
WRK_THREADS=1
WORK=$(mktemp -d /tmp/ck-bench-ab.XXXXXX)
OUT=$WORK/cells.tsv
CPU_OUT=$WORK/cpu.tsv
: > "$OUT"; : > "$CPU_OUT"

pids=()
wrk_pids=()
cleanup() {
  trap - EXIT INT TERM
  stop_everything
  rm -rf "$WORK"/ck
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# CPU time (clock ticks) the node processes have used so far.
node_ticks() {
  local p sum=0
  for p in "${pids[@]}"; do sum=$((sum + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo "$sum"
}

one_cluster() {  # LABEL BINARY ROUND
  local label=$1 round=$3 c op before after urls
  BIN=$2
  pids=()
  start_clusterkit_3
  timeout 120 wrk -t2 -c16 -d"${FILL_SECONDS:-5}s" -s "$BENCH_DIR/lua/kv.lua" "${CK_URLS[0]}" \
    -- fill "$KEYSPACE" "$VALUE_SIZE" 2 >/dev/null 2>&1 || true
  if [ "$MODE" = single ]; then urls=("${CK_URLS[0]}"); else urls=("${CK_URLS[@]}"); fi
  for c in $CONNS; do
    for op in $OPS; do
      # Leaders follow where requests enter: let them settle where this cell's load puts them
      # (bench-lib.sh, settle_for_cell).
      settle_for_cell "$c" "${urls[@]}" 2>&1 | sed "s/^/$label round $round c=$c: /" >&2
      before=$(node_ticks)
      cluster_cell "$label" "$op" "$c" "$round" "$BENCH_DIR/lua/kv.lua" "${urls[@]}" -- "$op" "$KEYSPACE" "$VALUE_SIZE" >/dev/null
      after=$(node_ticks)
      printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$op" "$c" "$round" "$((after - before))" >> "$CPU_OUT"
      sleep 1
    done
  done
  stop_pids "${pids[@]}"
  pids=()
  rm -rf "$WORK/ck"
  for _ in $(seq 1 50); do port_busy "${CK_RAFT[0]}" || break; sleep 0.2; done
}

echo "A: ${BINS[0]}"
echo "B: ${BINS[1]}"
echo "rounds=$ROUNDS conns=[$CONNS] ops=[$OPS] mode=$MODE duration=${DURATION}s THREADS=$THREADS; loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then order=(0 1); else order=(1 0); fi
  for i in "${order[@]}"; do
    label=$([ "$i" = 0 ] && echo A || echo B)
    one_cluster "$label" "${BINS[$i]}" "$round" | grep -v '^clusterkit: 3 nodes' || true
    echo "round $round $label done"
  done
done
echo "loadavg after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$OUT" "$CPU_OUT" "$(getconf CLK_TCK)" <<'PY'
import statistics, sys
cells, cpu, hz = sys.argv[1], sys.argv[2], float(sys.argv[3])
rows = {}
for line in open(cells):
    f = line.rstrip("\n").split("\t")
    if len(f) < 11 or f[4] == "NA":
        continue
    rows[(f[0], f[1], f[2], f[3])] = {"rps": float(f[4]), "p50": int(f[5]) / 1000, "p99": int(f[6]) / 1000,
                                      "requests": int(f[10]), "errors": int(f[7])}
for line in open(cpu):
    label, op, c, rnd, ticks = line.split()
    r = rows.get((label, op, c, rnd))
    if r and r["requests"] > 0:
        r["cpu_us"] = float(ticks) / hz * 1e6 / r["requests"]
def med(label, op, c, key):
    v = [r[key] for (l, o, cc, _), r in rows.items() if (l, o, cc) == (label, op, c) and key in r]
    return statistics.median(v) if v else float("nan")
print()
print("| op | conns | A req/s | B req/s | B/A | A p50 / p99 ms | B p50 / p99 ms | A CPU us/req | B CPU us/req | B/A CPU |")
print("|---|---:|---:|---:|---:|---|---|---:|---:|---:|")
for op, c in sorted({(o, cc) for (_, o, cc, _) in rows}, key=lambda k: (k[0], int(k[1]))):
    a, b = med("A", op, c, "rps"), med("B", op, c, "rps")
    ca, cb = med("A", op, c, "cpu_us"), med("B", op, c, "cpu_us")
    print(f"| {op} | {c} | {a:,.0f} | {b:,.0f} | {b / a:.2f}x | {med('A', op, c, 'p50'):.2f} / {med('A', op, c, 'p99'):.2f} "
          f"| {med('B', op, c, 'p50'):.2f} / {med('B', op, c, 'p99'):.2f} | {ca:.0f} | {cb:.0f} | {cb / ca:.2f}x |")
errors = sum(r["errors"] for r in rows.values())
print(f"(medians of {len({k[3] for k in rows})} rounds; node CPU = user + system of the 3 node processes over the cell; "
      f"wrk errors {errors})")
PY
