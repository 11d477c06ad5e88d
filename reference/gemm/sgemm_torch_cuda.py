"""PyTorch CUDA (cuBLAS) sgemm throughput, the reference for the `cuda_sgemm` group of
benches/cuda.rs (our own tiled SGEMM, kernels/matmul.cu).

Times `torch.mm` on the GPU (float32, C = op(A)·op(B), TF32 tensor cores OFF so cuBLAS
does the same IEEE fp32 arithmetic as our kernel) at the bench's sizes: 1024², 2048²,
4096², 8192² (NN) and 4096² with A or B transposed, and prints GFLOP/s = 2·M·N·K /
seconds / 1e9 (the FLOP count of the criterion bench). Each case: a warm-up, then REPEATS
timings of a loop long enough to take ~0.2 s, timed with CUDA events and a synchronize
before the clock stops; median and best are printed.

Run on a GPU machine with a CUDA build of PyTorch:
    python3 reference/gemm/sgemm_torch_cuda.py
"""

import statistics
import sys

import torch

REPEATS = 7
CASES = [
    (1024, False, False),
    (2048, False, False),
    (4096, False, False),
    (8192, False, False),
    (4096, True, False),
    (4096, False, True),
]


def gflops(s: int, ta: bool, tb: bool):
    """C (s, s) = op(A)·op(B) with A stored transposed if `ta`, B if `tb` (views, no copy)."""
    g = torch.Generator(device="cuda").manual_seed(0)
    a = torch.rand(s, s, generator=g, device="cuda", dtype=torch.float32) - 0.5
    b = torch.rand(s, s, generator=g, device="cuda", dtype=torch.float32) - 0.5
    a, b = (a.t() if ta else a), (b.t() if tb else b)
    out = torch.empty(s, s, device="cuda", dtype=torch.float32)
    torch.mm(a, b, out=out)
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    torch.mm(a, b, out=out)
    stop.record()
    stop.synchronize()
    iters = max(1, int(200.0 / max(start.elapsed_time(stop), 1e-3)))
    flop = 2.0 * s * s * s  # M·N·K multiply-adds, two operations each
    rates = []
    for _ in range(REPEATS):
        start.record()
        for _ in range(iters):
            torch.mm(a, b, out=out)
        stop.record()
        stop.synchronize()
        seconds = start.elapsed_time(stop) / 1e3
        rates.append(flop * iters / seconds / 1e9)
    return statistics.median(rates), max(rates)


def main():
    if not torch.cuda.is_available():
        print("sgemm_torch_cuda.py: no CUDA device visible to PyTorch; nothing measured")
        sys.exit(1)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    print(f"device: {torch.cuda.get_device_name(0)}; torch {torch.__version__}; TF32 off")
    print(f"{'case':<22} {'median GFLOP/s':>15} {'best GFLOP/s':>13}")
    for s, ta, tb in CASES:
        med, best = gflops(s, ta, tb)
        label = f"{'T' if ta else 'N'}{'T' if tb else 'N'} {s}x{s}x{s}"
        print(f"{label:<22} {med:>15.0f} {best:>13.0f}")


if __name__ == "__main__":
    main()
