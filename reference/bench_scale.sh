#!/usr/bin/env bash
# Scale benchmark (issue 17, part 2): for each N, generate an AliExpress-shaped CSV
# (`mtrec gen aliexpress`), then train the same MMoE on it with mtrec and with the
# PyTorch reference (reference/scale/train_mmoe.py: pandas read_csv + LabelEncoder),
# one after the other in this one invocation. Prints one table row per (N, tool):
# CSV size, ingest seconds, training samples/s, peak RSS, test AUC of both tasks.
#
#   bash reference/setup.sh                                  # once: the PyTorch venv
#   bash reference/bench_scale.sh 200000 2000000             # N values
#
# Settings of both tools: configs/aliexpress_mmoe.toml with batch 1024, 1 epoch,
# lr 0.001, random 80/10/10 split, 2 threads (THREADS=...). WORK=dir keeps the files
# (default: a temp dir, removed at the end; a link WORK/ae_N.csv to a kept CSV is used
# as is); BIN=path runs that mtrec binary instead of building target/release/mtrec.
# TORCH_MAX_STEPS=K stops PyTorch's epoch after K batches (its samples/s is measured on
# those; its AUC is then of a partly trained model). TORCH_MAX_N=M skips the PyTorch
# reference for N > M (its in-memory path needs ~1.8 KB per row: 40M rows would need
# ~71 GB, more than this machine has) and says so in its table row.
#
# The columns, the same span for both tools:
#   ingest s     the data preparation, measured inside each program: from the CSV on disk
#                to the encoded training / validation / test sets ready for the first
#                batch — reading, vocabularies (ids), the random split, standard scaling of
#                the numerics with the training rows' statistics, the encoded sets. mtrec:
#                summary.json's `data_seconds` (src/train/run/mod.rs: the cache key with the
#                file's content hash, the streamed build writing the cache (one parse;
#                two with MTREC_STREAM_ONEPASS=0), its memory-mapped opening; or the
#                in-memory read with CACHE=off); not process start, config, model,
#                training or evaluation. PyTorch: train_mmoe.py's
#                `ingest_s`, pandas.read_csv through the torch tensors; not imports, model,
#                training or the test evaluation.
#   train smp/s  training rows per second of training-step time (both: the steps only).
#   peak MB      peak RSS of the whole process: /usr/bin/time -v for mtrec, ru_maxrss for
#                PyTorch.
#   AUC clk/conv test-split AUC of the trained model (mtrec: the best epoch's weights).
# (Before 2026-12-05 mtrec's ingest was the run's wall time minus its training time, which
# also held one evaluation of validation and test and the run's setup.)
# BASE_BIN=path adds a row of that (earlier) mtrec binary before BIN's, in the same
# invocation and on the same CSV: before / after side by side under the same load.
# CACHE=on (default) trains mtrec from its data cache, built fresh by the streaming
# build in each run (the cache folder is removed first, so its build is in "ingest");
# CACHE=off reads the CSV into memory as before.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 N [N ...]" >&2; exit 2; }
PY=reference/.venv/bin/python
[ -x "$PY" ] || { echo "no $PY: run bash reference/setup.sh first" >&2; exit 1; }
THREADS="${THREADS:-2}"
CACHE="${CACHE:-on}"
BIN="${BIN:-./target/release/mtrec}"   # BIN=path: a binary built before (no cargo build)
[ "$BIN" != ./target/release/mtrec ] || cargo build --release --quiet
if [ -n "${WORK:-}" ]; then mkdir -p "$WORK"; else WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT; fi

printf '%-10s %-8s %9s %9s %12s %9s %9s %9s\n' N tool "CSV MB" "ingest s" "train smp/s" "peak MB" "AUC clk" "AUC conv"
for N in "$@"; do
  csv="$WORK/ae_$N.csv"
  [ -s "$csv" ] || $BIN gen aliexpress --rows "$N" --out "$csv" --seed 1 > "$WORK/gen_$N.json"
  mb=$(( $(stat -L -c %s "$csv") / 1000000 ))  # -L: WORK may hold a link to a kept CSV
  for bin in ${BASE_BIN:-} "$BIN"; do
  label=mtrec; [ "$bin" = "$BIN" ] || label=mtrec-base
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg)  N=$N $label $bin (CACHE=$CACHE)" >&2
  cache_set=()
  if [ "$CACHE" = on ]; then
    rm -rf "$WORK/mtrec_cache"
    cache_set=(--set "data.cache=\"$WORK/mtrec_cache\"")
  fi
  sync  # the previous run's dirty pages written back first
  /usr/bin/time -v "$bin" train --config configs/aliexpress_mmoe.toml --data-dir "$WORK" \
    --out "$WORK/run_$N" --overwrite --quiet --threads "$THREADS" \
    --set "data.files=[\"ae_$N.csv\"]" --set train.batch_size=1024 --set train.epochs=1 \
    "${cache_set[@]}" > /dev/null 2> "$WORK/time_$N.txt"
  grep -h "data cache: streamed" "$WORK/time_$N.txt" >&2 || true
  "$PY" - "$WORK/run_$N/summary.json" "$WORK/time_$N.txt" "$N" "$mb" "$label" <<'PY'
import json, re, sys
s = json.load(open(sys.argv[1]))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(sys.argv[2]).read()).group(1)) / 1024
if "data_seconds" not in s:
    sys.exit(f"{sys.argv[1]} has no data_seconds: this mtrec binary is older than the benchmark (rebuild, or BIN=)")
t = s["tasks"]
print(f"{sys.argv[3]:<10} {sys.argv[5]:<8} {sys.argv[4]:>9} {s['data_seconds']:>9.1f} {s['train_samples_per_s']:>12.0f} "
      f"{rss:>9.0f} {t['click']['test']['auc']:>9.4f} {t['conversion']['test']['auc']:>9.4f}")
PY
  done
  if [ -n "${TORCH_MAX_N:-}" ] && [ "$N" -gt "$TORCH_MAX_N" ]; then
    printf '%-10s %-8s %9s %s\n' "$N" pytorch "$mb" "not run: N > TORCH_MAX_N=$TORCH_MAX_N (its in-memory path would not fit)"
    continue
  fi
  echo "load: $(cut -d' ' -f1-3 /proc/loadavg)  N=$N pytorch" >&2
  if "$PY" reference/scale/train_mmoe.py --csv "$csv" --epochs 1 --batch-size 1024 \
      --threads "$THREADS" --max-steps "${TORCH_MAX_STEPS:-0}" > "$WORK/torch_$N.json" 2> "$WORK/torch_$N.err"; then
    "$PY" - "$WORK/torch_$N.json" "$N" "$mb" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print(f"{sys.argv[2]:<10} {'pytorch':<8} {sys.argv[3]:>9} {r['ingest_s']:>9.1f} {r['train_samples_per_s']:>12.0f} "
      f"{r['peak_rss_mb']:>9.0f} {r['auc_click']:>9.4f} {r['auc_conversion']:>9.4f}")
PY
  else
    echo "$N pytorch failed (out of memory?): $(tail -1 "$WORK/torch_$N.err")"
  fi
done
