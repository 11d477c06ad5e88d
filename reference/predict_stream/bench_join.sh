#!/usr/bin/env bash
# Peak RSS of `mtrec predict` on a [[data.join]] run, read whole (MTREC_PREDICT_WHOLE=1,
# the path before s9-predictstream) and streamed, side by side in one invocation
# (issue #17 §1: predict streams every kind of run).
#
#   reference/predict_stream/bench_join.sh MTREC [ROWS] [OUT_DIR]
#
# Generates items.csv (50,000 items: category, brand, a title), a 20,000-row training
# file and a ROWS-row input (default 1,000,000) in OUT_DIR (default /tmp/predict_join_bench),
# trains a 1-epoch MMoE joined with items.csv, then scores the input twice. Prints per
# mode: wall, CPU, peak RSS (`/usr/bin/time`), the load average before and after; then
# whether the two outputs are byte-identical.
set -euo pipefail
bin=$1 rows=${2:-1000000} out=${3:-/tmp/predict_join_bench}
mkdir -p "$out"
python3 - "$out" "$rows" <<'PY'
import random, sys
out, n = sys.argv[1], int(sys.argv[2])
r = random.Random(7)
with open(f"{out}/items.csv", "w") as f:
    f.write("item,cat,brand,title\n")
    for i in range(50000):
        f.write(f"{i},c{i % 97},b{i % 1013},\"item {i}, size {i % 7}\"\n")
def rows(path, n, labelled):
    with open(path, "w") as f:
        f.write("user,item,price,click,buy\n")
        for _ in range(n):
            u, it, p = r.randrange(100000), int(r.paretovariate(1.2)) % 50000, r.randrange(10000) / 100
            c, b = ((u + it) % 3 == 0, (u + it) % 3 == 0 and p < 30) if labelled else ("", "")
            lab = f"{int(c)},{int(b)}" if labelled else ","
            f.write(f"{u},{it},{p},{lab}\n")
rows(f"{out}/train.csv", 20000, True)
rows(f"{out}/input.csv", n, False)
PY
cat > "$out/run.toml" <<'TOML'
[data]
files = ["train.csv"]
header = true
missing_values = [""]
[[data.join]]
file = "items.csv"
on = "item"
[[features]]
name = "user"
kind = "categorical"
dim = 8
[[features]]
name = "item"
kind = "categorical"
dim = 8
[[features]]
name = "cat"
kind = "categorical"
dim = 4
[[features]]
name = "brand"
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
[split]
kind = "random"
seed = 7
train = 0.8
valid = 0.1
[model]
arch = "mmoe"
num_experts = 3
expert = [16]
tower = [8]
[train]
lr = 0.01
batch_size = 256
epochs = 1
seed = 3
TOML
rm -rf "$out/run"
"$bin" train --config "$out/run.toml" --data-dir "$out" --out "$out/run" --quiet
for mode in whole streamed; do
  before=$(cut -d' ' -f1-3 /proc/loadavg)
  if [ "$mode" = whole ]; then export MTREC_PREDICT_WHOLE=1; else unset MTREC_PREDICT_WHOLE; fi
  /usr/bin/time -f "%e %U %S %M" -o "$out/$mode.time" \
    "$bin" predict --run "$out/run" --input "$out/input.csv" --output "$out/$mode.csv" \
    --data-dir "$out" --force --quiet 2> "$out/$mode.err"
  after=$(cut -d' ' -f1-3 /proc/loadavg)
  read -r wall user sys kb < "$out/$mode.time"
  awk -v t="$mode" -v w="$wall" -v u="$user" -v s="$sys" -v kb="$kb" -v n="$rows" -v b="$before" -v a="$after" \
    'BEGIN { printf "%s: %d rows, wall %.1f s, CPU %.1f s (user %.1f, sys %.1f), peak RSS %.0f MB, %.0f rows per CPU s, load %s -> %s\n", t, n, w, u + s, u, s, kb / 1024, n / (u + s), b, a }'
done
unset MTREC_PREDICT_WHOLE
if cmp -s "$out/whole.csv" "$out/streamed.csv"; then echo "outputs: byte-identical"; else echo "outputs: DIFFER"; fi
