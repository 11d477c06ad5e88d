"""PyTorch CPU sgemm throughput, the reference for benches/gemm.rs.

Times `torch.mm` (float32, contiguous, C = A·B) on 256², 512², 1024² with one thread and
1024² with two, and prints GFLOP/s = 2·M·N·K / seconds / 1e9 (the same FLOP count as the
criterion bench). Each shape: a warm-up, then REPEATS timings of a loop long enough to
take ~0.2 s; it prints the median and best wall-clock rate and, because the benchmark
machine is shared with other jobs, also the rate per CPU-second of this process
(`time.process_time`, all threads), which does not count time the scheduler gave to
other processes. On one thread that is the kernel's speed on an idle core.

Run: reference/.venv/bin/python reference/gemm/sgemm_torch.py
"""

import statistics
import time

import torch

REPEATS = 7


def gflops(m: int, k: int, n: int, threads: int, ta: bool = False, tb: bool = False):
    """C (M, N) = op(A)·op(B); A stored (K, M) if `ta`, B stored (N, K) if `tb` (views, no copy)."""
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    a = torch.rand(*((k, m) if ta else (m, k)), generator=g, dtype=torch.float32) - 0.5
    b = torch.rand(*((n, k) if tb else (k, n)), generator=g, dtype=torch.float32) - 0.5
    a, b = (a.t() if ta else a), (b.t() if tb else b)
    out = torch.empty(m, n, dtype=torch.float32)
    torch.mm(a, b, out=out)
    # Iterations for ~0.2 s per timing.
    t0 = time.perf_counter()
    torch.mm(a, b, out=out)
    iters = max(1, int(0.2 / max(time.perf_counter() - t0, 1e-6)))
    flop = 2.0 * m * n * k  # M·N·K multiply-adds, two operations each
    rates, cpu_rates = [], []
    for _ in range(REPEATS):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(iters):
            torch.mm(a, b, out=out)
        dt = (time.perf_counter() - t0) / iters
        dc = (time.process_time() - c0) / iters
        rates.append(flop / dt / 1e9)
        cpu_rates.append(flop / dc / 1e9)
    return statistics.median(rates), max(rates), statistics.median(cpu_rates)


def main() -> None:
    print(f"torch {torch.__version__}, {torch.backends.cpu.get_cpu_capability()}")
    print("GFLOP/s:  wall median, wall best, per CPU-second median (all threads)")
    cases = [(256, 256, 256, 1, False, False), (512, 512, 512, 1, False, False),
             (1024, 1024, 1024, 1, False, False), (1024, 1024, 1024, 2, False, False)]
    # The census MMoE's shapes, as in benches/gemm.rs (M, K, N, threads, ta, tb).
    for threads in (1, 2):
        cases += [(1024, 242, 512, threads, False, False), (1024, 512, 242, threads, False, True),
                  (242, 1024, 512, threads, True, False), (1024, 64, 32, threads, False, False)]
    for m, k, n, threads, ta, tb in cases:
        med, best, cpu = gflops(m, k, n, threads, ta, tb)
        label = f"{m}x{k}x{n} {'t' if ta else 'n'}{'t' if tb else 'n'} {threads}T"
        print(f"{label:>22}  wall median {med:6.1f}  best {best:6.1f}  | per cpu-s {cpu:6.1f}")


if __name__ == "__main__":
    main()
