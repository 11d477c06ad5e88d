#!/usr/bin/env bash
# Issue #20: `mtrec embed` and the plain-PyTorch MiniLM (reference/text/minilm_torch.py),
# alternating, $RUNS runs each at 1 and at 2 threads, in one invocation, on
#   titles: the 1,682 MovieLens 100K titles (u.item field 2, Latin-1);
#   beauty: the 12,101 Amazon Beauty keyword lines (item_generative_indexing_phase_0.txt,
#           `ASIN kw kw ...`: the text after the ASIN, trimmed, Latin-1 -- the strings
#           `mtrec seq` takes as item text, src/data/sequences/load.rs).
# Prints every run, the medians, the ratio, the load average before/after each data set, and
# (torch side) the minimum cosine between the two implementations' embeddings of every text.
# With SPREAD_STUDY=1, mtrec also runs at 2 threads with MTREC_EMBED_SPREAD=inside (one batch
# at a time, products split among threads) and =batches (whole batches side by side).
#   bash reference/text/bench_embed_median.sh   (repository root, after cargo build --release
#                                                and bash reference/setup.sh)
#   DATASETS="beauty" RUNS=3 SPREAD_STUDY=1 LIMIT=2000 THREADS="1 2" MTREC_BIN=/tmp/mtrec \
#       bash reference/text/bench_embed_median.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${MTREC_DATA:-$PWD/../shared/data}"
MODELS="${MTREC_MODELS:-$PWD/../shared/models}"
PY="${PY:-reference/.venv/bin/python}"
RUNS="${RUNS:-3}"
DATASETS="${DATASETS:-titles beauty}"
SPREAD_STUDY="${SPREAD_STUDY:-0}"
MTREC="${MTREC_BIN:-./target/release/mtrec}"   # a copy, to build while it runs
THREADS="${THREADS:-1 2}"
LIMIT="${LIMIT:-0}"   # > 0: only the first LIMIT texts of each data set
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cut -d'|' -f2 "$DATA/ml-100k/u.item" > "$tmp/titles.txt"   # field 2, Latin-1
sed -E 's/^[^ ]*( |$)//; s/^[[:space:]]+//; s/[[:space:]]+$//' \
    "$DATA/amazon-beauty/item_generative_indexing_phase_0.txt" > "$tmp/beauty.txt"
if [ "$LIMIT" -gt 0 ]; then
    for f in "$tmp/titles.txt" "$tmp/beauty.txt"; do head -n "$LIMIT" "$f" > "$f.cut"; mv "$f.cut" "$f"; done
fi
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mtrec_run() { # threads, spread, texts file -> seconds of the encoding
    MTREC_EMBED_SPREAD="$2" "$MTREC" embed --model "$MODELS/all-MiniLM-L6-v2" \
        --input "$3" --latin1 --output "$tmp/out.npy" --threads "$1" --no-cache 2> "$tmp/err" \
        || { cat "$tmp/err" >&2; exit 1; }
    sed -n 's/.* in \([0-9.]*\) s (.*/\1/p' "$tmp/err" | head -1
}
for ds in $DATASETS; do
    f="$tmp/$ds.txt"; n=$(wc -l < "$f")
    echo "== $ds: $n texts; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    for t in $THREADS; do
        spreads="auto"; [ "$t" = 2 ] && [ "$SPREAD_STUDY" = 1 ] && spreads="auto inside batches"
        : > "$tmp/p$t"; for s in $spreads; do : > "$tmp/m$t$s"; done
        for r in $(seq "$RUNS"); do
            for s in $spreads; do
                # --no-cache: time the encoder, not the cache
                x=$(mtrec_run "$t" "$s" "$f")
                echo "mtrec ($s) threads $t run $r: $x s"; echo "$x" >> "$tmp/m$t$s"
            done
            "$PY" reference/text/minilm_torch.py --model "$MODELS/all-MiniLM-L6-v2" \
                --input "$f" --latin1 --threads "$t" --compare "$tmp/out.npy" > "$tmp/out"
            x=$(sed -n 's/^torch: .* in \([0-9.]*\) s (.*/\1/p' "$tmp/out")
            echo "torch  threads $t run $r: $x s   ($(grep '^reference check' "$tmp/out" | cut -d: -f2-); $(grep '^mtrec vs torch' "$tmp/out"))"
            echo "$x" >> "$tmp/p$t"
        done
        p=$(median < "$tmp/p$t")
        for s in $spreads; do
            m=$(median < "$tmp/m$t$s")
            awk -v d="$ds" -v s="$s" -v t="$t" -v m="$m" -v p="$p" -v n="$n" 'BEGIN { printf "%s threads %s: median mtrec (%s) %.2f s (%.0f texts/s), torch %.2f s (%.0f texts/s), mtrec/torch speed %.2fx\n", d, t, s, m, n/m, p, n/p, p/m }'
        done
    done
    echo "== $ds: load after: $(cut -d' ' -f1-3 /proc/loadavg)"
done
