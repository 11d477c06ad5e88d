#!/usr/bin/env bash
# The report in a real browser: trains a small run with `mtrec train --report` on a
# generated table (no data sets needed), renders <run>/report.html with headless
# Chromium to a PNG, and fails if the page logged anything to the console (the page has
# no script, so any console line is an error: a blocked resource, a parse error) or the
# PNG is blank. Installs Debian's `chromium` when it is missing (needs root or sudo).
# The PNG is docs/img/report.png (shown in the README); MTREC_REPORT_PNG overrides it.
set -euo pipefail
cd "$(dirname "$0")/.."

BROWSER="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$BROWSER" ]; then
    echo "chromium is missing: apt-get install -y chromium"
    if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
        echo "cannot install chromium: not root and no password-less sudo; install it and rerun" >&2
        exit 1
    fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
    BROWSER="$(command -v chromium)"
fi

cargo build --release --quiet
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# 800 rows of user, item, price and three labels that depend on them (a fixed LCG, so
# the picture is the same every time)
awk 'BEGIN { s = 12345; print "user,item,price,click,buy,watch";
  for (i = 0; i < 800; i++) {
    s = (s * 1103515245 + 12345) % 2147483648; u = s % 20;
    s = (s * 1103515245 + 12345) % 2147483648; it = s % 30;
    s = (s * 1103515245 + 12345) % 2147483648; p = (s % 1000) / 100;
    c = ((u + it) % 3 == 0) ? 1 : 0; b = (c == 1 && p < 5) ? 1 : 0;
    printf "%d,%d,%.2f,%d,%d,%.3f\n", u, it, p, c, b, u * 0.1 + p * 0.05 } }' >"$WORK/events.csv"
cat >"$WORK/run.toml" <<'TOML'
[data]
files = ["events.csv"]
header = true
[[features]]
name = "user"
kind = "categorical"
dim = 4
[[features]]
name = "item"
kind = "categorical"
dim = 4
[[features]]
name = "price"
kind = "numeric"
[[tasks]]
name = "click"
type = "binary"
column = "click"
[[tasks]]
name = "buy"
type = "binary"
column = "buy"
[[tasks]]
name = "watch"
type = "regression"
column = "watch"
[split]
kind = "random"
seed = 7
train = 0.6
valid = 0.2
[model]
arch = "mmoe"
num_experts = 3
expert = [8]
tower = [4]
[train]
lr = 0.02
batch_size = 64
epochs = 12
seed = 3
balance = "uncertainty"
schedule = "cosine"
[train.early_stopping]
task = "buy"
metric = "auc"
patience = 3
TOML
target/release/mtrec train --config "$WORK/run.toml" --data-dir "$WORK" --out "$WORK/events_mmoe" \
    --quiet --report --threads 2 >"$WORK/train.log" 2>&1 || { cat "$WORK/train.log" >&2; exit 1; }
test -s "$WORK/events_mmoe/report.html"

PNG="${MTREC_REPORT_PNG:-docs/img/report.png}"
mkdir -p "$(dirname "$PNG")"
# --no-sandbox: CI containers run as root, where Chromium's sandbox refuses to start
timeout 120 "$BROWSER" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --enable-logging=stderr --v=0 --window-size=1280,2600 \
    --screenshot="$PWD/$PNG" "file://$WORK/events_mmoe/report.html" >"$WORK/browser.log" 2>&1 || {
    cat "$WORK/browser.log" >&2
    echo "chromium failed to render the report" >&2
    exit 1
}
if grep -E ':CONSOLE|Uncaught|net::ERR_' "$WORK/browser.log"; then
    echo "the report logged errors in the browser (lines above)" >&2
    exit 1
fi
python3 .ci/png_check.py "$PNG" 0.03 500
echo "report rendered without console errors: $PNG"

# the page of a search (mtrec tune): a small halving search on the same table, rendered
# the same way (no console line, not blank); the PNG is left in $MTREC_TUNE_PNG if set
cat >"$WORK/space.toml" <<'TOML'
seed = 1
[objective]
task = "buy"
metric = "auc"
[halving]
min_epochs = 2
eta = 2
[params]
"train.lr" = { log_uniform = [0.005, 0.05] }
"model.num_experts" = [2, 4]
TOML
target/release/mtrec tune --config "$WORK/run.toml" --space "$WORK/space.toml" --strategy halving \
    --trials 4 --data-dir "$WORK" --out "$WORK/tune" --threads 2 >"$WORK/tune.log" 2>&1 || {
    cat "$WORK/tune.log" >&2; exit 1; }
target/release/mtrec report "$WORK/tune" --output "$WORK/tune/report.html" 2>>"$WORK/tune.log"
TPNG="${MTREC_TUNE_PNG:-$WORK/tune.png}"
timeout 120 "$BROWSER" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --enable-logging=stderr --v=0 --window-size=1280,2600 \
    --screenshot="$TPNG" "file://$WORK/tune/report.html" >"$WORK/browser_tune.log" 2>&1 || {
    cat "$WORK/browser_tune.log" >&2
    echo "chromium failed to render the search page" >&2
    exit 1
}
if grep -E ':CONSOLE|Uncaught|net::ERR_' "$WORK/browser_tune.log"; then
    echo "the search page logged errors in the browser (lines above)" >&2
    exit 1
fi
python3 .ci/png_check.py "$TPNG" 0.03 500
echo "search page rendered without console errors: $TPNG"
