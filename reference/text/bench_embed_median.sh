#!/usr/bin/env bash
# Issue #20: `mtrec embed` and the plain-PyTorch MiniLM (reference/text/minilm_torch.py) on
# the 1,682 MovieLens 100K titles, alternating, 3 runs each at 1 and at 2 threads, in one
# invocation; prints every run, the medians, the ratio, and the load average before/after.
#   bash reference/text/bench_embed_median.sh   (repository root, after cargo build --release
#                                                and bash reference/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${MTREC_DATA:-$PWD/../shared/data}"
MODELS="${MTREC_MODELS:-$PWD/../shared/models}"
PY="${PY:-reference/.venv/bin/python}"
RUNS="${RUNS:-3}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cut -d'|' -f2 "$DATA/ml-100k/u.item" > "$tmp/titles.txt"   # field 2, Latin-1
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for t in 1 2; do
    : > "$tmp/m$t"; : > "$tmp/p$t"
    for r in $(seq "$RUNS"); do
        # --no-cache: time the encoder, not the cache; seconds of the encoding only
        ./target/release/mtrec embed --model "$MODELS/all-MiniLM-L6-v2" --input "$tmp/titles.txt" \
            --latin1 --output "$tmp/titles.npy" --threads "$t" --no-cache 2> "$tmp/err"
        s=$(sed -n 's/.* in \([0-9.]*\) s (.*/\1/p' "$tmp/err" | head -1)
        echo "mtrec  threads $t run $r: $s s"; echo "$s" >> "$tmp/m$t"
        "$PY" reference/text/minilm_torch.py --model "$MODELS/all-MiniLM-L6-v2" \
            --input "$tmp/titles.txt" --latin1 --threads "$t" > "$tmp/out"
        s=$(sed -n 's/^torch: .* in \([0-9.]*\) s (.*/\1/p' "$tmp/out")
        echo "torch  threads $t run $r: $s s   ($(grep '^reference check' "$tmp/out"))"; echo "$s" >> "$tmp/p$t"
    done
    m=$(median < "$tmp/m$t"); p=$(median < "$tmp/p$t")
    awk -v t="$t" -v m="$m" -v p="$p" 'BEGIN { printf "threads %s: median mtrec %.2f s (%.0f texts/s), torch %.2f s (%.0f texts/s), mtrec/torch speed %.2fx\n", t, m, 1682/m, p, 1682/p, p/m }'
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
