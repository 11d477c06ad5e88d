// Optimiser updates over a flat parameter block (all dense parameters live in one
// allocation, llm.c style, so a step is one launch). CPU twins: `sgd_update` in
// src/optim/sgd.rs and `adam_update` in src/optim/adam.rs (both private to their modules;
// the parity test reaches them through `Optimizer::step` on a ParamStore with one dense
// parameter). `adam_rows_f32` is the lazy Adam of an embedding table (the table loop of
// `Adam::step`): the same per-element update on the listed rows only.
//
// The parameter structs are `#[repr(C)]` twins of `SgdParams` / `AdamParams` in
// src/cuda/kernels.rs: same fields, same order, 4-byte fields only (no padding).

struct SgdParams {
    float lr;
    float momentum;     // μ
    float weight_decay; // λ
    int nesterov;       // 0 or 1
    unsigned int n;     // number of scalars
};

// g ← ∇θL + λ·θ; v ← μ·v + g; θ ← θ − lr·(nesterov ? g + μ·v : v); μ = 0: θ ← θ − lr·g
// on element i (v is not touched when μ = 0): `sgd_update` in src/optim/sgd.rs
__device__ __forceinline__ void sgd_elem(float *theta, const float *g, float *v,
                                         unsigned long long i, const SgdParams &p) {
    float gi = g[i] + p.weight_decay * theta[i];
    if (p.momentum == 0.0f) {
        theta[i] -= p.lr * gi;
    } else {
        float vi = p.momentum * v[i] + gi;
        v[i] = vi;
        float d = p.nesterov ? gi + p.momentum * vi : vi;
        theta[i] -= p.lr * d;
    }
}

// One SGD step of a dense block                theta, g, v: (n,), n = p.n
extern "C" __global__ void sgd_step_f32(float *theta, const float *g, float *v, SgdParams p) {
    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < p.n; i += gridDim.x * blockDim.x) {
        sgd_elem(theta, g, v, i, p);
    }
}

// Lazy SGD on the listed rows of a (V, D) table, as adam_rows_f32: sgd_elem on each listed
// row's D elements, then g[r, :] = 0. p.n = n_rows·D.
//   theta, g, v: (V, D); rows: (n_rows,)
extern "C" __global__ void sgd_rows_f32(float *theta, float *g, float *v,
                                        const unsigned int *rows, unsigned int d,
                                        unsigned int v_rows, SgdParams p) {
    for (unsigned int t = blockIdx.x * blockDim.x + threadIdx.x; t < p.n; t += gridDim.x * blockDim.x) {
        unsigned int r = rows[t / d];
        if (r >= v_rows) continue;
        unsigned long long i = (unsigned long long)r * d + t % d;
        sgd_elem(theta, g, v, i, p);
        g[i] = 0.0f;
    }
}

struct AdamParams {
    float lr;
    float beta1;
    float beta2;
    float eps;
    float weight_decay; // λ: L2 (decoupled = 0) or AdamW (decoupled = 1)
    float bc1;          // 1 − β1ᵗ (computed on the host in f64, rounded to f32)
    float bc2;          // 1 − β2ᵗ
    int decoupled;
    unsigned int n;
};

// gi = g + λ·θ (Adam) | θ *= 1 − lr·λ (AdamW); m = β1·m + (1−β1)·gi; v = β2·v + (1−β2)·gi²;
// θ −= lr·(m/bc1) / (√(v/bc2) + ε)          element i of theta, g, m, v
__device__ __forceinline__ void adam_elem(float *theta, const float *g, float *m, float *v,
                                          unsigned long long i, const AdamParams &p) {
    float coupled = p.decoupled ? 0.0f : p.weight_decay;
    float t = theta[i];
    float gi = g[i] + coupled * t;
    if (p.decoupled) t *= 1.0f - p.lr * p.weight_decay;
    float mi = p.beta1 * m[i] + (1.0f - p.beta1) * gi;
    float vi = p.beta2 * v[i] + (1.0f - p.beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    float m_hat = mi / p.bc1;
    float v_hat = vi / p.bc2;
    theta[i] = t - p.lr * m_hat / (sqrtf(v_hat) + p.eps);
}

// One Adam / AdamW step of a dense block       theta, g, m, v: (n,), n = p.n
extern "C" __global__ void adam_step_f32(float *theta, const float *g, float *m, float *v,
                                         AdamParams p) {
    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < p.n; i += gridDim.x * blockDim.x) {
        adam_elem(theta, g, m, v, i, p);
    }
}

// Lazy Adam on the listed rows of a (V, D) table: for every row r = rows[k], adam_elem on
// r's D elements of theta, g, m, v, then g[r, :] = 0 (the dense table gradient is all zeros
// again after the step). Rows must be distinct; rows ≥ V are skipped (the caller checks
// them on the host). One thread per (listed row, column); p.n = n_rows·D.
//   theta, g, m, v: (V, D); rows: (n_rows,)
extern "C" __global__ void adam_rows_f32(float *theta, float *g, float *m, float *v,
                                         const unsigned int *rows, unsigned int d,
                                         unsigned int v_rows, AdamParams p) {
    for (unsigned int t = blockIdx.x * blockDim.x + threadIdx.x; t < p.n; t += gridDim.x * blockDim.x) {
        unsigned int r = rows[t / d];
        if (r >= v_rows) continue;
        unsigned long long i = (unsigned long long)r * d + t % d;
        adam_elem(theta, g, m, v, i, p);
        g[i] = 0.0f;
    }
}
