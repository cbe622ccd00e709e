#!/usr/bin/env bash
# Builds the safetensors fuzzer with clang + ASan/UBSan (if needed) and runs it for DURATION
# seconds on a scratch copy of the seed corpus. Exits non-zero on any finding (crash, sanitizer
# report, leak, timeout, out-of-memory, or an exception other than affine::Error); the
# reproducer is left in $AFFINE_FUZZ_OUT (default build-fuzz/findings).
#   fuzz/run.sh 60
# Environment: AFFINE_FUZZ_BUILD_DIR (default <repo>/build-fuzz), AFFINE_FUZZ_OUT.
set -euo pipefail

duration="${1:-60}"
if ! [[ "$duration" =~ ^[0-9]+$ ]] || [ "$duration" -lt 1 ]; then
  echo "usage: $0 DURATION_SECONDS" >&2
  exit 2
fi

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
if ! cmake --build "$build" --target safetensors_fuzz -j"$(nproc)" >"$build/fuzz-build.log" 2>&1; then
  grep -E "error|Error" "$build/fuzz-build.log" | head -40 >&2
  echo "run.sh: building safetensors_fuzz failed (full log: $build/fuzz-build.log)" >&2
  exit 2
fi

# The committed seeds stay untouched; the fuzzer grows its own copy.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$here/corpus/safetensors" "$work/corpus"
mkdir -p "$out"

status=0
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}" \
UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
  "$build/fuzz/safetensors_fuzz" "$work/corpus" \
    -dict="$here/safetensors.dict" -max_total_time="$duration" -max_len=16384 -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1 \
    -artifact_prefix="$out/" 2>&1 | tee "$work/log" || status=$?

if [ "$status" -ne 0 ] || ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* >/dev/null 2>&1; then
  echo "run.sh: FINDING (exit $status); reproducers in $out:" >&2
  ls -l "$out" >&2 || true
  exit 1
fi
echo "run.sh: clean after ${duration}s ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$') execs)"
