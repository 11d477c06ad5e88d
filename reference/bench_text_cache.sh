#!/usr/bin/env bash
# The data-cache build of a run with a text feature, streamed against the in-memory
# build (MTREC_STREAM=0), side by side in one invocation (issue 17 §1): for each, one
# `mtrec train` with a fresh cache folder and text-embedding cache, under
# /usr/bin/time -v, stopped as soon as the build has printed `data cache: built ... in
# N s`; prints the build line, the process's peak RSS and CPU seconds (user + sys, up
# to the kill: the build, key and start-up) and the load average.
#
#   W=/tmp/textbench N=1000000 ITEMS=50000 bash reference/bench_text_cache.sh [BIN]
#
# W/text_rows.csv and W/tiny-bert are made by reference/data_cache/gen_text.py when
# missing (N rows, ITEMS distinct titles).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-target/release/mtrec}"
W="${W:?W=work dir}"
N="${N:-1000000}"
ITEMS="${ITEMS:-50000}"
mkdir -p "$W"
if [ ! -f "$W/text_rows.csv" ]; then
  python3 reference/data_cache/gen_text.py "$N" "$ITEMS" "$W/text_rows.csv" "$W/tiny-bert"
fi
sed "s|encoder = \"tiny-bert\"|encoder = \"$W/tiny-bert\"|" reference/data_cache/text.toml > "$W/run.toml"
echo "file: $(du -m "$W/text_rows.csv" | cut -f1) MB, $(($(wc -l < "$W/text_rows.csv") - 1)) rows"
for mode in streamed in_memory; do
  rm -rf "$W/cache_$mode" "$W/text_cache_$mode"
  stream=1
  [ "$mode" = in_memory ] && stream=0
  MTREC_STREAM=$stream MTREC_CACHE="$W/text_cache_$mode" /usr/bin/time -v "$BIN" train \
    --config "$W/run.toml" --data-dir "$W" --out "$W/run_$mode" --overwrite --quiet \
    --threads "${THREADS:-2}" --set "data.cache=\"$W/cache_$mode\"" 2> "$W/err_$mode" &
  tpid=$!
  while kill -0 "$tpid" 2>/dev/null && ! grep -q "data cache: built" "$W/err_$mode"; do sleep 0.05; done
  for p in $(pgrep -P "$tpid" || true); do kill "$p" 2>/dev/null || true; done
  wait "$tpid" 2>/dev/null || true
  rss=$(grep -h "Maximum resident set size" "$W/err_$mode" | awk '{print $NF}')
  cpu=$(grep -h "User time\|System time" "$W/err_$mode" | awk '{s += $NF} END {printf "%.1f", s}')
  echo "$mode | load $(cut -d' ' -f1-3 /proc/loadavg) | peak RSS $((rss / 1024)) MB | process CPU $cpu s | $(grep -h 'data cache: built' "$W/err_$mode" | sed 's|.*/||')"
  grep -h "data cache: streamed\|in-memory reader" "$W/err_$mode" || true
done
