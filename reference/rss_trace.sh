#!/usr/bin/env bash
# Samples a command's memory every 0.5 s while it runs: VmRSS (all resident pages),
# RssAnon (heap, stacks) and RssFile (mapped file pages, e.g. the data cache's sets),
# from /proc/<pid>/status, one line per sample: seconds since start, then the three in kB.
#
#   bash reference/rss_trace.sh OUT -- mtrec train --config ... 
#
# OUT gets the samples; OUT.stdout / OUT.stderr the command's output. The last line is
# `exit <status>`. Print the peak with `sort -k3 -n OUT | tail -1`.
set -uo pipefail
[ $# -ge 3 ] && [ "$2" = "--" ] || { echo "usage: $0 OUT -- command [args...]" >&2; exit 2; }
out=$1; shift 2
: > "$out"
"$@" > "$out.stdout" 2> "$out.stderr" &
pid=$!
t0=$(date +%s.%N)
while kill -0 "$pid" 2>/dev/null; do
  if [ -r "/proc/$pid/status" ]; then
    now=$(date +%s.%N)
    awk -v t="$(echo "$now - $t0" | bc)" \
      '/^(VmRSS|RssAnon|RssFile):/ {s = s " " $1 " " $2} END {print t s}' "/proc/$pid/status" >> "$out"
  fi
  sleep 0.5
done
wait "$pid"; status=$?
echo "exit $status" >> "$out"
exit "$status"
