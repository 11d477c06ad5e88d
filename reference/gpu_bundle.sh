#!/usr/bin/env bash
# Builds what a GPU session carries to the `device` tool's machine (which has CUDA, NVRTC
# and PyTorch but no Rust): stripped test, bench and mtrec binaries in target/cuda-bundle,
# and the census-income data in shared-data/ (ignored by git). Run here, from the repo:
#
#   bash reference/gpu_bundle.sh [DATA_DIR]
#
# then one `run` with carry = ["target/cuda-bundle", "shared-data"] and the command
#   bash reference/gpu_session.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${1:-${MTREC_DATA:-../shared/data}}"
cargo build --release --features cuda
cargo test --release --features cuda --no-run \
  --test cuda_parity --test cuda_parity_layers --test cuda_device_step 2>&1 | tee /tmp/mtrec-parity.txt
cargo bench --features cuda --bench cuda --no-run 2>&1 | tee /tmp/mtrec-bench.txt
mkdir -p target/cuda-bundle
exe() { grep -o "target/release/deps/$1-[0-9a-f]*" "$2" | head -n 1; }
for t in cuda_parity cuda_parity_layers cuda_device_step; do
  strip -o "target/cuda-bundle/$t" "$(exe "$t" /tmp/mtrec-parity.txt)"
done
strip -o target/cuda-bundle/cuda_bench "$(exe cuda /tmp/mtrec-bench.txt)"
strip -o target/cuda-bundle/mtrec target/release/mtrec
EXCLUDE="$(git rev-parse --git-path info/exclude)"
mkdir -p "$(dirname "$EXCLUDE")"
grep -qx '/shared-data/' "$EXCLUDE" 2>/dev/null || echo /shared-data/ >> "$EXCLUDE"
mkdir -p shared-data && cp -r "$DATA/census-income" shared-data/
du -sh target/cuda-bundle shared-data
