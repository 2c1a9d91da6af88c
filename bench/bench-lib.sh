# Shared helpers for the wrk benchmarks (source this file; do not run it). Every wrk call is
# bounded: -d DURATION plus an outer `timeout`; every target is checked to be loopback.
DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
CONNS=${CONNS:-"1 16 64"}
KEYSPACE=${KEYSPACE:-10000}
VALUE_SIZE=${VALUE_SIZE:-100}
BENCH_DIR=${BENCH_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}

assert_loopback_url() {
  case "$1" in
    http://127.*|http://localhost:*) ;;
    *) echo "refusing non-loopback target: $1" >&2; exit 2 ;;
  esac
}

# build_clusterkit ROOT: configures like scripts/build.sh (once) and builds the node binary unless
# SKIP_BUILD=1; sets BUILD_DIR (default ROOT/build) and BIN, or exits when there is no binary.
build_clusterkit() {
  BUILD_DIR=${BUILD_DIR:-$1/build}
  if [ "${SKIP_BUILD:-0}" != 1 ]; then
    [ -f "$BUILD_DIR/build.ninja" ] || cmake -S "$1" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} >/dev/null
    cmake --build "$BUILD_DIR" -j"${JOBS:-2}" --target clusterkit >/dev/null
  fi
  BIN=$BUILD_DIR/clusterkit
  [ -x "$BIN" ] || { echo "no clusterkit binary at $BIN" >&2; exit 1; }
}

# stop_pids PID...: SIGTERM to each, up to 10 s for it to exit, then SIGKILL.
stop_pids() {
  local p
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "$@"; do
    for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
}

# stop_everything: the wrk processes of a cell in flight (the caller's wrk_pids), then the nodes or
# members (the caller's pids, stop_pids), and waits for them: the body of the scripts' EXIT traps.
stop_everything() {
  local p
  for p in "${wrk_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  stop_pids "${pids[@]}"
  wait 2>/dev/null || true
}

port_busy() { ss -ltnH "( sport = :$1 )" 2>/dev/null | grep -q .; }
check_ports() {
  local p
  for p in "$@"; do
    if port_busy "$p"; then echo "port 127.0.0.1:$p is already in use (another benchmark/cluster running?)" >&2; exit 1; fi
  done
}

# start_clusterkit_3: node-1..node-3 of $BIN on loopback (cluster API 18080-18082, KV 19080-19082,
# Raft 19001-19003; THREADS= scheduler threads when set), data and logs under $WORK; appends their
# PIDs to the caller's `pids` array (stop them with stop_pids) and sets CK_HTTP, CK_KV and
# CK_URLS (the KV URLs). Returns once every node sees 3 alive members, answers /ready and takes
# a write; exits with the reason otherwise.
start_clusterkit_3() {
  local i id role formed writable ok u
  CK_HTTP=(18080 18081 18082); CK_KV=(19080 19081 19082); CK_RAFT=(19001 19002 19003)
  check_ports "${CK_HTTP[@]}" "${CK_KV[@]}" "${CK_RAFT[@]}"
  mkdir -p "$WORK/ck"
  for i in 0 1 2; do
    id=node-$((i + 1))
    if [ "$i" = 0 ]; then role=(BOOTSTRAP=true); else role=(JOIN_ADDR=127.0.0.1:${CK_HTTP[0]}); fi
    env NODE_ID="$id" "${role[@]}" DATA_DIR="$WORK/ck/$id" HTTP_ADDR="127.0.0.1:${CK_HTTP[$i]}" \
      KV_ADDR="127.0.0.1:${CK_KV[$i]}" RAFT_ADDR="127.0.0.1:${CK_RAFT[$i]}" LOG_LEVEL=warn ${THREADS:+THREADS=$THREADS} \
      "$BIN" >"$WORK/$id.log" 2>&1 &
    pids+=($!)
  done
  alive_nodes() { # as seen by the node with HTTP port $1
    curl -sf -m 1 "http://127.0.0.1:$1/cluster" 2>/dev/null |
      python3 -c 'import json,sys; print(sum(n["status"] == "alive" for n in json.load(sys.stdin)["nodes"]))' 2>/dev/null ||
      echo 0
  }
  cluster_formed() {
    local p
    for p in "${CK_HTTP[@]}"; do
      [ "$(alive_nodes "$p")" = 3 ] || return 1
      [ "$(curl -s -m 1 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/ready")" = 200 ] || return 1
    done
  }
  formed=false
  for _ in $(seq 1 300); do   # at most ~60 s
    for i in 0 1 2; do
      kill -0 "${pids[$i]}" 2>/dev/null || { echo "node-$((i + 1)) exited:" >&2; tail -5 "$WORK/node-$((i + 1)).log" >&2; exit 1; }
    done
    if cluster_formed; then formed=true; break; fi
    sleep 0.2
  done
  $formed || { echo "clusterkit: 3 alive nodes / 3x /ready 200 not reached in 60 s; logs in $WORK" >&2; tail -n 3 "$WORK"/node-*.log >&2; exit 1; }
  CK_URLS=(); for p in "${CK_KV[@]}"; do CK_URLS+=("http://127.0.0.1:$p"); done
  # /ready can precede every partition having a leader: wait until a write through each node succeeds
  writable=false
  for _ in $(seq 1 150); do   # at most ~30 s
    ok=0
    for u in "${CK_URLS[@]}"; do
      [ "$(curl -s -m 3 -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
            -d '{"key":"bench-probe/'"${u##*:}"'","value":"x"}' "$u/kv/set")" = 200 ] && ok=$((ok + 1))
    done
    [ "$ok" = 3 ] && { writable=true; break; }
    sleep 0.2
  done
  $writable || { echo "clusterkit: a probe write did not succeed on all 3 nodes in 30 s; logs in $WORK" >&2; exit 1; }
  echo "clusterkit: 3 nodes alive, ready and writable ($BIN)"
}

