// Row softmax and log-softmax. CPU twin: src/ops/softmax.rs (softmax_forward /
// softmax_backward, log_softmax_forward / log_softmax_backward), same argument order.
// One block per row (grid-stride over rows), blockDim a multiple of 32.

// out = softmax(inp) per row            out, inp: (r, c)
extern "C" __global__ void softmax_fwd_f32(float *out, const float *inp, unsigned int r,
                                           unsigned int c) {
    __shared__ float buf[32];
    for (unsigned int i = blockIdx.x; i < r; i += gridDim.x) {
        const float *x = inp + (unsigned long long)i * c; // (c,)
        float *y = out + (unsigned long long)i * c;       // (c,)
        float m = NEG_INF;
        for (unsigned int j = threadIdx.x; j < c; j += blockDim.x) m = fmaxf(m, x[j]);
        m = block_max(m, buf);
        float z = 0.0f;
        for (unsigned int j = threadIdx.x; j < c; j += blockDim.x) z += expf(x[j] - m);
        z = block_sum(z, buf);
        float inv = 1.0f / z;
        for (unsigned int j = threadIdx.x; j < c; j += blockDim.x) y[j] = expf(x[j] - m) * inv;
    }
}

// dinp += y ⊙ (dout − ⟨dout, y⟩_row)      y = out, the forward output
extern "C" __global__ void softmax_bwd_f32(float *dinp, const float *dout, const float *out,
                                           unsigned int r, unsigned int c) {
    __shared__ float buf[32];
    for (unsigned int i = blockIdx.x; i < r; i += gridDim.x) {
        unsigned long long o = (unsigned long long)i * c;
        float dot = 0.0f;
        for (unsigned int j = threadIdx.x; j < c; j += blockDim.x) dot += out[o + j] * dout[o + j];
        dot = block_sum(dot, buf);
        for (unsigned int j = threadIdx.x; j < c; j += blockDim.x)
            dinp[o + j] += out[o + j] * (dout[o + j] - dot);
    }
}

// out = inp − (m + ln Σ exp(inp − m)) per row, m the row maximum
extern "C" __global__ void log_softmax_fwd_f32(float *out, const float *inp, unsigned int r,
                                               unsigned int c) {
    __shared__ float buf[32];
    for (unsigned int i = blockIdx.x; i < r; i += gridDim.x) {
        const float *x = inp + (unsigned long long)i * c;
        float *y = out + (unsigned long long)i * c;
        float m = NEG_INF;
        for (unsigned int j = threadIdx.x; j < c; j += blockDim.x) m = fmaxf(m, x[j]);
        m = block_max(m, buf);
        float z = 0.0f;
        for (unsigned int j = threadIdx.x; j < c; j += blockDim.x) z += expf(x[j] - m);
        z = block_sum(z, buf);
        float lse = m + logf(z);
        for (unsigned int j = threadIdx.x; j < c; j += blockDim.x) y[j] = x[j] - lse;
    }
}

// dinp += dout − exp(y)·Σ_row dout         y = out, the forward output
extern "C" __global__ void log_softmax_bwd_f32(float *dinp, const float *dout, const float *out,
                                               unsigned int r, unsigned int c) {
    __shared__ float buf[32];
    for (unsigned int i = blockIdx.x; i < r; i += gridDim.x) {
        unsigned long long o = (unsigned long long)i * c;
        float s = 0.0f;
        for (unsigned int j = threadIdx.x; j < c; j += blockDim.x) s += dout[o + j];
        s = block_sum(s, buf);
        for (unsigned int j = threadIdx.x; j < c; j += blockDim.x)
            dinp[o + j] += dout[o + j] - expf(out[o + j]) * s;
    }
}
