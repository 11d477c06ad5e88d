// Fused linear layer + activation: y = f(x·W + b) in one kernel (the bias and activation are
// the SGEMM's epilogue, gemm_tile.cuh). f is any UNARY_* kind of common.cuh, or
// UNARY_IDENTITY for a plain affine layer.
//
// CPU twin: there is no fused CPU op yet; the twin is the composition the graph records
// today, with the same argument meaning: matmul_forward (src/ops/matmul.rs), add_forward
// broadcasting the (1, D_out) bias (src/ops/broadcast.rs), unary_forward (src/ops/unary.rs);
// backward: unary_backward, then the bias gradient as reduce_forward over Cols, then
// matmul_backward.
//
// # Derivation
// pre = x·W + 1·b, y = f(pre), so with the elementwise chain rule and the matmul derivation:
//   dpre = dy ⊙ f′(pre)            (f′ written with pre and y, as `unary_df`)
//   db   += Σ_rows dpre            (b broadcast over the B rows)
//   dx   += dpre · Wᵀ,  dW += xᵀ · dpre   (matmul_fwd_f32 launches, src/cuda/kernels.rs)

// Not inlined: the epilogue runs inside the tile's fully unrolled 8×8 store loop, and 64
// inlined copies of every activation (GELU's double-precision erf included) made a 660 kB
// PTX module; one call per stored element costs little next to the tile's K loop.
__device__ __noinline__ float linear_act_f(int kind, float x) { return unary_f(kind, x); }

struct LinearActEpilogue {
    float *out;
    float *pre;
    const float *bias;
    int n;
    int kind;
    __device__ __forceinline__ void operator()(int i, int j, float v) const {
        unsigned long long o = (unsigned long long)i * n + j;
        float p = v + bias[j];
        pre[o] = p;
        out[o] = linear_act_f(kind, p);
    }
};

// pre = x·W + bias; out = f(pre)
//   out, pre: (B, D_out); x: (B, D_in); w: (D_in, D_out); bias: (1, D_out)
// Grid: (⌈D_out/128⌉, ⌈B/128⌉), block: 256.
extern "C" __global__ void __launch_bounds__(GEMM_THREADS)
    linear_act_fwd_f32(float *out, float *pre, const float *x, const float *w, const float *bias,
                       unsigned int b, unsigned int d_in, unsigned int d_out, int kind) {
    LinearActEpilogue epi = {out, pre, bias, (int)d_out, kind};
    sgemm_tile(x, w, (int)b, (int)d_in, (int)d_out, 0, 0, epi);
}

// dpre = dout ⊙ f′(pre, out) (overwritten: a per-step scratch buffer); dbias += Σ_rows dpre
// unless dbias is NULL (a layer without bias, or one whose bias needs no gradient).
// One thread per column, walking the rows: coalesced, deterministic.
//   dpre, dout, pre, out: (B, D_out); dbias: (1, D_out)
extern "C" __global__ void linear_act_bwd_f32(float *dpre, float *dbias, const float *dout,
                                              const float *pre, const float *out, unsigned int b,
                                              unsigned int d_out, int kind) {
    for (unsigned int j = blockIdx.x * blockDim.x + threadIdx.x; j < d_out; j += gridDim.x * blockDim.x) {
        float s = 0.0f;
        for (unsigned int i = 0; i < b; ++i) {
            unsigned long long o = (unsigned long long)i * d_out + j;
            float g = dout[o] * unary_df(kind, pre[o], out[o]);
            dpre[o] = g;
            s += g;
        }
        if (dbias) dbias[j] += s;
    }
}
