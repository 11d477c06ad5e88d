#!/usr/bin/env bash
# Everything the CUDA backend still needs run on a GPU, in one command (the `device`
# tool's machine; see reference/gpu_bundle.sh for what to carry). Logs go to $OUT (the
# tool brings that folder back) or /tmp/mtrec-gpu; a failing step is reported and the
# next one still runs. Order: parity first (the numbers after it mean nothing if it
# fails), then the demo on the GPU, then the SGEMM against cuBLAS, then census MMoE
# training against PyTorch CUDA.
set -uo pipefail
cd "$(dirname "$0")/.."
LOG="${OUT:-/tmp/mtrec-gpu}"
mkdir -p "$LOG"
B=target/cuda-bundle
status=0
step() { # name, command...
  local name="$1"; shift
  echo "== $name: $*"
  if "$@" > "$LOG/$name.txt" 2>&1; then echo "   ok"; else echo "   FAILED (rc $?)"; status=1; fi
  tail -n 15 "$LOG/$name.txt"
}
nvidia-smi -L | tee "$LOG/device.txt"
step parity "$B/cuda_parity" --ignored --test-threads 1
step parity_layers "$B/cuda_parity_layers" --ignored --test-threads 1
step device_step "$B/cuda_device_step" --ignored --test-threads 1
step demo "$B/mtrec" demo --device cuda
step sgemm "$B/cuda_bench" --bench cuda_sgemm
step sgemm_cublas python3 reference/gemm/sgemm_torch_cuda.py
step census bash reference/bench_census_cuda.sh shared-data 3 "$B/mtrec"
exit $status
