// Elementwise kernels: unary f / df pairs, broadcast add / sub / mul, dropout.
// CPU twins: src/ops/unary.rs (unary_forward / unary_backward),
//            src/ops/broadcast.rs (add_forward, sub_forward, mul_forward),
//            src/ops/dropout.rs (dropout_forward / dropout_backward).
// One thread per output element, grid-stride loops; backward kernels accumulate (+=).
// unary_f / unary_df and the UNARY_* kinds live in common.cuh (shared with linear_act.cu).

// Broadcast kinds; must match `BinaryKind` in src/cuda/kernels.rs.
#define BINARY_ADD 0
#define BINARY_SUB 1
#define BINARY_MUL 2

// out = f(inp)                         out, inp: (n,)
extern "C" __global__ void unary_fwd_f32(float *out, const float *inp, unsigned int n, int kind) {
    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        out[i] = unary_f(kind, inp[i]);
    }
}

// dinp += dout ⊙ f′(inp)               dinp, dout, inp, out: (n,)
extern "C" __global__ void unary_bwd_f32(float *dinp, const float *dout, const float *inp,
                                         const float *out, unsigned int n, int kind) {
    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        dinp[i] += dout[i] * unary_df(kind, inp[i], out[i]);
    }
}

// Index into a broadcast b of shape (br, bc) for output element (i, j).
__device__ __forceinline__ unsigned int bidx(unsigned int i, unsigned int j, unsigned int br,
                                             unsigned int bc) {
    return (br == 1 ? 0 : i) * bc + (bc == 1 ? 0 : j);
}

// out = a ∘ b̃                          out, a: (r, c); b: (br, bc) broadcast
extern "C" __global__ void binary_fwd_f32(float *out, const float *a, const float *b, unsigned int r,
                                          unsigned int c, unsigned int br, unsigned int bc,
                                          int kind) {
    unsigned int n = r * c;
    for (unsigned int t = blockIdx.x * blockDim.x + threadIdx.x; t < n; t += gridDim.x * blockDim.x) {
        unsigned int i = t / c, j = t % c;
        float x = a[t], y = b[bidx(i, j, br, bc)];
        out[t] = kind == BINARY_ADD ? x + y : (kind == BINARY_SUB ? x - y : x * y);
    }
}

// da += dy ⊙ ∂(a ∘ b̃)/∂a: dy (add, sub), dy ⊙ b̃ (mul)      da, dy: (r, c)
extern "C" __global__ void binary_bwd_f32(float *da, const float *dy, const float *b, unsigned int r,
                                          unsigned int c, unsigned int br, unsigned int bc,
                                          int kind) {
    unsigned int n = r * c;
    for (unsigned int t = blockIdx.x * blockDim.x + threadIdx.x; t < n; t += gridDim.x * blockDim.x) {
        unsigned int i = t / c, j = t % c;
        da[t] += kind == BINARY_MUL ? dy[t] * b[bidx(i, j, br, bc)] : dy[t];
    }
}

// db += Σ over the broadcast axes of dy ⊙ ∂(a ∘ b̃)/∂b̃: dy (add), −dy (sub), dy ⊙ a (mul).
// One thread per element of b (br, bc); it walks the rows / columns that read it, so the
// sum is deterministic (no atomics).                      db: (br, bc); dy, a: (r, c)
extern "C" __global__ void binary_bwd_b_f32(float *db, const float *dy, const float *a,
                                            unsigned int r, unsigned int c, unsigned int br,
                                            unsigned int bc, int kind) {
    unsigned int nb = br * bc;
    for (unsigned int t = blockIdx.x * blockDim.x + threadIdx.x; t < nb; t += gridDim.x * blockDim.x) {
        unsigned int p = t / bc, q = t % bc;
        unsigned int i0 = br == 1 ? 0 : p, i1 = br == 1 ? r : p + 1;
        unsigned int j0 = bc == 1 ? 0 : q, j1 = bc == 1 ? c : q + 1;
        float s = 0.0f;
        for (unsigned int i = i0; i < i1; ++i) {
            for (unsigned int j = j0; j < j1; ++j) {
                float g = dy[i * c + j];
                s += kind == BINARY_ADD ? g : (kind == BINARY_SUB ? -g : g * a[i * c + j]);
            }
        }
        db[t] += s;
    }
}

// out = inp ⊙ mask                     mask holds 0 or 1/(1 − p)
extern "C" __global__ void dropout_fwd_f32(float *out, const float *inp, const float *mask,
                                           unsigned int n) {
    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        out[i] = inp[i] * mask[i];
    }
}

// dinp += dout ⊙ mask
extern "C" __global__ void dropout_bwd_f32(float *dinp, const float *dout, const float *mask,
                                           unsigned int n) {
    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        dinp[i] += dout[i] * mask[i];
    }
}
