#!/usr/bin/env bash
# The temporal and item_holdout splits built streamed beside the in-memory build
# (MTREC_STREAM=0), one invocation: cache build time (console), peak RSS of the run
# (`/usr/bin/time`), and whether both caches are byte for byte the same.
#
#   reference/data_cache/bench_splits.sh target/release/mtrec /tmp/s10split 500000
#
# Data: `mtrec gen aliexpress --rows N --seed 1` (AliExpress shape). Temporal split on
# numerical_1 (in random order in the file, ties at 0.0: the reorder's worst case);
# item_holdout on categorical_7 (~10^5 distinct values).
set -euo pipefail
bin=$(realpath "$1"); dir=$2; rows=${3:-500000}
mkdir -p "$dir"
[ -f "$dir/ae.csv" ] || "$bin" gen aliexpress --rows "$rows" --out "$dir/ae.csv" --seed 1 >/dev/null
ls -l "$dir/ae.csv"
for split in temporal item_holdout; do
  if [ "$split" = temporal ]; then
    sets=(--set 'split.kind="temporal"' --set 'split.time_column="numerical_1"')
  else
    sets=(--set 'split.kind="item_holdout"' --set 'split.item_column="categorical_7"' --set split.holdout=0.1)
  fi
  for mode in 1 0; do
    rm -rf "$dir/cache_${split}_$mode" "$dir/run"
    echo "== split $split, MTREC_STREAM=$mode, loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
    MTREC_STREAM=$mode /usr/bin/time -f "%e s wall, %U user s, %S sys s, %M KB peak RSS" \
      "$bin" train --config configs/aliexpress_mmoe.toml --data-dir "$dir" --out "$dir/run" \
      --overwrite --quiet --threads 2 --set 'data.files=["ae.csv"]' \
      --set "data.cache=\"$dir/cache_${split}_$mode\"" --set train.epochs=1 \
      --set train.batch_size=4096 "${sets[@]}" 2>&1 | grep -E "data cache|peak RSS|error"
  done
  if cmp -s <(cd "$dir/cache_${split}_1"/* && cat *.bin spec.json meta.json) \
            <(cd "$dir/cache_${split}_0"/* && cat *.bin spec.json meta.json); then
    echo "== $split: the streamed and in-memory caches are the same bytes"
  else
    echo "== $split: the caches DIFFER"
  fi
  rm -rf "$dir/cache_${split}_1" "$dir/cache_${split}_0" "$dir/run"
done
echo "loadavg at the end $(cut -d' ' -f1-3 /proc/loadavg)"
