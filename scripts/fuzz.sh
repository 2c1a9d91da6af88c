#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan) into build-fuzz/ and runs
# each on its corpus: the hand-written seeds in tests/fuzz/corpus/<target>/, the samples
# write_seeds makes with the project's encoders, and what earlier runs found.
#   scripts/fuzz.sh                   each target for FUZZ_SECONDS (default 20) seconds
#   FUZZ_RUNS=2000000 scripts/fuzz.sh each target for that many executions instead
#   scripts/fuzz.sh fuzz_http_request only the targets named
# Prints each target's executions and the total; exits 1 on any crash, leak, sanitizer report
# or timeout, naming the input that caused it (build-fuzz/crashes/).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
command -v clang++ >/dev/null || { echo "fuzz: clang++ missing (scripts/setup.sh installs it)" >&2; exit 1; }
if [ ! -f "$BUILD/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$ROOT/tests/fuzz" -B "$BUILD" -G Ninja >/dev/null
fi
cmake --build "$BUILD" -j"${JOBS:-2}" >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(fuzz_http_request fuzz_join_json fuzz_raft_wire fuzz_meta_command fuzz_storage_records fuzz_wire)
fi
"$BUILD/write_seeds" "$BUILD/seeds"
mkdir -p "$BUILD/crashes"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
total=0
failed=0
for t in "${targets[@]}"; do
  work="$BUILD/corpus/$t"
  mkdir -p "$work" "$BUILD/seeds/$t" "$ROOT/tests/fuzz/corpus/$t"
  if [ -n "${FUZZ_RUNS:-}" ]; then limit=(-runs="$FUZZ_RUNS"); else limit=(-max_total_time="${FUZZ_SECONDS:-20}"); fi
  log="$BUILD/$t.log"
  # New inputs go to the first directory only; the others are read.
  if "$BUILD/$t" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="$BUILD/crashes/$t-" "$work" "$BUILD/seeds/$t" "$ROOT/tests/fuzz/corpus/$t" \
       > "$log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed=1
  fi
  runs=$(awk '/stat::number_of_executed_units/{print $NF}' "$log" | tail -1)
  runs=${runs:-0}
  total=$((total + runs))
  echo "fuzz: $t: $runs executions, corpus $(ls "$work" | wc -l) inputs: $status"
  if [ "$status" = FAILED ]; then
    grep -E "ERROR|SUMMARY|Test unit written|runtime error" "$log" | head -8 | sed 's/^/  /'
  fi
done
echo "fuzz: $total executions in total"
exit $failed
