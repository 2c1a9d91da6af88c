#!/usr/bin/env bash
# The C++ client library against a 3-node ClusterKit on loopback (bench/client_kv_bench): set
# and get from THREADS blocking client threads, each key's request routed straight to its
# partition leader (the library's default) vs sent to the nodes in turn (they relay to the
# leader), measured in the same run, interleaved. Prints one table with the leader/any ratio.
#
#   bench/client_kv.sh        Env: THREADS_LIST="16 64" OPS="set get" DURATION=10 RUNS=1
#                                  SKIP_BUILD=1 BUILD_DIR=./build THREADS= (node scheduler threads)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/bench-lib.sh"
build_clusterkit "$ROOT"
if [ "${SKIP_BUILD:-0}" != 1 ]; then cmake --build "$BUILD_DIR" -j"${JOBS:-2}" --target client_kv_bench >/dev/null; fi
CLIENT_BENCH=$BUILD_DIR/bench/client_kv_bench
[ -x "$CLIENT_BENCH" ] || { echo "no client_kv_bench at $CLIENT_BENCH" >&2; exit 1; }
THREADS_LIST=${THREADS_LIST:-"16 64"}
OPS=${OPS:-"set get"}
RUNS=${RUNS:-1}
WORK=$(mktemp -d /tmp/ck-bench-client.XXXXXX)
pids=()
cleanup() { trap - EXIT INT TERM; stop_pids "${pids[@]}"; wait 2>/dev/null || true; rm -rf "$WORK/ck"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

start_clusterkit_3
ENDPOINTS=127.0.0.1:${CK_HTTP[0]},127.0.0.1:${CK_HTTP[1]},127.0.0.1:${CK_HTTP[2]}
# Every key written once, so gets find their keys.
timeout 300 "$CLIENT_BENCH" --endpoints "$ENDPOINTS" --op set --threads 16 --seconds 5 >/dev/null
OUT=$WORK/results.txt
for run in $(seq 1 "$RUNS"); do
  for t in $THREADS_LIST; do
    for op in $OPS; do
      for route in leader any; do
        line=$(timeout $((DURATION + 60)) "$CLIENT_BENCH" --endpoints "$ENDPOINTS" --op "$op" \
                 --threads "$t" --seconds "$DURATION" --route "$route")
        echo "$line" | tee -a "$OUT"
        sleep 1
      done
    done
  done
done
python3 - "$OUT" <<'PY'
import statistics, sys
cells = {}
for line in open(sys.argv[1]):
    f = dict(kv.split("=", 1) for kv in line.split())
    cells.setdefault((f["op"], int(f["threads"]), f["route"]), []).append(f)
print("\n3-node clusterkit through the C++ client library (blocking calls, one thread per request in flight)")
print("| op | threads | route | req/s (median) | p50 ms | p99 ms | errors | leader/any |")
print("|---|---:|---|---:|---:|---:|---:|---:|")
for (op, t, route) in sorted(cells, key=lambda k: (k[0] != "set", k[1], k[2] != "leader")):
    rows = cells[(op, t, route)]
    rps = statistics.median(float(r["rps"]) for r in rows)
    p50 = statistics.median(int(r["p50_us"]) for r in rows) / 1000
    p99 = statistics.median(int(r["p99_us"]) for r in rows) / 1000
    err = sum(int(r["errors"]) for r in rows)
    ratio = ""
    if route == "leader" and (op, t, "any") in cells:
        other = statistics.median(float(r["rps"]) for r in cells[(op, t, "any")])
        ratio = f"{rps / other:.2f}x" if other else ""
    print(f"| {op} | {t} | {route} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {err} | {ratio} |")
PY
