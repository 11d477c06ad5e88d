// Optimiser updates over a flat parameter block (all dense parameters live in one
// allocation, llm.c style, so a step is one launch). CPU twins: `sgd_update` in
// src/optim/sgd.rs and `adam_update` in src/optim/adam.rs (both private to their modules;
// the parity test reaches them through `Optimizer::step` on a ParamStore with one dense
// parameter). The lazy row-sparse updates of embedding tables have no device kernel yet.
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
//   theta, g, v: (n,)  (v is not touched when μ = 0)
extern "C" __global__ void sgd_step_f32(float *theta, const float *g, float *v, SgdParams p) {
    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < p.n; i += gridDim.x * blockDim.x) {
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
// θ −= lr·(m/bc1) / (√(v/bc2) + ε)                    theta, g, m, v: (n,)
extern "C" __global__ void adam_step_f32(float *theta, const float *g, float *m, float *v,
                                         AdamParams p) {
    float coupled = p.decoupled ? 0.0f : p.weight_decay;
    float decay = 1.0f - p.lr * p.weight_decay;
    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < p.n; i += gridDim.x * blockDim.x) {
        float t = theta[i];
        float gi = g[i] + coupled * t;
        if (p.decoupled) t *= decay;
        float mi = p.beta1 * m[i] + (1.0f - p.beta1) * gi;
        float vi = p.beta2 * v[i] + (1.0f - p.beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float m_hat = mi / p.bc1;
        float v_hat = vi / p.bc2;
        theta[i] = t - p.lr * m_hat / (sqrtf(v_hat) + p.eps);
    }
}
