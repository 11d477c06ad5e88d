#!/usr/bin/env bash
# Peak RSS and speed of `mtrec predict`, two binaries side by side in one invocation
# (issue #17 §1: the input read in chunks instead of whole).
#
#   reference/predict_stream/bench.sh OLD_MTREC NEW_MTREC RUN INPUT [OUT_DIR]
#
# e.g. OLD_MTREC built from the commit before the streamed predict, NEW_MTREC =
# target/release/mtrec, RUN a run folder of configs/aliexpress_mmoe.toml, INPUT the
# `mtrec gen aliexpress` file. Prints one line per binary: wall, user and system CPU
# seconds, peak RSS (`/usr/bin/time`), rows/s (wall and per CPU second), the load average
# before and after; then whether the two outputs are byte-identical.
set -euo pipefail
old=$1 new=$2 run=$3 input=$4 out=${5:-/tmp/predict_stream_bench}
mkdir -p "$out"
rows=$(($(wc -l < "$input") - 1))
for tag in old new; do
  bin=${!tag}
  before=$(cut -d' ' -f1-3 /proc/loadavg)
  /usr/bin/time -f "%e %U %S %M" -o "$out/$tag.time" \
    "$bin" predict --run "$run" --input "$input" --output "$out/$tag.csv" --force 2> "$out/$tag.err"
  after=$(cut -d' ' -f1-3 /proc/loadavg)
  read -r wall user sys kb < "$out/$tag.time"
  awk -v t="$tag" -v w="$wall" -v u="$user" -v s="$sys" -v kb="$kb" -v n="$rows" -v b="$before" -v a="$after" \
    'BEGIN { printf "%s: %d rows, wall %.1f s, CPU %.1f s (user %.1f, sys %.1f), peak RSS %.0f MB, %.0f rows/s wall, %.0f rows per CPU s, load %s -> %s\n", t, n, w, u + s, u, s, kb / 1024, n / w, n / (u + s), b, a }'
done
if cmp -s "$out/old.csv" "$out/new.csv"; then echo "outputs: byte-identical"; else echo "outputs: DIFFER"; fi
