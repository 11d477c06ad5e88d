// Matrix product with either operand transposed: our own tiled shared-memory SGEMM
// (gemm_tile.cuh), no cuBLAS. CPU twin: src/ops/matmul.rs `matmul_forward(out, a, b, m, k,
// n, ta, tb)`, which accumulates (`out += op(A)·op(B)`): the twin of beta = 1.
//
// The backward pass is this same kernel with the transpose flags of the derivation in
// src/ops/matmul.rs (dA = dC·op(B)ᵀ, dB = op(A)ᵀ·dC, transposed for stored-transposed
// operands); src/cuda/kernels.rs `matmul_backward` issues those launches, as the CPU
// `matmul_backward` calls `matmul_forward`. There is no separate matmul_bwd_f32.

struct MatmulEpilogue {
    float *out;
    int n;
    float beta;
    __device__ __forceinline__ void operator()(int i, int j, float v) const {
        unsigned long long o = (unsigned long long)i * n + j;
        // beta = 0 never reads `out`, so it may hold garbage (fresh allocation).
        out[o] = beta == 0.0f ? v : fmaf(beta, out[o], v);
    }
};

// out = beta·out + op(a)·op(b)      out: (m, n); a: (m, k) or (k, m) if ta; b: (k, n) or (n, k) if tb
extern "C" __global__ void __launch_bounds__(GEMM_THREADS, 2)
    matmul_fwd_f32(float *out, const float *a, const float *b, unsigned int m, unsigned int k,
                   unsigned int n, int ta, int tb, float beta) {
    MatmulEpilogue epi = {out, (int)n, beta};
    sgemm_tile(a, b, (int)m, (int)k, (int)n, ta, tb, epi);
}
