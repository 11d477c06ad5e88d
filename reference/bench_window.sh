#!/bin/bash
# Training from the data cache, binaries side by side: ROUNDS rounds of one run per
# binary, alternating, each printing train samples/s, task-clock CPU seconds
# (`perf stat`; less sensitive to other processes' load than the wall time) and the
# load average at its start (docs/benchmarks.md, "row-major slots").
#
#   DATA=/tmp/s11win bash reference/bench_window.sh 4 /work/scale/mtrec-s9b target/release/mtrec
#
# DATA holds ae_2000000.csv (a link to `mtrec gen aliexpress --rows 2000000 --seed 1`'s
# file); the cache goes to $DATA/cache (the first run builds it: run once before timing).
set -euo pipefail
rounds=$1
shift
DATA=${DATA:?set DATA to the folder holding ae_2000000.csv}
cd "$(dirname "$0")/.."
for _ in $(seq "$rounds"); do
  for b in "$@"; do
    la=$(cut -d' ' -f1-3 /proc/loadavg)
    perf stat -x, -e task-clock -o "$DATA/perf.txt" "$b" train \
      --config configs/aliexpress_mmoe.toml --data-dir "$DATA" --out "$DATA/r" --overwrite \
      --quiet --threads 2 --set 'data.files=["ae_2000000.csv"]' --set train.batch_size=1024 \
      --set train.epochs=1 --set "data.cache=\"$DATA/cache\"" >/dev/null 2>&1
    sps=$(python3 -c "import json;print(round(json.load(open('$DATA/r/summary.json'))['train_samples_per_s']))")
    tc=$(grep task-clock "$DATA/perf.txt" | cut -d, -f1)
    echo "$b samples/s=$sps task_clock_s=$(python3 -c "print(round($tc/1000,2))") load=[$la]"
  done
done
