#!/usr/bin/env bash
# The data cache build of an interaction log joined to an item table ([[data.join]],
# issue 17 §1), streamed against the in-memory build (MTREC_STREAM=0), side by side:
# build time (the `data cache: built ... in N s` line) and peak RSS (VmHWM of the
# process, read when that line appears; the run is then stopped). Alternates ROUNDS
# times, with the load average beside each line.
#
#   W=/tmp/joinw N=2000000 ITEMS=100000 SPLIT=column ROUNDS=1 bash reference/bench_join_build.sh
#
# DEDUP=1 adds `dedup = true` to [data] (de-duplication before the join; streamed since
# the s10 session, in memory before it).
#
# W gets log_N.csv (user,item,price,click,buy,set) and items_ITEMS.csv
# (item,category,brand,weight), generated here when absent (seeded; not committed).
# The tasks are the cache tests' (tests/fixtures/click_buy_tasks.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
W="${W:?W=work dir}"
N="${N:-2000000}"
ITEMS="${ITEMS:-100000}"
SPLIT="${SPLIT:-column}"
ROUNDS="${ROUNDS:-1}"
DEDUP="${DEDUP:-0}"
dedup=""; [ "$DEDUP" = 1 ] && dedup="dedup = true"
BIN="${BIN:-target/release/mtrec}"
mkdir -p "$W"
if [ ! -f "$W/log_$N.csv" ] || [ ! -f "$W/items_$ITEMS.csv" ]; then
  python3 - "$W" "$N" "$ITEMS" <<'PY'
import random, sys
w, n, items = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(1)
with open(f"{w}/items_{items}.csv", "w") as f:
    f.write("item,category,brand,weight\n")
    for i in range(items):
        f.write(f"i{i},c{r.randrange(500)},b{r.randrange(3000)},{r.randrange(1000) / 10}\n")
sets = ["train"] * 8 + ["valid", "test"]
with open(f"{w}/log_{n}.csv", "w") as f:
    f.write("user,item,price,click,buy,set\n")
    for _ in range(n):
        u, it = r.randrange(200000), int(items * r.random() ** 2)
        click = int((u + it) % 3 == 0)
        f.write(f"u{u},i{it},{r.randrange(10000) / 100},{click},{click & (u % 2)},{r.choice(sets)}\n")
PY
fi
case "$SPLIT" in
  column) split='kind = "column"
column = "set"' ;;
  *) split='kind = "random"' ;;
esac
cat > "$W/join_bench.toml" <<TOML
[data]
files = ["log_$N.csv"]
header = true
$dedup

[[data.join]]
file = "items_$ITEMS.csv"
on = "item"
prefix = "item_"

[[features]]
name = "user"
kind = "categorical"
[[features]]
name = "item"
kind = "categorical"
[[features]]
name = "item_category"
kind = "categorical"
[[features]]
name = "item_brand"
kind = "categorical"
[[features]]
name = "item_weight"
kind = "numeric"
[[features]]
name = "price"
kind = "numeric"

$(cat tests/fixtures/click_buy_tasks.toml)

[split]
$split

[model]
arch = "mmoe"
TOML
for r in $(seq 1 "$ROUNDS"); do
  for mode in streamed memory; do
    rm -rf "$W/cache_$mode" "$W/run_$mode"
    stream=1; [ "$mode" = memory ] && stream=0
    MTREC_STREAM=$stream "$BIN" train --config "$W/join_bench.toml" --data-dir "$W" \
      --out "$W/run_$mode" --overwrite --quiet --threads "${THREADS:-2}" \
      --set train.epochs=1 --set "data.cache=\"$W/cache_$mode\"" 2> "$W/err_$mode" &
    pid=$!
    hwm=0
    while kill -0 "$pid" 2>/dev/null && ! grep -q "data cache: built" "$W/err_$mode"; do
      h=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
      [ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
      sleep 0.05
    done
    h=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "$mode: load $(cut -d' ' -f1-3 /proc/loadavg): peak RSS $((hwm / 1024)) MiB; $(grep -h 'data cache: built' "$W/err_$mode" || tail -1 "$W/err_$mode")"
  done
done
