#!/usr/bin/env bash
# Every installed header of tensor, autograd and nn is reachable from <affine/affine.hpp>, so the
# one include the README promises gives the whole library (a new header cannot be forgotten).
#   umbrella_test.sh CXX SOURCE_DIR
set -euo pipefail
cxx=$1
src=$2
inc=()
for layer in tensor autograd nn; do inc+=(-I "$src/$layer/include"); done
inc+=(-I "$src/include")
included=$(echo '#include <affine/affine.hpp>' |
  "$cxx" -std=c++20 "${inc[@]}" -H -fsyntax-only -x c++ - 2>&1 >/dev/null |
  sed -nE 's|^\.+ .*/include/(affine/[a-z_]+/[a-z_0-9]+\.hpp)$|\1|p' | sort -u)
missing=0
for layer in tensor autograd nn; do
  for h in "$src/$layer/include/affine/$layer"/*.hpp; do
    rel="affine/$layer/$(basename "$h")"
    if ! grep -qx "$rel" <<<"$included"; then
      echo "umbrella_test: <$rel> is not reachable from <affine/affine.hpp>" >&2
      missing=1
    fi
  done
done
[[ $missing -eq 0 ]] && echo "umbrella_test: every header is reachable from <affine/affine.hpp>"
exit $missing
