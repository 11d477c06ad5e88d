#!/bin/bash
# The bit-identity check of a restructuring (issue #16): the same training commands on two
# builds must give byte-identical weights and metrics.
#
#   reference/bit_identity.sh <repo> <out>      run the commands with <repo>/target/release/mtrec
#   diff <out-old>/digest.txt <out-new>/digest.txt && diff <out-old>/demo.txt <out-new>/demo.txt
#
# Runs (2 threads, about 20 s): the MMoE demo (5 epochs), census MMoE / PLE / Shared-Bottom
# and MovieLens MMoE (their presets), census MMoE through the host replay of the device step
# (2 epochs) and MovieLens SASRec (2 epochs). digest.txt holds, per run, a SHA-256 of every
# safetensors file's tensors (its `__metadata__`, which records wall-clock seconds, left out)
# and summary.json without timings, RSS or dates. Needs ../shared/data (or $MTREC_DATA).
set -u
R=$(cd "$1" && pwd); O=$2; mkdir -p "$O"
B=$R/target/release/mtrec
D=${MTREC_DATA:-$R/../shared/data}
[ -x "$B" ] || { echo "no $B: build it with cargo build --release" >&2; exit 2; }
[ -d "$D" ] || { echo "no data folder $D: set MTREC_DATA" >&2; exit 2; }
"$B" demo --threads 2 --epochs 5 2>/dev/null | awk '{$NF=""; print}' > "$O/demo.txt"
for c in census_mmoe census_ple census_shared_bottom movielens_mmoe; do
  rm -rf "${O:?}/$c"
  "$B" train --config "$R/configs/$c.toml" --data-dir "$D" --threads 2 --out "$O/$c" > "$O/$c.txt" 2>&1 || echo "FAIL $c"
done
rm -rf "$O/hostreplay"
"$B" train --config "$R/configs/census_mmoe.toml" --data-dir "$D" --threads 2 --device host-replay \
  --set train.epochs=2 --out "$O/hostreplay" > "$O/hostreplay.txt" 2>&1 || echo "FAIL hostreplay"
rm -rf "$O/sasrec"
"$B" seq --config "$R/configs/movielens_sasrec.toml" --data-dir "$D" --threads 2 --set train.epochs=2 \
  --out "$O/sasrec" > "$O/sasrec.txt" 2>&1 || echo "FAIL sasrec"
for d in "$O"/*/; do
  n=$(basename "$d")
  for f in "$d"*.safetensors; do
    python3 - "$f" "$n/$(basename "$f")" <<'PY'
import hashlib, json, struct, sys
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n]); h.pop('__metadata__', None)
print(hashlib.sha256(json.dumps(h, sort_keys=True).encode() + b[8 + n:]).hexdigest(), sys.argv[2])
PY
  done
  python3 - "$d/summary.json" "$n" <<'PY'
import json, sys
SKIP = ('time', 'per_s', '_s', 'secs', 'seconds', 'rss', 'date', 'host', 'elapsed')
def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if not any(t in k for t in SKIP)}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x
print(sys.argv[2], json.dumps(strip(json.load(open(sys.argv[1]))), sort_keys=True))
PY
done > "$O/digest.txt"
echo "wrote $O/digest.txt ($(wc -l < "$O/digest.txt") lines) and $O/demo.txt"
