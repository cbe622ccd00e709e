#!/usr/bin/env bash
# Regenerates the figures committed under docs/moons/ from a run of examples/moons at its
# defaults: the eight SVGs (data, transform, embedding, boundary, curves, layers, svd, hidden) and
# page.png, a headless
# Chromium screenshot of index.html after its animation has played to the last epoch.
#   scripts/make_docs_figures.sh [BUILD_DIR]      (default build/release; builds the moons target)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/release}"
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" --target moons
chrome="$(command -v chromium || command -v chromium-browser || true)"
[[ -n "$chrome" ]] || { echo "make_docs_figures: chromium not found (apt-get install chromium)" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$build/examples/moons/moons" --out "$tmp/out"

mkdir -p docs/moons
for f in data transform embedding boundary curves layers svd hidden; do
  cp "$tmp/out/$f.svg" "docs/moons/$f.svg"
done
# --virtual-time-budget lets the page autoplay to the last epoch before the shot is taken.
timeout 300 "$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync --disable-extensions \
  --user-data-dir="$tmp/profile" --hide-scrollbars --window-size=1200,1240 \
  --virtual-time-budget=120000 --screenshot="$tmp/page.png" "file://$tmp/out/index.html" \
  2>"$tmp/chrome.err" || { tail -5 "$tmp/chrome.err" >&2; exit 1; }
cp "$tmp/page.png" docs/moons/page.png
ls -l docs/moons
