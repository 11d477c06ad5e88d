// Losses: MSE, BCE with logits, softmax cross-entropy. CPU twins: src/loss/mse.rs
// (mse_forward / mse_backward), src/loss/bce.rs (bce_forward / bce_backward),
// src/loss/softmax_ce.rs (softmax_ce_forward / softmax_ce_backward), same argument order
// except that the forward writes the scalar L to `loss[0]` (it stays on the device) where
// the CPU returns it. Forward kernels run as ONE block of 1024 threads (grid-stride over the
// elements, then a block sum in double: deterministic, rounded once, like the CPU's f64
// sum); backward kernels are elementwise with any grid and read the loss gradient dl from
// a 1-element device buffer (dl[0]: ∂objective/∂L, itself computed on the device by the
// backward of the weighted task sum), so a step needs no copy back to the host.

// L = Σ_i c_i · (1/C) Σ_j (p_ij − y_ij)²          p, y: (B, C); coef: (B,)
extern "C" __global__ void mse_fwd_f32(float *loss, const float *p, const float *y,
                                       const float *coef, unsigned int b, unsigned int c) {
    __shared__ double buf[32];
    unsigned long long n = (unsigned long long)b * c;
    double acc = 0.0;
    for (unsigned long long t = threadIdx.x; t < n; t += blockDim.x) {
        double r = (double)(p[t] - y[t]); // the CPU twin subtracts in f32, squares in f64
        acc += (double)coef[t / c] * r * r / (double)c;
    }
    acc = block_sum(acc, buf);
    if (threadIdx.x == 0) loss[0] = (float)acc;
}

// dp += dl[0] · c_i · (2/C) · (p − y)
extern "C" __global__ void mse_bwd_f32(float *dp, const float *dl, const float *p, const float *y,
                                       const float *coef, unsigned int b, unsigned int c) {
    unsigned long long n = (unsigned long long)b * c;
    for (unsigned long long t = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; t < n;
         t += (unsigned long long)gridDim.x * blockDim.x) {
        float k = dl[0] * coef[t / c] * 2.0f / (float)c;
        dp[t] += k * (p[t] - y[t]);
    }
}

// ℓ(z, y) = max(z, 0) − z·y + ln(1 + e^(−|z|)) in double;  L = Σ_i c_i · (1/C) Σ_j ℓ
extern "C" __global__ void bce_fwd_f32(float *loss, const float *z, const float *y,
                                       const float *coef, unsigned int b, unsigned int c) {
    __shared__ double buf[32];
    unsigned long long n = (unsigned long long)b * c;
    double acc = 0.0;
    for (unsigned long long t = threadIdx.x; t < n; t += blockDim.x) {
        double zd = (double)z[t], yd = (double)y[t];
        double l = fmax(zd, 0.0) - zd * yd + log1p(exp(-fabs(zd)));
        acc += (double)coef[t / c] * l / (double)c;
    }
    acc = block_sum(acc, buf);
    if (threadIdx.x == 0) loss[0] = (float)acc;
}

// dz += dl[0] · c_i · (1/C) · (σ(z) − y)
extern "C" __global__ void bce_bwd_f32(float *dz, const float *dl, const float *z, const float *y,
                                       const float *coef, unsigned int b, unsigned int c) {
    unsigned long long n = (unsigned long long)b * c;
    for (unsigned long long t = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; t < n;
         t += (unsigned long long)gridDim.x * blockDim.x) {
        float k = dl[0] * coef[t / c] / (float)c;
        dz[t] += k * (unary_f(UNARY_SIGMOID, z[t]) - y[t]);
    }
}

// p_i = softmax(z_i);  L = Σ_i c_i · (lse(z_i) − z_{i, y_i})
//   p, z: (B, V); classes: (B,); coef: (B,). One warp per row, rows strided over the warps
//   of the single block; lse in double as the CPU twin.
extern "C" __global__ void softmax_ce_fwd_f32(float *loss, float *p, const float *z,
                                              const unsigned int *classes, const float *coef,
                                              unsigned int b, unsigned int v) {
    __shared__ double buf[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    double acc = 0.0;
    for (unsigned int i = warp; i < b; i += nw) {
        const float *zi = z + (unsigned long long)i * v; // (V,)
        float *pi = p + (unsigned long long)i * v;       // (V,)
        float m = NEG_INF;
        for (unsigned int j = lane; j < v; j += 32) m = fmaxf(m, zi[j]);
        m = warp_max(m);
        float s = 0.0f;
        double sd = 0.0;
        for (unsigned int j = lane; j < v; j += 32) {
            s += expf(zi[j] - m);
            sd += exp((double)zi[j] - (double)m);
        }
        s = warp_sum(s);
        sd = warp_sum(sd);
        float inv = 1.0f / s;
        for (unsigned int j = lane; j < v; j += 32) pi[j] = expf(zi[j] - m) * inv;
        if (lane == 0) {
            double lse = (double)m + log(sd);
            acc += (double)coef[i] * (lse - (double)zi[classes[i]]);
        }
    }
    acc = block_sum(acc, buf);
    if (threadIdx.x == 0) loss[0] = (float)acc;
}

// dz += dl[0] · c_i · (p − onehot(y))
extern "C" __global__ void softmax_ce_bwd_f32(float *dz, const float *dl, const float *p,
                                              const unsigned int *classes, const float *coef,
                                              unsigned int b, unsigned int v) {
    unsigned long long n = (unsigned long long)b * v;
    for (unsigned long long t = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; t < n;
         t += (unsigned long long)gridDim.x * blockDim.x) {
        unsigned long long i = t / v, u = t % v;
        float onehot = u == classes[i] ? 1.0f : 0.0f;
        dz[t] += dl[0] * coef[i] * (p[t] - onehot);
    }
}
