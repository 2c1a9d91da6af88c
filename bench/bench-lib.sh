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
