#!/usr/bin/env bash
# Side-by-side speed of top-K lists for every user: `mtrec recommend` and the PyTorch twin
# (reference/recommend/bench_recommend.py) on the same run folders, in one invocation, on
# 2 threads (override with THREADS=N):
#   - MovieLens 100K MMoE (configs/movielens_mmoe.toml): all 943 users × the 1,655 movies
#     of the training split, top-10, plain and two-tower (--two-tower) on both sides;
#   - SASRec on Amazon Beauty (configs/beauty_sasrec.toml): all 22,363 users × 12,101
#     items, top-10.
# Prints pairs/s (user × item pairs scored, ranked and cut to top-10, per second of
# scoring: model loading and file writing excluded) and the ratio mtrec / PyTorch.
#
#   bash reference/setup.sh                               # once: the PyTorch venv
#   bash reference/bench_recommend.sh [DATA_DIR] [RUNS_DIR]
#
# The run folders are trained once if RUNS_DIR lacks them (MMoE 2 epochs, SASRec 1 epoch:
# the speed does not depend on the training). Speed numbers are only meaningful on an
# otherwise idle machine; the load average is printed before each run.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-${MTREC_DATA:-../shared/data}}"
RUNS="${2:-runs/bench-recommend}"
T="${THREADS:-2}"
PY=reference/.venv/bin/python
[ -x "$PY" ] || { echo "no $PY: run bash reference/setup.sh first" >&2; exit 1; }
cargo build --release --quiet
M=./target/release/mtrec
mkdir -p "$RUNS"
if [ ! -f "$RUNS/ml/model.safetensors" ]; then
  $M train --config configs/movielens_mmoe.toml --data-dir "$DATA" --out "$RUNS/ml" \
    --set train.epochs=2 --quiet > /dev/null
fi
if [ ! -f "$RUNS/beauty/model.safetensors" ]; then
  $M seq --config configs/beauty_sasrec.toml --data-dir "$DATA" --out "$RUNS/beauty" \
    --set train.epochs=1 --set train.valid_users=500 --quiet > /dev/null
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# mtrec's pairs/s from its stderr summary line "scored … (N pairs/s…)"
mtrec_pps() {
  "$M" recommend --run "$1" --data-dir "$DATA" --all-users --k 10 --threads "$T" --quiet \
    --output "$OUT/lists.csv" --force "${@:2}" 2>&1 >/dev/null |
    sed -n 's/.*(\([0-9]*\) pairs\/s.*/\1/p'
}
torch_pps() {
  "$PY" reference/recommend/bench_recommend.py --run "$1" --data-dir "$DATA" --threads "$T" \
    --k 10 "${@:2}" | sed -n 's/.*"pairs_per_s": \([0-9]*\).*/\1/p'
}
printf '%-28s %14s %14s %7s\n' "workload ($T threads)" "mtrec pairs/s" "torch pairs/s" ratio
row() {
  local name=$1 run=$2 model=$3 flag=${4:-}
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg)  $name" >&2
  local a b
  a=$(mtrec_pps "$run" $flag)
  b=$(torch_pps "$run" --model "$model" $flag)
  printf '%-28s %14s %14s %7s\n' "$name" "$a" "$b" "$(awk "BEGIN{printf \"%.2f\", $a/$b}")"
}
row "ml-100k mmoe plain" "$RUNS/ml" mmoe
row "ml-100k mmoe two-tower" "$RUNS/ml" mmoe --two-tower
row "beauty sasrec" "$RUNS/beauty" sasrec
