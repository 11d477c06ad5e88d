#!/usr/bin/env bash
# Side by side, same machine, same moment: `mtrec embed` and the plain-PyTorch MiniLM
# (reference/text/minilm_torch.py) on the 1,682 MovieLens 100K titles, 2 threads each.
# Prints the load average before and after: on a shared machine the numbers are only
# comparable with each other, not with a quiet run.
#   bash reference/text/bench_embed.sh            (from the repository root, after cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${MTREC_DATA:-$PWD/../shared/data}"
MODELS="${MTREC_MODELS:-$PWD/../shared/models}"
PY="${PY:-reference/.venv/bin/python}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cut -d'|' -f2 "$DATA/ml-100k/u.item" > "$tmp/titles.txt"   # field 2, Latin-1
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
./target/release/mtrec embed --model "$MODELS/all-MiniLM-L6-v2" --input "$tmp/titles.txt" \
    --latin1 --output "$tmp/titles.npy" --threads 2 --no-cache  # time the encoder, not the cache
echo "load between: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" reference/text/minilm_torch.py --model "$MODELS/all-MiniLM-L6-v2" \
    --input "$tmp/titles.txt" --latin1 --threads 2
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
