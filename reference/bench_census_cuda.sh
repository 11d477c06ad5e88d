#!/usr/bin/env bash
# Census-income MMoE training on one GPU: `mtrec train --device cuda` against PyTorch CUDA
# on the same model (configs/census_mmoe.toml ≡ reference/census/models.py), alternating
# runs in one invocation; prints the median samples/s, test AUC and the ratio.
#
# On a GPU machine (the `device` tool's machines have CUDA, NVRTC and PyTorch, no Rust),
# from the repository root, with a release binary built here by
#   cargo build --release --features cuda && strip -o target/cuda-bundle/mtrec target/release/mtrec
# and the census-income folder copied next to it (see docs/cuda.md, "Running on a GPU machine"):
#
#   bash reference/bench_census_cuda.sh DATA_DIR [REPEATS] [MTREC_BIN] [PYTHON]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="$(cd "${1:?the folder that holds census-income/}" && pwd)"
REPEATS="${2:-3}"
BIN="${3:-target/cuda-bundle/mtrec}"
PY="${4:-python3}"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
nvidia-smi -L
for r in $(seq 1 "$REPEATS"); do
  echo "run $r: mtrec --device cuda" >&2
  "$BIN" train --config configs/census_mmoe.toml --data-dir "$DATA" --device cuda \
    --out "$OUT/mtrec_$r" --quiet > "$OUT/mtrec_$r.json"
  echo "run $r: pytorch cuda" >&2
  (cd reference/census && "$PY" train_torch.py --model mmoe --device cuda --seed 1 \
    --data-dir "$DATA" --json "$OUT/torch_$r.json" > /dev/null)
done
"$PY" - "$OUT" "$REPEATS" <<'PY'
import json, sys, statistics as st
out, reps = sys.argv[1], int(sys.argv[2])
def load(kind):
    runs = [json.load(open(f"{out}/{kind}_{r}.json")) for r in range(1, reps + 1)]
    sps = st.median(x["train_samples_per_s"] for x in runs)
    auc = [runs[0]["tasks"][k]["test"]["auc"] for k in ("income", "never_married")]
    return sps, auc
print(f"{'':8} {'samples/s':>10} {'AUC income':>11} {'AUC married':>12}   (median of {reps})")
m, p = load("mtrec"), load("torch")
for name, (sps, auc) in (("mtrec", m), ("pytorch", p)):
    print(f"{name:8} {sps:>10.0f} {auc[0]:>11.4f} {auc[1]:>12.4f}")
print(f"ratio mtrec/pytorch on the GPU: {m[0] / p[0]:.2f}x")
PY
