#!/usr/bin/env bash
# The streamed cache build alone, binaries side by side (issue 17 §2): for each BIN, one
# `mtrec train` on W/ae_N.csv with a fresh cache folder, stopped as soon as the build has
# printed its `data cache: streamed ...` line (pass times, CPU seconds, MB per CPU second).
# Binaries alternate, ROUNDS times, with the load average beside each line.
#
#   W=/tmp/ingw N=2000000 ROUNDS=2 bash reference/bench_ingest_build.sh old/mtrec target/release/mtrec
#
# Each build starts after `sync`: without it a build also waits for the write-back of the
# previous one's dirty pages (pass 2 of the same binary measured 2.9 s to 5.6 s).
# W must hold ae_N.csv (or a link to it; `mtrec gen aliexpress --rows N --seed 1` makes one).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 BIN [BIN ...]" >&2; exit 2; }
W="${W:?W=dir holding ae_N.csv}"
N="${N:-2000000}"
ROUNDS="${ROUNDS:-2}"
for r in $(seq 1 "$ROUNDS"); do
  for i in $(seq 1 $#); do
    BIN="${!i}"
    rm -rf "$W/bench_cache_$i"
    # the last round's console gone first: else the wait below can find its line before
    # the new process has truncated the file, and report the last round again
    rm -f "$W/bench_err_$i"
    sync  # the previous build's dirty pages written back first: each build writes ~1 GB
    "$BIN" train --config configs/aliexpress_mmoe.toml --data-dir "$W" --out "$W/bench_run_$i" \
      --overwrite --quiet --threads "${THREADS:-2}" --set "data.files=[\"ae_$N.csv\"]" \
      --set train.epochs=1 --set "data.cache=\"$W/bench_cache_$i\"" 2> "$W/bench_err_$i" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null && ! grep -q "data cache: streamed" "$W/bench_err_$i"; do sleep 0.1; done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "$BIN load $(cut -d' ' -f1-3 /proc/loadavg): $(grep -h 'data cache: streamed' "$W/bench_err_$i" || tail -1 "$W/bench_err_$i")"
  done
done
