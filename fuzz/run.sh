#!/usr/bin/env bash
# Builds the file-reader fuzzers (safetensors, npy) with clang + ASan/UBSan (if needed) and runs
# them side by side, each for DURATION seconds on a scratch copy of its seed corpus. Exits
# non-zero on any finding (crash, sanitizer report, leak, timeout, out-of-memory, or an exception
# other than affine::Error); the reproducer is left in $AFFINE_FUZZ_OUT (default
# build-fuzz/findings).
#   fuzz/run.sh 60              # both, 60 s each
#   fuzz/run.sh 600 npy         # one of them
# Environment: AFFINE_FUZZ_BUILD_DIR (default <repo>/build-fuzz), AFFINE_FUZZ_OUT.
set -euo pipefail

duration="${1:-60}"
if ! [[ "$duration" =~ ^[0-9]+$ ]] || [ "$duration" -lt 1 ]; then
  echo "usage: $0 DURATION_SECONDS [safetensors|npy]..." >&2
  exit 2
fi
shift || true
readers=("$@")
[ ${#readers[@]} -gt 0 ] || readers=(safetensors npy)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
build="${AFFINE_FUZZ_BUILD_DIR:-$root/build-fuzz}"
out="${AFFINE_FUZZ_OUT:-$build/findings}"

if ! command -v clang++ >/dev/null; then
  echo "run.sh: clang++ not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 2
fi

if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DAFFINE_BUILD_FUZZERS=ON -DAFFINE_SANITIZE="address;undefined" \
    -DAFFINE_BUILD_TESTS=OFF -DAFFINE_BUILD_BENCH=OFF -DAFFINE_BUILD_EXAMPLES=OFF \
    -DAFFINE_INSTALL=OFF >/dev/null
fi
targets=()
for r in "${readers[@]}"; do targets+=("${r}_fuzz"); done
if ! cmake --build "$build" --target "${targets[@]}" -j"$(nproc)" >"$build/fuzz-build.log" 2>&1; then
  grep -E "error|Error" "$build/fuzz-build.log" | head -40 >&2
  echo "run.sh: building ${targets[*]} failed (full log: $build/fuzz-build.log)" >&2
  exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

# The fuzzers run side by side (one core each on a 2-core CI machine), each for DURATION seconds.
run_one() {
  local r=$1 status=0
  # The committed seeds stay untouched; the fuzzer grows its own copy.
  cp -r "$here/corpus/$r" "$work/corpus-$r"
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}" \
  UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
    "$build/fuzz/${r}_fuzz" "$work/corpus-$r" \
      -dict="$here/$r.dict" -max_total_time="$duration" -max_len=16384 -timeout=10 \
      -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1 \
      -artifact_prefix="$out/$r-" >"$work/log-$r" 2>&1 || status=$?
  echo "$status" >"$work/status-$r"
}
for r in "${readers[@]}"; do run_one "$r" & done
wait

for r in "${readers[@]}"; do
  # run_one writes its status last; a subshell that stopped before (say, a failed corpus copy,
  # under set -e) leaves none.
  if [ ! -f "$work/status-$r" ]; then
    echo "run.sh: ${r}_fuzz did not run to the end (no status; corpus copy or launch failed)" >&2
    exit 2
  fi
  status=$(cat "$work/status-$r")
  if [ "$status" -ne 0 ] || ls "$out/$r"-crash-* "$out/$r"-leak-* "$out/$r"-timeout-* \
      "$out/$r"-oom-* >/dev/null 2>&1; then
    tail -60 "$work/log-$r" >&2
    echo "run.sh: ${r}_fuzz FINDING (exit $status); reproducers in $out:" >&2
    ls -l "$out" >&2 || true
    exit 1
  fi
  echo "run.sh: ${r}_fuzz clean after ${duration}s ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log-$r" | grep -o '[0-9]*$') execs)"
done
