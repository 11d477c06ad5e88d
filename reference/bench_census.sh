#!/usr/bin/env bash
# Side-by-side training benchmark on census-income: mtrec and the PyTorch reference train
# the same MMoE (configs/census_mmoe.toml ≡ reference/census/models.py) in one invocation,
# alternating runs, on 1 and 2 threads. Prints samples/s, peak resident memory and test
# AUC for both, and the ratios. mtrec runs twice per setting: as configured (experts and
# gates take the factorised product over the embeddings, `train.factorize_embeddings`)
# and with the plain dense product ("mtrec-plain": the same kernels on the same FLOPs as
# PyTorch).
#
#   bash reference/setup.sh                 # once: the PyTorch venv
#   bash reference/bench_census.sh [DATA_DIR] [REPEATS]
#
# Speed numbers are only meaningful on an otherwise idle machine; the script prints the
# load average before each run so a reader can tell.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-${MTREC_DATA:-../shared/data}}"
REPEATS="${2:-1}"
PY=reference/.venv/bin/python
[ -x "$PY" ] || { echo "no $PY: run bash reference/setup.sh first" >&2; exit 1; }
cargo build --release --quiet
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

for r in $(seq 1 "$REPEATS"); do
  for t in 1 2; do
    echo "load: $(cut -d' ' -f1-3 /proc/loadavg)  run $r, $t thread(s): mtrec" >&2
    ./target/release/mtrec train --config configs/census_mmoe.toml --data-dir "$DATA" \
      --out "$OUT/mtrec_${t}_$r" --threads "$t" --quiet > "$OUT/mtrec_${t}_$r.json" 2>/dev/null
    echo "load: $(cut -d' ' -f1-3 /proc/loadavg)  run $r, $t thread(s): mtrec-plain" >&2
    ./target/release/mtrec train --config configs/census_mmoe.toml --data-dir "$DATA" \
      --out "$OUT/plain_${t}_$r" --threads "$t" --quiet --set train.factorize_embeddings=false \
      > "$OUT/plain_${t}_$r.json" 2>/dev/null
    echo "load: $(cut -d' ' -f1-3 /proc/loadavg)  run $r, $t thread(s): pytorch" >&2
    "$PY" reference/census/train_torch.py --model mmoe --threads "$t" --seed 1 \
      --data-dir "$DATA" --json "$OUT/torch_${t}_$r.json" > /dev/null
  done
done

"$PY" - "$OUT" "$REPEATS" <<'PY'
import json, sys, statistics as st
out, reps = sys.argv[1], int(sys.argv[2])
def load(kind, t):
    runs = [json.load(open(f"{out}/{kind}_{t}_{r}.json")) for r in range(1, reps + 1)]
    sps = st.median(x["train_samples_per_s"] for x in runs)
    rss = max(x["peak_rss_mb"] for x in runs)
    auc = [runs[0]["tasks"][k]["test"]["auc"] for k in ("income", "never_married")]
    return sps, rss, auc
print(f"{'':12} {'threads':>5} {'samples/s':>10} {'peak MB':>8} {'AUC income':>11} {'AUC married':>12}")
best = {}
for kind in ("mtrec", "plain", "torch"):
    for t in (1, 2):
        sps, rss, auc = load(kind, t)
        best[kind] = max(best.get(kind, 0), sps)
        name = {"plain": "mtrec-plain"}.get(kind, kind)
        print(f"{name:12} {t:>5} {sps:>10.0f} {rss:>8.0f} {auc[0]:>11.4f} {auc[1]:>12.4f}")
for kind, name in (("mtrec", "mtrec"), ("plain", "mtrec-plain")):
    for t in (1, 2):
        m, p = load(kind, t), load("torch", t)
        print(f"ratio {name}/pytorch at {t} thread(s): speed {m[0]/p[0]:.2f}x, memory {m[1]/p[1]:.2f}x")
print(f"ratio of bests (mtrec best / pytorch best): {best['mtrec']/best['torch']:.2f}x")
print(f"ratio of bests (mtrec-plain best / pytorch best): {best['plain']/best['torch']:.2f}x")
PY
