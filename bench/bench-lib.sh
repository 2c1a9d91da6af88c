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
