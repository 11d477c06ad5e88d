#!/usr/bin/env bash
# Pruning curve and distillation on census MMoE (docs/compress.md, docs/benchmarks.md
# "Pruning and distillation"). Usage: bash reference/bench_compress_census.sh [data-dir] [runs-dir]
set -euo pipefail
D=${1:-../shared/data}
R=${2:-runs/compress}
B=./target/release/mtrec
C=configs/census_mmoe.toml
mkdir -p "$R"
# the teacher: the preset as it is
$B train --config $C --data-dir "$D" --out "$R/teacher" --overwrite
# pruning: fine-tune the teacher 4 epochs, sparsity rising over epochs 1-2 (mask every 10 steps)
$B train --config $C --data-dir "$D" --out "$R/prune_0" --overwrite \
  --set train.init_from="$R/teacher" --set train.epochs=4
for s in 0.5 0.7 0.8 0.9; do
  $B train --config $C --data-dir "$D" --out "$R/prune_$s" --overwrite \
    --set train.init_from="$R/teacher" --set train.epochs=4 \
    --set train.prune.sparsity=$s --set train.prune.end_epoch=2 --set train.prune.every=10
done
# students: half the experts (4), half the expert width (32), with and without the teacher
$B train --config $C --data-dir "$D" --out "$R/student" --overwrite \
  --set model.num_experts=4 --set 'model.expert=[32]'
$B train --config $C --data-dir "$D" --out "$R/student_distilled" --overwrite \
  --set model.num_experts=4 --set 'model.expert=[32]' \
  --set train.teacher="$R/teacher" --set train.distill.temperature=2.0 --set train.distill.weight=0.5
for r in teacher prune_0 prune_0.5 prune_0.7 prune_0.8 prune_0.9 student student_distilled; do
  python3 -c "import json,sys; s=json.load(open('$R/$r/summary.json')); t=s['tasks']; print('$r', s.get('prune',{}).get('sparsity',0), t['income']['test']['auc'], t['never_married']['test']['auc'], s['best_epoch'], round(s['seconds'],1))" 2>/dev/null || echo "$r: see $R/$r/summary.json"
done
cargo run --release --example score_speed -- "$D" "$R/teacher" "$R/student" "$R/student_distilled" "$R/prune_0.9"
