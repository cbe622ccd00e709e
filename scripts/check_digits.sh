#!/usr/bin/env bash
# End-to-end check of examples/digits (called by scripts/test.sh after a Release build):
#   scripts/check_digits.sh BUILD_DIR
# Trains the CNN at its defaults into a temporary folder and checks: test accuracy >= 0.98 (parsed
# from the summary line), loss.svg and confusion.svg present and well-formed XML, the same accuracy
# and loss curve from a second run (determinism), exit status 2 for a bad flag, and (when mpirun
# exists) the same training data-parallel on 2 MPI processes: accuracy >= 0.98, one summary line,
# files written once, and a global batch that does not split over the processes refused. Exits
# non-zero with a message naming the first failure.
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

# ---- data-parallel: 2 MPI processes (when digits was built with affine::dist) --------------------
if command -v mpirun >/dev/null; then
  mpi=(mpirun --oversubscribe --allow-run-as-root -np 2)
  if "${mpi[@]}" "$bin" --distributed --out "$tmp/dist" >"$tmp/dist.log" 2>&1; then
    [[ "$(grep -c '^trained ' "$tmp/dist.log")" -eq 1 ]] || die "--distributed: not one summary line (rank 0 only)"
    acc="$(sed -nE 's/.*test accuracy: ([0-9.]+).*/\1/p' "$tmp/dist.log")"
    python3 -c "import sys; sys.exit(0 if float('$acc') >= 0.98 else 1)" ||
      die "--distributed: test accuracy $acc < 0.98 on 2 processes"
    for f in loss.svg confusion.svg; do [[ -s "$tmp/dist/$f" ]] || die "--distributed: $f missing"; done
    ok "mpirun -np 2 digits --distributed: test accuracy $acc, files written once"
    set +e
    timeout 120 "${mpi[@]}" "$bin" --distributed --batch 33 --epochs 1 --out "$tmp/odd" >"$tmp/odd.log" 2>&1
    status=$?
    set -e
    [[ $status -ne 0 && $status -ne 124 ]] || die "--distributed --batch 33 on 2 processes exited with $status"
    grep -q "batch of 33 rows does not split evenly over 2 processes" "$tmp/odd.log" ||
      { cat "$tmp/odd.log" >&2; die "--distributed --batch 33: no error naming the batch"; }
    [[ ! -e "$tmp/odd" ]] || die "--distributed --batch 33 left an output folder"
    ok "a global batch that does not split over the processes is refused, naming it"
  elif grep -q "built without affine::dist" "$tmp/dist.log"; then
    ok "digits built without affine::dist (no MPI): --distributed refused with a clear error"
  else
    cat "$tmp/dist.log" >&2
    die "mpirun -np 2 digits --distributed failed"
  fi
fi

echo "check_digits: all checks passed"
