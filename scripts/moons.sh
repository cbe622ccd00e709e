#!/usr/bin/env bash
# The main job, from a clean clone: install missing packages, build affine and examples/moons in
# Release, train the seed's 2-100-2-1 network on two moons and write its figures to out/moons/.
# Extra arguments go to the program (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release --target moons -j "$(nproc)"
build/release/examples/moons/moons "$@"
