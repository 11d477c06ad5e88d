#!/bin/bash
# Parquet ingest per CPU second: the typed column readers (default), the record API
# (MTREC_PARQUET_RECORDS=1, the reference twin) and the CSV of the same rows, one after
# the other in one invocation, same binary. Each run builds the streamed data cache of
# configs/aliexpress_mmoe.toml (loader "csv", 2 threads) and is stopped once the cache is
# built (training is not measured); the build's console line gives its CPU seconds and MB
# per CPU second. The load average is printed before and after each build.
#
# usage: reference/parquet_bench.sh MTREC WORK FILE.parquet FILE.csv [modes]
#   modes: any of typed records csv (default: all three)
# docs/benchmarks.md, "Parquet through typed column readers".
set -u
BIN=$1 WORK=$2 PQ=$3 CSV=$4
MODES=${5:-"typed records csv"}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$WORK"
for mode in $MODES; do
    case $mode in
        typed) file=$PQ fmt=parquet env= ;;
        records) file=$PQ fmt=parquet env=MTREC_PARQUET_RECORDS=1 ;;
        csv) file=$CSV fmt=csv env= ;;
        *) echo "unknown mode $mode (typed, records, csv)"; exit 2 ;;
    esac
    rm -rf "$WORK/cache_$mode" "$WORK/run_$mode"
    log=$WORK/$mode.log
    rm -f "$log"
    echo "== $mode: $(du -m "$file" | cut -f1) MB; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    env $env "$BIN" train --config "$ROOT/configs/aliexpress_mmoe.toml" --data-dir "$(dirname "$file")" \
        --out "$WORK/run_$mode" --overwrite --threads 2 \
        --set "data.files=[\"$(basename "$file")\"]" --set 'data.loader="csv"' --set "data.format=\"$fmt\"" \
        --set "data.cache=\"$WORK/cache_$mode\"" --set train.epochs=1 >"$log" 2>&1 &
    pid=$!
    until grep -q "data cache: built\|^Error\|error:" "$log" || ! kill -0 $pid 2>/dev/null; do sleep 1; done
    kill $pid 2>/dev/null; wait $pid 2>/dev/null
    grep "data cache: streamed\|data cache: built\|rror" "$log"
    echo "   load after: $(cut -d' ' -f1-3 /proc/loadavg)"
done