# Leadership of the partitions as node-1 sees it: "node-1=N node-2=N node-3=N" (0 for a node
# leading none), or "" when the stats do not answer.
leader_counts() {
  curl -sf -m 2 "http://127.0.0.1:${CK_HTTP[0]}/partitions/stats" 2>/dev/null |
    jq -r '.partitions_per_node as $p | [range(1; 4) | "node-\(.)=\($p["node-\(.)"] // 0)"] | join(" ")' 2>/dev/null || true
}

# settle_leaders EXPECT URL...: the partition leaders follow where requests enter
# (load_follow.hpp) once a node sends a partition enough of them, and go back to the placement's
# balance when the load stops or falls below that, so a cell measured after the load pattern
# changed (the fill goes through node-1; etcd's cells leave ClusterKit idle; a 1-connection
# cell is too light to hold the leaders) would time the leadership moving. Waits until node-1's
# /partitions/stats shows EXPECT: "node-1" (node-1 leads every partition) or "balanced" (the
# three counts within 2 of each other), running a set load through the URLs meanwhile (16
# connections split over them, 3-s rounds; no URL: no load, 1-s polls); at most SETTLE_MAX (60)
# s, then goes on with a warning. Call it before every cell: it costs one request when the
# leaders are where they should be. Prints how long it took when it had to wait.
settle_leaders() {
  local expect=$1; shift
  local urls=("$@") started=$SECONDS counts n1 n2 n3 settled share u max min v
  while :; do
    counts=$(leader_counts)
    read -r n1 n2 n3 <<<"$(echo "$counts" | sed 's/node-[0-9]=//g')"
    settled=false
    if [ -n "$counts" ]; then
      if [ "$expect" = node-1 ]; then
        [ "$n2" = 0 ] && [ "$n3" = 0 ] && [ "$n1" -gt 0 ] && settled=true
      else
        max=$n1; min=$n1
        for v in $n2 $n3; do [ "$v" -gt "$max" ] && max=$v; [ "$v" -lt "$min" ] && min=$v; done
        [ $((max - min)) -le 2 ] && settled=true
      fi
    fi
    if $settled; then
      [ $((SECONDS - started)) -eq 0 ] || echo "leaders settled ($expect) after $((SECONDS - started)) s: $counts" >&2
      return 0
    fi
    if [ $((SECONDS - started)) -ge "${SETTLE_MAX:-60}" ]; then
      echo "WARNING: leaders not settled ($expect) after ${SETTLE_MAX:-60} s: ${counts:-no stats}" >&2
      return 0
    fi
    if [ "${#urls[@]}" = 0 ]; then
      sleep 1
      continue
    fi
    share=$((16 / ${#urls[@]}))
    local warm=()
    for u in "${urls[@]}"; do
      assert_loopback_url "$u"
      timeout 30 wrk -t1 -c"$share" -d3s -s "$BENCH_DIR/lua/kv.lua" "$u" -- set "${KEYSPACE:-10000}" "${VALUE_SIZE:-100}" >/dev/null 2>&1 &
      warm+=($!)
    done
    for u in "${warm[@]}"; do wait "$u" || true; done
  done
}

# settle_for_cell CONNS URL...: settle_leaders with what a cell of CONNS connections over these
# URLs leads to: one connection is too light to move leaders (balanced, no load); more through
# node-1 alone puts every leader there; more over the three nodes balances them.
settle_for_cell() {
  local c=$1; shift
  if [ "$c" -le 1 ]; then
    settle_leaders balanced
  elif [ "$#" = 1 ]; then
    settle_leaders node-1 "$1"
  else
    settle_leaders balanced "$@"
  fi
}

threads_for() { if [ "$1" -ge 2 ]; then echo 2; else echo 1; fi; }

# wrk_cell SYSTEM OP CONNS RUN SCRIPT URL -- script args...  -> one TSV line appended to $OUT
wrk_cell() {
  local system=$1 op=$2 c=$3 run=$4 script=$5 url=$6; shift 6
  [ "${1:-}" = "--" ] && shift
  assert_loopback_url "$url"
  local t; t=$(threads_for "$c")
  local line
  line=$(timeout $((DURATION + 30)) wrk -t"$t" -c"$c" -d"${DURATION}s" --timeout 5s --latency \
           -s "$script" "$url" -- "$@" 2>&1 | grep '^RESULT ' | tail -1 || true)
  if [ -z "$line" ]; then
    printf '%s\t%s\t%s\t%s\tNA\tNA\tNA\tNA\n' "$system" "$op" "$c" "$run" >> "$OUT"
    return 1
  fi
  echo "$line" | awk -v sys="$system" -v op="$op" -v c="$c" -v run="$run" '{
      for (i = 2; i <= NF; i++) { split($i, a, "="); v[a[1]] = a[2] }
      err = v["err_connect"] + v["err_read"] + v["err_write"] + v["err_status"] + v["err_timeout"]
      printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sys, op, c, run, v["rps"], v["p50_us"], v["p99_us"], err
    }' | tee -a "$OUT"
}

# cluster_cell SYSTEM OP CONNS RUN SCRIPT URL... -- script args...  -> one TSV line appended to $OUT
# (the mode column is $MODE: spread or single). One wrk process per URL with its share of CONNS,
# all started together; req/s summed, p50/p99 from the merged latency distribution (kv_cluster.sh's
# header explains how). Uses WORK, OUT, MODE, WRK_THREADS and the caller's wrk_pids array.
cluster_cell() {
  local system=$1 op=$2 c=$3 run=$4 script=$5; shift 5
  local urls=()
  while [ "$1" != -- ]; do urls+=("$1"); shift; done
  shift
  local n=${#urls[@]} dir i share t
  dir=$(mktemp -d "$WORK/cell.XXXXXX")
  wrk_pids=()
  for i in "${!urls[@]}"; do
    share=$((c / n + (i < c % n ? 1 : 0)))
    [ "$share" -gt 0 ] || continue
    assert_loopback_url "${urls[$i]}"
    t=$WRK_THREADS; [ "$t" -le "$share" ] || t=$share
    WRK_SCRIPT=$script WRK_HIST_OUT=$dir/$i.hist timeout $((DURATION + 30)) \
      wrk -t"$t" -c"$share" -d"${DURATION}s" --timeout 5s -s "$BENCH_DIR/lua/hist.lua" "${urls[$i]}" -- "$@" \
      >"$dir/$i.out" 2>&1 &
    wrk_pids+=($!)
  done
  for i in "${wrk_pids[@]}"; do wait "$i" || true; done
  wrk_pids=()
  python3 - "$dir" "$system" "$op" "$c" "$run" "$MODE" <<'PY' | tee -a "$OUT"
import glob, os, sys
d, system, op, c, run, mode = sys.argv[1:]
rps, requests, errors, points, per = 0.0, 0, 0, [], []
ok = True
for out in sorted(glob.glob(os.path.join(d, "*.out"))):
    lines = [l for l in open(out) if l.startswith("RESULT ")]
    h = out[:-4] + ".hist"
    if not lines or not os.path.exists(h):
        ok = False
        sys.stderr.write(f"wrk produced no RESULT/quantiles ({system} {op} c={c} run={run}):\n" + open(out).read())
        continue
    v = dict(kv.split("=", 1) for kv in lines[-1].split()[1:])
    n = int(v["requests"])
    rps += float(v["rps"]); requests += n; per.append(f'{float(v["rps"]):.0f}')
    errors += sum(int(v[k]) for k in ("err_connect", "err_read", "err_write", "err_status", "err_timeout"))
    prev = 0.0
    for line in open(h):
        p, us = line.split()
        points.append((int(us), n * (float(p) - prev) / 100.0))
        prev = float(p)
total = sum(w for _, w in points)
if not ok or total <= 0:
    print(f"{system}\t{op}\t{c}\t{run}\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA\t{mode}")
    sys.exit(0)
points.sort()
def pct(p):  # smallest latency whose cumulative weight reaches p % of all requests
    target, acc = p / 100.0 * total * (1 - 1e-9), 0.0
    for us, w in points:
        acc += w
        if acc >= target:
            return us
    return points[-1][0]
print(f"{system}\t{op}\t{c}\t{run}\t{rps:.1f}\t{pct(50)}\t{pct(99)}\t{errors}\t{pct(90)}\t{points[-1][0]}\t{requests}\t{'/'.join(per)}\t{mode}")
PY
  rm -rf "$dir"
}
