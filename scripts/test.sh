#!/usr/bin/env bash
# The whole test suite, from a clean clone on a fresh Debian 12 machine:
#   1. install missing Debian packages (scripts/setup.sh);
#   2. Release build with -Werror (g++), full ctest;
#   3. AddressSanitizer + UndefinedBehaviorSanitizer build, full ctest (halts on the first error);
#   4. install, then build and run an outside project with find_package and with add_subdirectory
#      (affine::affine, and affine::viz drawing a decision boundary);
#   5. clang build of the library with -Werror; the safetensors and .npy fuzzers (60 s each, side
#      by side); the kernels' bits from clang++ compared with g++'s (tests/bits);
#   6. the moons example end to end (accuracy, files, determinism, bad flags, headless Chromium);
#   7. the digits CNN example end to end (accuracy >= 0.98, SVG files, determinism).
# Each stage prints its name and how long it took, and the end prints every stage's time (the CI
# budget is 30 minutes on an idle 2-core machine). The script stops at the first failure. Build
# trees go under build/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc)
start=$SECONDS
stage_name=""
stage_start=$SECONDS
times=()
end_stage() {
  if [[ -n "$stage_name" ]]; then
    local took=$((SECONDS - stage_start))
    printf '==== %s: %dm%02ds ====\n' "$stage_name" $((took / 60)) $((took % 60))
    times+=("$(printf '%6ds  %s' "$took" "$stage_name")")
  fi
}
stage() {
  end_stage
  stage_name="$*"
  stage_start=$SECONDS
  printf '\n==== %s (at %ds) ====\n' "$*" $((SECONDS - start))
}

stage "setup"
AFFINE_SETUP_BROWSER=1 scripts/setup.sh

stage "release build (-Werror) and tests"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DAFFINE_WERROR=ON \
  -DCMAKE_INSTALL_PREFIX="$root/build/install" >/dev/null
cmake --build build/release -j "$jobs"
ctest --test-dir build/release -j "$jobs" --output-on-failure --timeout 600

stage "sanitizer build (address;undefined) and tests"
# -g1 (line tables only): the sanitizers' stack traces keep every function, file and line, and the
# build takes about a third less time than with full debug information (-g).
cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DAFFINE_SANITIZE="address;undefined" -DAFFINE_BUILD_BENCH=OFF -DAFFINE_BUILD_EXAMPLES=OFF \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" >/dev/null
cmake --build build/asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir build/asan -j "$jobs" --output-on-failure --timeout 900

stage "consumers: find_package and add_subdirectory"
cmake --install build/release >/dev/null
if grep -q -- "-m\(avx\|fma\|arch\)" build/install/lib/cmake/affine/affineTargets.cmake; then
  echo "an ISA flag leaks into affine's exported targets" >&2; exit 1
fi
cmake -S tests/consumer -B build/consumer-find -G Ninja -DAFFINE_CONSUME=find_package \
  -DCMAKE_PREFIX_PATH="$root/build/install" >/dev/null
cmake --build build/consumer-find
build/consumer-find/consumer
# affine::viz from the install: the README's plot example writes a decision-boundary SVG.
build/consumer-find/consumer_plot build/consumer-find/boundary.svg
python3 -c "import sys, xml.etree.ElementTree as ET; r = ET.parse(sys.argv[1]).getroot(); \
  sys.exit(0 if r.tag.endswith('svg') and 'colorbar' in ET.tostring(r, encoding='unicode') else 1)" \
  build/consumer-find/boundary.svg
cmake -S tests/consumer -B build/consumer-subdir -G Ninja -DAFFINE_CONSUME=add_subdirectory \
  -DAFFINE_SOURCE_DIR="$root" >/dev/null
cmake --build build/consumer-subdir
build/consumer-subdir/consumer
build/consumer-subdir/consumer_plot build/consumer-subdir/boundary.svg
# The optional dist component: find_package(affine COMPONENTS dist), two ranks under mpirun.
cmake -S tests/consumer -B build/consumer-dist -G Ninja -DAFFINE_CONSUME=find_package \
  -DAFFINE_CONSUME_DIST=ON -DCMAKE_PREFIX_PATH="$root/build/install" >/dev/null
cmake --build build/consumer-dist
mpirun --oversubscribe --allow-run-as-root -n 2 build/consumer-dist/consumer_dist

stage "clang build (-Werror), the file-reader fuzzers, the same bits from g++ and clang++"
CC=clang CXX=clang++ cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DAFFINE_WERROR=ON -DAFFINE_BUILD_FUZZERS=ON -DAFFINE_SANITIZE="address;undefined" \
  -DAFFINE_BUILD_TESTS=OFF -DAFFINE_BUILD_BENCH=OFF -DAFFINE_BUILD_EXAMPLES=OFF \
  -DAFFINE_INSTALL=OFF -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1" >/dev/null
AFFINE_FUZZ_BUILD_DIR="$root/build/fuzz" fuzz/run.sh 60 safetensors npy
# The kernels promise the same bits from any compiler (-ffp-contract=off, explicit fma): the same
# program built by g++ (Release) and clang++ (this build) must print the same hashes at every ISA,
# and the portable kernels must match the committed hashes.
cmake --build build/fuzz --target generic_bits -j "$jobs"
for isa in generic avx2 avx512; do
  AFFINE_ISA=$isa build/release/tests/bits/generic_bits >"build/bits-gcc-$isa.txt" 2>/dev/null
  AFFINE_ISA=$isa build/fuzz/tests/bits/generic_bits >"build/bits-clang-$isa.txt" 2>/dev/null
  diff -u "build/bits-gcc-$isa.txt" "build/bits-clang-$isa.txt" ||
    { echo "g++ and clang++ kernels differ at AFFINE_ISA=$isa" >&2; exit 1; }
done
diff -u tests/bits/generic_golden.txt build/bits-clang-generic.txt ||
  { echo "the portable kernels' bits differ from tests/bits/generic_golden.txt" >&2; exit 1; }
echo "kernels: same bits from g++ and clang++ at every ISA; portable kernels match the golden file"

stage "moons example end to end"
scripts/check_moons.sh build/release

stage "digits example end to end"
scripts/check_digits.sh build/release

end_stage
printf '\nstage times:\n'
printf '%s\n' "${times[@]}"
printf '\nall tests passed in %ds\n' $((SECONDS - start))
