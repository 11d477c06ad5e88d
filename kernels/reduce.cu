// Sums and means over all elements, each row, or each column.
// CPU twin: src/ops/reduce.rs (reduce_forward / reduce_backward), same argument order.
// Sums accumulate in double and are rounded once, as the CPU twin does.

// Axes; must match `Axis` in src/autograd (All, Rows, Cols) via src/cuda/kernels.rs.
#define AXIS_ALL 0
#define AXIS_ROWS 1
#define AXIS_COLS 2

// out = s·Σ inp along `axis`.          inp: (r, c); out: (1, 1), (r, 1) or (1, c)
// Launch: All → 1 block; Rows → one block per row (grid-stride); Cols → one thread per column.
extern "C" __global__ void reduce_fwd_f32(float *out, const float *inp, unsigned int r,
                                          unsigned int c, int axis, float s) {
    __shared__ double buf[32];
    if (axis == AXIS_ALL) {
        if (blockIdx.x != 0) return;
        unsigned long long n = (unsigned long long)r * c;
        double acc = 0.0;
        for (unsigned long long i = threadIdx.x; i < n; i += blockDim.x) acc += (double)inp[i];
        acc = block_sum(acc, buf);
        if (threadIdx.x == 0) out[0] = (float)(acc * (double)s);
    } else if (axis == AXIS_ROWS) {
        for (unsigned int i = blockIdx.x; i < r; i += gridDim.x) {
            const float *x = inp + (unsigned long long)i * c; // (c,)
            double acc = 0.0;
            for (unsigned int j = threadIdx.x; j < c; j += blockDim.x) acc += (double)x[j];
            acc = block_sum(acc, buf);
            if (threadIdx.x == 0) out[i] = (float)(acc * (double)s);
        }
    } else {
        for (unsigned int j = blockIdx.x * blockDim.x + threadIdx.x; j < c; j += gridDim.x * blockDim.x) {
            double acc = 0.0;
            for (unsigned int i = 0; i < r; ++i) acc += (double)inp[(unsigned long long)i * c + j];
            out[j] = (float)(acc * (double)s);
        }
    }
}

// dinp += s·dout broadcast back along `axis`.        dinp: (r, c)
extern "C" __global__ void reduce_bwd_f32(float *dinp, const float *dout, unsigned int r,
                                          unsigned int c, int axis, float s) {
    unsigned int n = r * c;
    for (unsigned int t = blockIdx.x * blockDim.x + threadIdx.x; t < n; t += gridDim.x * blockDim.x) {
        float d = axis == AXIS_ALL ? dout[0] : (axis == AXIS_ROWS ? dout[t / c] : dout[t % c]);
        dinp[t] += s * d;
    }
}
