#!/usr/bin/env bash
# End-to-end check of examples/digits (called by scripts/test.sh after a Release build):
#   scripts/check_digits.sh BUILD_DIR
# Trains the CNN at its defaults into a temporary folder and checks: test accuracy >= 0.98 (parsed
# from the summary line), loss.svg and confusion.svg present and well-formed XML, the same accuracy
# and loss curve from a second run (determinism), and exit status 2 for a bad flag. Exits non-zero
# with a message naming the first failure.
set -euo pipefail

die() { printf 'check_digits: FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'check_digits: ok: %s\n' "$*"; }

[[ $# -eq 1 ]] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
bin="$1/examples/digits/digits"
[[ -x "$bin" ]] || die "no digits binary at $bin (build the 'digits' target first)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

start=$SECONDS
"$bin" --out "$tmp/run1" >"$tmp/run1.log" 2>&1 || { cat "$tmp/run1.log" >&2; die "digits failed"; }
cat "$tmp/run1.log"
ok "trained in $((SECONDS - start)) s"
acc="$(sed -nE 's/.*test accuracy: ([0-9.]+).*/\1/p' "$tmp/run1.log")"
[[ -n "$acc" ]] || die "no 'test accuracy: X' in the output"
python3 -c "import sys; sys.exit(0 if float('$acc') >= 0.98 else 1)" || die "test accuracy $acc < 0.98"
ok "test accuracy $acc >= 0.98"

python3 - "$tmp/run1" <<'PY' || die "SVG contents (see above)"
import sys, xml.etree.ElementTree as ET
out = sys.argv[1]
for name in ("loss.svg", "confusion.svg"):
    ET.parse(f"{out}/{name}")  # raises on malformed XML
text = open(f"{out}/confusion.svg").read()
if "test confusion matrix (accuracy" not in text:
    sys.exit("confusion.svg has no accuracy in its title")
print("check_digits: ok: loss.svg and confusion.svg are well-formed SVG")
PY

"$bin" --out "$tmp/run2" >"$tmp/run2.log" 2>&1 || die "second run failed"
acc2="$(sed -nE 's/.*test accuracy: ([0-9.]+).*/\1/p' "$tmp/run2.log")"
[[ "$acc" == "$acc2" ]] || die "two runs with the same seed differ: $acc vs $acc2"
cmp -s "$tmp/run1/loss.svg" "$tmp/run2/loss.svg" || die "two runs wrote different loss curves"
ok "a second run gives the same accuracy and the same loss curve"

set +e
"$bin" --epochs 0 >/dev/null 2>&1
status=$?
set -e
[[ $status -eq 2 ]] || die "--epochs 0 exited with $status, expected 2"
ok "a bad flag exits with status 2"
