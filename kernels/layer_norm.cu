// Layer normalisation over each row. CPU twin: src/ops/layer_norm.rs (layer_norm_forward /
// layer_norm_backward); the backward is split in two kernels: `layer_norm_bwd_f32` (dinp,
// one block per row) and `layer_norm_bwd_params_f32` (dgamma, dbeta, one thread per column,
// deterministic: no atomics).

// out = γ·(x − μ)·r + β; mean = μ, rstd = r = 1/√(σ² + ε)
//   out, inp: (b, d); gamma, beta: (1, d); mean, rstd: (b,)
extern "C" __global__ void layer_norm_fwd_f32(float *out, float *mean, float *rstd,
                                              const float *inp, const float *gamma,
                                              const float *beta, unsigned int b, unsigned int d,
                                              float eps) {
    __shared__ double buf[32];
    for (unsigned int i = blockIdx.x; i < b; i += gridDim.x) {
        const float *x = inp + (unsigned long long)i * d; // (d,)
        float *y = out + (unsigned long long)i * d;       // (d,)
        double s = 0.0;
        for (unsigned int j = threadIdx.x; j < d; j += blockDim.x) s += (double)x[j];
        double mu = block_sum(s, buf) / (double)d;
        double v = 0.0;
        for (unsigned int j = threadIdx.x; j < d; j += blockDim.x) {
            double t = (double)x[j] - mu;
            v += t * t;
        }
        double var = block_sum(v, buf) / (double)d;
        double rs = 1.0 / sqrt(var + (double)eps);
        for (unsigned int j = threadIdx.x; j < d; j += blockDim.x) {
            float xhat = (float)(((double)x[j] - mu) * rs);
            y[j] = gamma[j] * xhat + beta[j];
        }
        if (threadIdx.x == 0) {
            mean[i] = (float)mu;
            rstd[i] = (float)rs;
        }
    }
}

// dinp += r·(g − mean_row(g) − x̂·mean_row(g ⊙ x̂)),  g = dout ⊙ γ, x̂ = (x − μ)·r
extern "C" __global__ void layer_norm_bwd_f32(float *dinp, const float *dout, const float *inp,
                                              const float *gamma, const float *mean,
                                              const float *rstd, unsigned int b, unsigned int d) {
    __shared__ float buf[32];
    for (unsigned int i = blockIdx.x; i < b; i += gridDim.x) {
        unsigned long long o = (unsigned long long)i * d;
        float mu = mean[i], rs = rstd[i];
        float sg = 0.0f, sgx = 0.0f;
        for (unsigned int j = threadIdx.x; j < d; j += blockDim.x) {
            float g = dout[o + j] * gamma[j];
            sg += g;
            sgx += g * (inp[o + j] - mu) * rs;
        }
        float mg = block_sum(sg, buf) / (float)d;
        float mgx = block_sum(sgx, buf) / (float)d;
        for (unsigned int j = threadIdx.x; j < d; j += blockDim.x) {
            float g = dout[o + j] * gamma[j];
            float xhat = (inp[o + j] - mu) * rs;
            dinp[o + j] += rs * (g - mg - xhat * mgx);
        }
    }
}

// dgamma_j += Σ_i dout_ij·x̂_ij,  dbeta_j += Σ_i dout_ij       dgamma, dbeta: (1, d)
extern "C" __global__ void layer_norm_bwd_params_f32(float *dgamma, float *dbeta,
                                                     const float *dout, const float *inp,
                                                     const float *mean, const float *rstd,
                                                     unsigned int b, unsigned int d) {
    for (unsigned int j = blockIdx.x * blockDim.x + threadIdx.x; j < d; j += gridDim.x * blockDim.x) {
        float sg = 0.0f, sb = 0.0f;
        for (unsigned int i = 0; i < b; ++i) {
            float dy = dout[(unsigned long long)i * d + j];
            sg += dy * (inp[(unsigned long long)i * d + j] - mean[i]) * rstd[i];
            sb += dy;
        }
        dgamma[j] += sg;
        dbeta[j] += sb;
    }
}
