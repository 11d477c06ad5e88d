#!/usr/bin/env bash
# `mtrec recommend` on a seq run with and without its transition prior, side by side in
# one invocation (docs/benchmarks.md, "Seq lists with the transition prior").
#
#   bash reference/bench_seq_prior.sh RUN DATA_DIR [THREADS]
#
# RUN: a run folder of `mtrec seq` whose summary.json holds transition_prior.weight (e.g.
# configs/beauty_sasrec_prior.toml). A copy of it with the weight set to 0 is made under
# $TMPDIR; each variant writes top-10 lists of every user twice (alternating), and
# `--eval --k 10` of the run is printed beside the summary's test HR@10 / NDCG@10.
set -euo pipefail
RUN=$1
DATA=$2
THREADS=${3:-2}
BIN=${BIN:-./target/release/mtrec}
TMP=$(mktemp -d)
cp -r "$RUN" "$TMP/run0"
python3 - "$TMP/run0/summary.json" <<'PY'
import json, sys
p = sys.argv[1]
s = json.load(open(p))
s["transition_prior"]["weight"] = 0.0
json.dump(s, open(p, "w"), indent=2)
PY
echo "loadavg: $(cat /proc/loadavg)"
python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print('summary: weight', s['transition_prior']['weight'], 'test hr10', s['test']['hr10'], 'ndcg10', s['test']['ndcg10'])" "$RUN/summary.json"
echo "recommend --eval --k 10 (the run, with its prior):"
"$BIN" recommend --run "$RUN" --data-dir "$DATA" --eval --k 10 --threads "$THREADS" 2>/dev/null \
  | python3 -c "import json,sys; m=json.load(sys.stdin); print('  hr', m['hr'], 'ndcg', m['ndcg'], 'mrr', m['mrr'], 'lists_hr', m['lists_hr'])"
for rep in 1 2; do
  for variant in prior none; do
    dir=$RUN; [ "$variant" = none ] && dir=$TMP/run0
    out=$TMP/$variant-$rep.csv
    line=$("$BIN" recommend --run "$dir" --data-dir "$DATA" --all-users --k 10 --output "$out" \
      --threads "$THREADS" --quiet 2>&1 | grep 'pairs/s')
    echo "$variant rep $rep: $line   (loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
  done
done
echo "lists differing in their first item (prior vs none): $(paste -d'|' <(awk -F, '$2==1{print $3}' "$TMP/prior-1.csv") <(awk -F, '$2==1{print $3}' "$TMP/none-1.csv") | awk -F'|' '$1!=$2' | wc -l) of $(awk -F, '$2==1' "$TMP/prior-1.csv" | wc -l) users"
rm -rf "$TMP"
