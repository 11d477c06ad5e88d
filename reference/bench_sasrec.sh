#!/usr/bin/env bash
# SASRec training on Amazon Beauty, mtrec beside PyTorch, in one invocation:
#   1. `mtrec seq --config configs/beauty_sasrec.toml` for EPOCHS epochs (patience off,
#      validation on all users), writing each epoch's example order (MTREC_SEQ_ORDER_OUT);
#   2. reference/sasrec/train_sasrec.py on the same data, ids (the run's ids.json) and the
#      same batches (--orders), same model, init scheme, loss, Adam and lr;
#   3. `mtrec eval` on the run (full-catalogue scoring of every test user), and the PyTorch
#      forward pass on the run's weights (--check-weights: its test HR@10 / NDCG@10 must
#      equal the run's; its scoring time is torch's full-catalogue scoring).
# Both under /usr/bin/time -v (peak RSS), THREADS threads each (default "2"; "2 1" runs
# both thread counts). Prints per epoch: seconds, samples/s, and the metrics after the
# last epoch (mtrec: its summary's test, the best validation epoch; PyTorch: the test
# after the last epoch), then the ratio of training throughput.
#
#   bash reference/setup.sh                                # once: the PyTorch venv
#   EPOCHS=2 THREADS="2 1" bash reference/bench_sasrec.sh [DATA_DIR] [OUT_DIR]
#
# Speed is only meaningful on an otherwise idle machine: the load average is printed
# before each run.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-${MTREC_DATA:-../shared/data}}"
OUTDIR="${2:-runs/bench-sasrec}"
EPOCHS="${EPOCHS:-2}"
THREADS="${THREADS:-2}"
PY=reference/.venv/bin/python
[ -x "$PY" ] || { echo "no $PY: run bash reference/setup.sh first" >&2; exit 1; }
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet
M=./target/release/mtrec
mkdir -p "$OUTDIR"
load() { cut -d' ' -f1-3 /proc/loadavg; }
rss_mb() { sed -n 's/.*Maximum resident set size (kbytes): \([0-9]*\).*/\1/p' "$1" | awk '{printf "%.0f", $1/1024}'; }

for T in $THREADS; do
  R="$OUTDIR/mtrec-t$T"
  rm -rf "$R"
  echo "== $T thread(s), $EPOCHS epoch(s); load before mtrec: $(load)"
  MTREC_SEQ_ORDER_OUT="$OUTDIR/orders-t$T.jsonl" /usr/bin/time -v -o "$OUTDIR/mtrec-t$T.time" \
    "$M" seq --config configs/beauty_sasrec.toml --data-dir "$DATA" --out "$R" --threads "$T" \
    --set train.epochs="$EPOCHS" --set train.patience=0 --set train.valid_users=0 --quiet > "$OUTDIR/mtrec-t$T.out"
  "$PY" - "$R" <<'EOF'
import json, sys
run = sys.argv[1]
for l in open(f"{run}/metrics.jsonl"):
    m = json.loads(l)
    print(json.dumps({"mtrec_epoch": m["epoch"], "train_seconds": round(m["train_seconds"], 3),
                      "samples_per_s": round(m["samples_per_s"], 1), "train_loss": round(m["train_loss"], 5),
                      "valid_hr10": round(m["valid"]["hr10"], 5), "valid_ndcg10": round(m["valid"]["ndcg10"], 5)}))
s = json.load(open(f"{run}/summary.json"))
print(json.dumps({"mtrec_best_epoch": s["best_epoch"], "test_hr10": round(s["test"]["hr10"], 5),
                  "test_ndcg10": round(s["test"]["ndcg10"], 5), "threads": s["threads"]}))
EOF
  echo "mtrec peak RSS: $(rss_mb "$OUTDIR/mtrec-t$T.time") MB"

  echo "load before mtrec eval: $(load)"
  # `mtrec eval` has no --threads: its pool is rayon's default, which reads RAYON_NUM_THREADS
  RAYON_NUM_THREADS="$T" /usr/bin/time -v -o "$OUTDIR/eval-t$T.time" "$M" eval --run "$R" \
    --data-dir "$DATA" --split test > "$OUTDIR/eval-t$T.out"
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): \(.*\)/\1/p' "$OUTDIR/eval-t$T.time")
  echo "mtrec eval (22,363 test users x 12,101 items, data loading included): wall $wall"

  echo "load before the PyTorch forward on mtrec's weights: $(load)"
  # a check on both forward passes and protocols: must equal the summary's test metrics
  "$PY" reference/sasrec/train_sasrec.py --data-dir "$DATA" --ids "$R/ids.json" \
    --check-weights "$R/model.safetensors" --threads "$T"

  echo "load before PyTorch training: $(load)"
  /usr/bin/time -v -o "$OUTDIR/torch-t$T.time" "$PY" reference/sasrec/train_sasrec.py \
    --data-dir "$DATA" --ids "$R/ids.json" --orders "$OUTDIR/orders-t$T.jsonl" \
    --epochs "$EPOCHS" --threads "$T" --valid | tee "$OUTDIR/torch-t$T.jsonl"
  echo "PyTorch peak RSS: $(rss_mb "$OUTDIR/torch-t$T.time") MB"

  "$PY" - "$R" "$OUTDIR/torch-t$T.jsonl" <<'EOF'
import json, sys
m = [json.loads(l) for l in open(f"{sys.argv[1]}/metrics.jsonl")]
t = [json.loads(l) for l in open(sys.argv[2]) if '"epoch"' in l]
ms = sum(x["train_seconds"] for x in m) / len(m)
ts = sum(x["train_seconds"] for x in t) / len(t)
print(f"mean epoch: mtrec {ms:.1f} s, PyTorch {ts:.1f} s; mtrec throughput = {ts / ms:.2f}x PyTorch's")
EOF
done
