#!/usr/bin/env bash
# End-to-end check of examples/moons (called by scripts/test.sh after a Release build):
#   scripts/check_moons.sh BUILD_DIR
# Runs the example at its defaults into a temporary folder and checks: test accuracy >= 0.99
# (parsed from its summary line), every file present, every SVG well-formed XML without NaN,
# geometry.json with one well-formed entry per epoch, one frame per
# epoch in index.html and nothing fetched from a network, a readable model.safetensors, identical
# bytes from a second run, exit status 2 for bad flags, a clear error and nothing left behind for
# an unwritable --out or an interrupted run (SIGINT, SIGTERM), and finally that index.html runs in headless Chromium without script errors
# and animates to the last epoch. Exits non-zero with a message naming the first failure.
set -euo pipefail

die() { printf 'check_moons: FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'check_moons: ok: %s\n' "$*"; }

[[ $# -eq 1 ]] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
bin="$1/examples/moons/moons"
[[ -x "$bin" ]] || die "no moons binary at $bin (build the 'moons' target first)"
bin="$(cd "$(dirname "$bin")" && pwd)/moons"

tmp="$(mktemp -d)"
trap 'chmod -R u+w "$tmp" 2>/dev/null || true; rm -rf "$tmp"' EXIT
files=(data.svg transform.svg embedding.svg boundary.svg curves.svg layers.svg svd.svg hidden.svg
       geometry.json index.html model.safetensors)

# ---- 1. a run at the defaults --------------------------------------------------------------------
"$bin" --out "$tmp/run1" >"$tmp/run1.log" 2>"$tmp/run1.err" ||
  { cat "$tmp/run1.log" "$tmp/run1.err" >&2; die "moons exited with status $? at its defaults"; }
cat "$tmp/run1.log"
summary="$(grep -E '^trained .*test accuracy [0-9.]+$' "$tmp/run1.log" | tail -1)" ||
  die "no summary line ending in 'test accuracy X' in the output"
# One punctuation for every result in the summary: "name value", comma-separated.
grep -qE '^trained [0-9]+ epochs in [0-9.]+ s \([0-9.]+ s with snapshots\): train loss [0-9.]+, train accuracy [0-9.]+, test loss [0-9.]+, test accuracy [0-9.]+$' <<<"$summary" ||
  die "summary line has an unexpected form: $summary"
acc="$(sed -E 's/.*test accuracy ([0-9.]+)$/\1/' <<<"$summary")"
epochs="$(sed -nE 's/^trained ([0-9]+) epochs.*/\1/p' "$tmp/run1.log")"
[[ -n "$epochs" ]] || die "no 'trained N epochs' summary line"
python3 -c "import sys; sys.exit(0 if float('$acc') >= 0.99 else 1)" ||
  die "test accuracy $acc < 0.99"
ok "test accuracy $acc >= 0.99 after $epochs epochs"
progress_lines="$(grep -c '^epoch ' "$tmp/run1.log" || true)"
[[ "$progress_lines" -ge 2 ]] || die "expected progress lines every few epochs when stdout is not a terminal"

for f in "${files[@]}"; do
  [[ -s "$tmp/run1/$f" ]] || die "missing or empty output file $f"
done
leftover="$(find "$tmp/run1" -mindepth 1 -name '.*')"
[[ -z "$leftover" ]] || die "temporary files left in the output folder: $leftover"
ok "all ${#files[@]} files present: $(cd "$tmp/run1" && du -ch "${files[@]}" | tail -1 | cut -f1) in total"

# ---- 2. file contents ---------------------------------------------------------------------------
python3 - "$tmp/run1" "$epochs" <<'PY' || die "file contents (see above)"
import base64, json, re, struct, sys, xml.etree.ElementTree as ET
out, epochs = sys.argv[1], int(sys.argv[2])
def fail(msg):
    print("check_moons:", msg, file=sys.stderr); sys.exit(1)
svgs = ["data.svg", "transform.svg", "embedding.svg", "boundary.svg", "curves.svg", "layers.svg",
        "svd.svg", "hidden.svg"]
for name in svgs:
    try:
        root = ET.parse(f"{out}/{name}").getroot()
    except ET.ParseError as e:
        fail(f"{name} is not well-formed XML: {e}")
    if root.tag != "{http://www.w3.org/2000/svg}svg":
        fail(f"{name}: root element is {root.tag}, not an SVG <svg>")
    if re.search(r'="[^"]*\b(nan|inf)\b', open(f"{out}/{name}", encoding="utf-8").read(), re.I):
        fail(f"{name} holds a NaN or infinite coordinate")
try:
    geo = json.load(open(f"{out}/geometry.json", encoding="utf-8"))
except ValueError as e:
    fail(f"geometry.json does not parse: {e}")
if [g["epoch"] for g in geo["epochs"]] != list(range(epochs + 1)):
    fail("geometry.json does not hold one entry per epoch 0..%d" % epochs)
for g in geo["epochs"]:
    lin = g["linear"]
    if sorted(lin) != ["0", "2", "4"] or [len(lin[k]["singular_values"]) for k in "024"] != [2, 2, 1]:
        fail(f"geometry.json epoch {g['epoch']}: expected Linear 0, 2, 4 with 2, 2, 1 singular values")
    for k in "024":
        sv = lin[k]["singular_values"]
        if sv != sorted(sv, reverse=True) or min(sv) < 0:
            fail(f"geometry.json epoch {g['epoch']} Linear {k}: singular values {sv} not descending")
    if not all(a in lin[k] for k, a in [("0", "v_angle_deg"), ("2", "u_angle_deg"), ("4", "v_angle_deg")]):
        fail(f"geometry.json epoch {g['epoch']}: an angle of a 2-D factor is missing")
    r = g["hidden_pca_variance_ratio"]
    if len(r) != 5 or sum(r) > 1 + 1e-5 or r != sorted(r, reverse=True):
        fail(f"geometry.json epoch {g['epoch']}: variance ratios {r} (need 5, descending, sum <= 1)")
html = open(f"{out}/index.html", encoding="utf-8").read()
frames = re.findall(r'^\{e:(\d+),loss:\[[^]]*\],acc:\[[^]]*\],g:\[[^]]*\],w:"([A-Za-z0-9+/=]*)"\},$', html, re.M)
if [int(e) for e, _ in frames] != list(range(epochs + 1)):
    fail(f"index.html holds frames {[int(e) for e, _ in frames][:5]}...; expected one for each "
         f"epoch 0..{epochs}")
for e, w in frames:
    if len(base64.b64decode(w)) != 505 * 4:
        fail(f"index.html: frame {e} does not hold 505 float32 weights")
for pattern in [r'\bsrc\s*=\s*["\']?(https?:)?//', r'\bhref\s*=\s*["\']?(https?:)?//',
                r'url\(\s*["\']?(https?:)?//', r'@import', r'\bfetch\s*\(', r'XMLHttpRequest']:
    if re.search(pattern, html):
        fail(f"index.html refers to an outside resource ({pattern})")
if html.count("<svg") < 3:
    fail("index.html does not inline the static figures")
raw = open(f"{out}/model.safetensors", "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])
shapes = {k: v["shape"] for k, v in header.items() if k != "__metadata__"}
want = {"0.weight": [100, 2], "0.bias": [100], "2.weight": [2, 100], "2.bias": [2],
        "4.weight": [1, 2], "4.bias": [1]}
if shapes != want:
    fail(f"model.safetensors holds {shapes}, expected {want}")
print(f"check_moons: ok: {len(svgs)} SVGs parse, geometry.json holds epochs 0..{epochs}, index.html has {len(frames)} frames (epochs 0..{epochs}) "
      f"and no outside resources ({len(html) // 1024} KB), model.safetensors holds {sorted(shapes)}")
PY

# ---- 3. determinism -----------------------------------------------------------------------------
"$bin" --out "$tmp/run2" --quiet >"$tmp/run2.log" 2>&1 || die "second run failed: $(cat "$tmp/run2.log")"
diff -r "$tmp/run1" "$tmp/run2" >/dev/null || die "a second run gave different files: $(diff -rq "$tmp/run1" "$tmp/run2" | head -3)"
[[ "$(wc -l <"$tmp/run2.log")" -eq 1 ]] || die "--quiet printed more than the summary line"
ok "a second run gives byte-identical files"

# ---- 4. command-line errors ---------------------------------------------------------------------
"$bin" --help >"$tmp/help.txt" 2>&1 || die "--help exited with status $?"
grep -q -- '--optimizer' "$tmp/help.txt" || die "--help does not list --optimizer"
bad=("--bogus" "--samples abc" "--samples 3" "--noise nan" "--noise -1" "--epochs 0"
     "--optimizer rmsprop" "--lr 0" "--lr -0.1" "--momentum 0.5" "--batch -1" "--seed -1"
     "--seed 18446744073709551616" "--seed 99999999999999999999" "stray-argument")
for args in "${bad[@]}"; do
  set +e
  # shellcheck disable=SC2086  # split the flag from its value on purpose
  "$bin" $args --out "$tmp/bad" >"$tmp/bad.log" 2>&1
  status=$?
  set -e
  [[ $status -eq 2 ]] || die "'moons $args' exited with status $status, expected 2"
  grep -qi 'usage' "$tmp/bad.log" || die "'moons $args' printed no usage message"
  [[ ! -e "$tmp/bad" ]] || die "'moons $args' created the output folder"
done
set +e
"$bin" --out >"$tmp/bad.log" 2>&1
status=$?
set -e
[[ $status -eq 2 ]] || die "'moons --out' (missing value) exited with status $status, expected 2"
ok "bad flags and values exit with status 2 and a usage message ($((${#bad[@]} + 1)) cases)"

# ---- 5. unwritable output folder ----------------------------------------------------------------
touch "$tmp/not-a-folder"
check_unwritable() {  # $1 = --out value, $2 = what to say
  set +e
  "$bin" --out "$1" --epochs 2 >"$tmp/unw.log" 2>"$tmp/unw.err"
  local status=$?
  set -e
  [[ $status -ne 0 ]] || die "--out $1 ($2) succeeded"
  [[ $status -ne 2 ]] || die "--out $1 ($2) exited 2 (reserved for usage errors)"
  grep -q "cannot write to output folder" "$tmp/unw.err" ||
    die "--out $1 ($2) gave no clear error: $(cat "$tmp/unw.err")"
}
check_unwritable "$tmp/not-a-folder" "a regular file"
check_unwritable "$tmp/not-a-folder/out" "below a regular file"
mkdir -p "$tmp/ro/keep"
echo old >"$tmp/ro/keep/index.html"
if [[ $(id -u) -ne 0 ]]; then  # root ignores permissions: only meaningful for other users
  chmod 555 "$tmp/ro/keep"
  check_unwritable "$tmp/ro/keep" "read-only"
  chmod 755 "$tmp/ro/keep"
fi
[[ "$(ls -A "$tmp/ro/keep")" == "index.html" && "$(cat "$tmp/ro/keep/index.html")" == old ]] ||
  die "a failed run changed the existing output folder"
[[ ! -e "$tmp/not-a-folder/out" ]] || die "a failed run left files behind"
ok "an unwritable --out gives a clear error, a non-zero status and leaves nothing behind"

# ---- 5b. interrupted runs leave nothing behind ------------------------------------------------
for sig in INT TERM; do
  out="$tmp/sig-$sig/nested/out"
  "$bin" --out "$out" --epochs 100000 --quiet >"$tmp/sig.log" 2>&1 &
  pid=$!
  # Wait until the run has created its folders (the staging folder is the last one made).
  for _ in $(seq 1 600); do
    compgen -G "$out/.moons-staging-*" >/dev/null && break
    sleep 0.05
  done
  compgen -G "$out/.moons-staging-*" >/dev/null || die "moons never created its staging folder"
  kill -s "$sig" "$pid"
  set +e
  wait "$pid"
  status=$?
  set -e
  want=$((128 + $(kill -l "$sig")))
  [[ $status -eq $want ]] || die "SIG$sig: moons exited with status $status, expected $want"
  [[ ! -e "$tmp/sig-$sig" ]] || die "SIG$sig left behind: $(find "$tmp/sig-$sig")"
done
ok "SIGINT and SIGTERM during a run leave no folder or file behind and exit 128 + signal"

# ---- 6. the page in headless Chromium -----------------------------------------------------------
chrome="$(command -v chromium || command -v chromium-browser || true)"
[[ -n "$chrome" ]] || die "chromium not found (install Debian's 'chromium' package: AFFINE_SETUP_BROWSER=1 scripts/setup.sh)"
profile="$(mktemp -d)"
set +e
timeout 300 "$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --disable-extensions --user-data-dir="$profile" --virtual-time-budget=120000 \
  --dump-dom "file://$tmp/run1/index.html" >"$tmp/dom.html" 2>"$tmp/chrome.err"
status=$?
set -e
rm -rf "$profile"
[[ $status -eq 0 ]] || { tail -5 "$tmp/chrome.err" >&2; die "chromium exited with status $status"; }
python3 - "$tmp/dom.html" "$epochs" <<'PY' || die "the page in headless Chromium (see above)"
import html.parser, sys
dom, epochs = open(sys.argv[1], encoding="utf-8").read(), sys.argv[2]
class Body(html.parser.HTMLParser):
    attrs = None
    def handle_starttag(self, tag, attrs):
        if tag == "body" and self.attrs is None:
            self.attrs = dict(attrs)
p = Body()
p.feed(dom)
a = p.attrs
if a is None:
    print("check_moons: the dumped DOM has no <body>", file=sys.stderr); sys.exit(1)
if "data-error" in a:
    print(f"check_moons: script error in the page: {a['data-error']}", file=sys.stderr); sys.exit(1)
if a.get("data-geometry-epoch") != epochs:
    print(f"check_moons: the layer-by-layer views stopped at epoch {a.get('data-geometry-epoch')!r}, "
          f"expected {epochs!r}", file=sys.stderr)
    sys.exit(1)
if a.get("data-status") != "ok" or a.get("data-epoch") != epochs:
    print(f"check_moons: the animation did not finish: data-status={a.get('data-status')!r}, "
          f"data-epoch={a.get('data-epoch')!r}, expected 'ok' and {epochs!r}", file=sys.stderr)
    sys.exit(1)
print(f"check_moons: ok: headless Chromium ran the page without script errors and animated it, layer views "
      f"included (their SVDs and PCA checked against the program's), to epoch {epochs}")
PY

# ---- data-parallel: 2 MPI processes (when moons was built with affine::dist) ---------------------
if command -v mpirun >/dev/null; then
  if mpirun --oversubscribe --allow-run-as-root -np 2 "$bin" --distributed --quiet --epochs 50 \
      --out "$tmp/dist" >"$tmp/dist.log" 2>&1; then
    [[ "$(grep -c '^trained ' "$tmp/dist.log")" -eq 1 ]] || die "--distributed: not one summary line (rank 0 only)"
    acc="$(sed -nE 's/^trained .*test accuracy ([0-9.]+)$/\1/p' "$tmp/dist.log")"
    python3 -c "import sys; sys.exit(0 if float('$acc') >= 0.99 else 1)" ||
      die "--distributed: test accuracy $acc < 0.99 after 50 epochs on 2 processes"
    for f in "${files[@]}"; do [[ -s "$tmp/dist/$f" ]] || die "--distributed: $f missing"; done
    ok "mpirun -np 2 moons --distributed: test accuracy $acc, every file written once"
  elif grep -q "built without affine::dist" "$tmp/dist.log"; then
    ok "moons built without affine::dist (no MPI): --distributed refused with a clear error"
  else
    cat "$tmp/dist.log" >&2
    die "mpirun -np 2 moons --distributed failed"
  fi
fi

echo "check_moons: all checks passed"
