// Gate combine: the softmax-gated mixture of E expert outputs (MoE / MMoE / PLE), softmax
// and weighted sum fused. CPU twin: src/ops/gate.rs (gate_combine_forward /
// gate_combine_backward). The backward is split: `gate_combine_bwd_f32` (dx, elementwise)
// and `gate_combine_bwd_logits_f32` (dz, one block per row).
// One block per sample row i; the E gate weights of the row sit in dynamic shared memory
// (E floats, `shared_mem_bytes = 4·E` at launch).

// w_i = softmax(z_i); out_i,d += Σ_e w_ie · x_i,eD+d   (accumulates, as the CPU twin)
//   out: (B, D); w: (B, E); x: (B, E·D); z: (B, E)
extern "C" __global__ void gate_combine_fwd_f32(float *out, float *w, const float *x,
                                                const float *z, unsigned int b, unsigned int e,
                                                unsigned int d) {
    extern __shared__ float ws[]; // (E,)
    for (unsigned int i = blockIdx.x; i < b; i += gridDim.x) {
        if (threadIdx.x == 0) {
            // E is small (a handful of experts): one thread, the CPU twin's order.
            const float *zi = z + (unsigned long long)i * e;
            float m = NEG_INF;
            for (unsigned int k = 0; k < e; ++k) m = fmaxf(m, zi[k]);
            float s = 0.0f;
            for (unsigned int k = 0; k < e; ++k) {
                ws[k] = expf(zi[k] - m);
                s += ws[k];
            }
            float inv = 1.0f / s;
            for (unsigned int k = 0; k < e; ++k) {
                ws[k] *= inv;
                w[(unsigned long long)i * e + k] = ws[k];
            }
        }
        __syncthreads();
        const float *xi = x + (unsigned long long)i * e * d; // (E·D,)
        for (unsigned int j = threadIdx.x; j < d; j += blockDim.x) {
            float y = 0.0f;
            for (unsigned int k = 0; k < e; ++k) y += ws[k] * xi[(unsigned long long)k * d + j];
            out[(unsigned long long)i * d + j] += y;
        }
        __syncthreads();
    }
}

// dx_i,eD+d += w_ie · dy_id                 dx: (B, E·D); dout: (B, D); w: (B, E)
extern "C" __global__ void gate_combine_bwd_f32(float *dx, const float *dout, const float *w,
                                                unsigned int b, unsigned int e, unsigned int d) {
    unsigned long long n = (unsigned long long)b * e * d;
    for (unsigned long long t = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; t < n;
         t += (unsigned long long)gridDim.x * blockDim.x) {
        unsigned long long ed = (unsigned long long)e * d;
        unsigned long long i = t / ed, k = (t % ed) / d, j = t % d;
        dx[t] += w[i * e + k] * dout[i * d + j];
    }
}

// a_ie = Σ_d dy_id · x_i,eD+d;  dz_ie += w_ie · (a_ie − Σ_e' w_ie' a_ie')
//   dz: (B, E); dout: (B, D); x: (B, E·D); w: (B, E). Dynamic shared memory: E floats.
extern "C" __global__ void gate_combine_bwd_logits_f32(float *dz, const float *dout,
                                                       const float *x, const float *w,
                                                       unsigned int b, unsigned int e,
                                                       unsigned int d) {
    extern __shared__ float a[]; // (E,)
    __shared__ float buf[32];
    for (unsigned int i = blockIdx.x; i < b; i += gridDim.x) {
        const float *dy = dout + (unsigned long long)i * d;  // (D,)
        const float *xi = x + (unsigned long long)i * e * d; // (E·D,)
        for (unsigned int k = 0; k < e; ++k) {
            float s = 0.0f;
            for (unsigned int j = threadIdx.x; j < d; j += blockDim.x)
                s += dy[j] * xi[(unsigned long long)k * d + j];
            s = block_sum(s, buf);
            if (threadIdx.x == 0) a[k] = s;
        }
        __syncthreads();
        const float *wi = w + (unsigned long long)i * e;
        float wa = 0.0f;
        for (unsigned int k = 0; k < e; ++k) wa += wi[k] * a[k];
        for (unsigned int k = threadIdx.x; k < e; k += blockDim.x)
            dz[(unsigned long long)i * e + k] += wi[k] * (a[k] - wa);
        __syncthreads();
    }
}
