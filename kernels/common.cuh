// Helpers shared by every kernel file: src/cuda/kernels.rs prepends this header to each
// .cu before NVRTC compiles it (NVRTC gets no include path), so the .cu files use these
// without an #include.

#define WARP_FULL 0xffffffffu
#define NEG_INF __int_as_float(0xff800000)

// Sum over the 32 lanes of a warp; every lane gets the total.
template <typename T> __device__ __forceinline__ T warp_sum(T v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(WARP_FULL, v, o);
    return v;
}

// Maximum over the 32 lanes of a warp; every lane gets it.
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(WARP_FULL, v, o));
    return v;
}

// Sum over the block; every thread gets the total. `buf`: 32 elements of shared memory.
// blockDim.x must be a multiple of 32 (the launch wrappers use 256 or 1024). Safe to call
// several times in a row with the same `buf` (the first barrier protects the reuse).
template <typename T> __device__ T block_sum(T v, T *buf) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) buf[warp] = v;
    __syncthreads();
    v = lane < nw ? buf[lane] : (T)0;
    return warp_sum(v);
}

// Maximum over the block; every thread gets it. Same contract as block_sum.
__device__ float block_max(float v, float *buf) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) buf[warp] = v;
    __syncthreads();
    v = lane < nw ? buf[lane] : NEG_INF;
    return warp_max(v);
}

// Unary kinds; must match `UnaryKind` in src/cuda/kernels.rs. IDENTITY is for the fused
// linear layer without an activation (task towers' last layer).
#define UNARY_EXP 0
#define UNARY_LOG 1
#define UNARY_RELU 2
#define UNARY_SIGMOID 3
#define UNARY_TANH 4
#define UNARY_GELU 5
#define UNARY_IDENTITY 6

// Elementwise functions as f / df pairs; CPU twin: `f` / `df` in src/ops/unary.rs.
__device__ __forceinline__ float unary_f(int kind, float x) {
    switch (kind) {
    case UNARY_EXP: return expf(x);
    case UNARY_LOG: return logf(x);
    case UNARY_RELU: return fmaxf(x, 0.0f);
    case UNARY_SIGMOID:
        // Stable on both sides, as the CPU twin: never exponentiates a large positive number.
        if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
        { float e = expf(x); return e / (1.0f + e); }
    case UNARY_TANH: return tanhf(x);
    case UNARY_GELU: {
        // y = x·Φ(x), Φ(x) = ½(1 + erf(x/√2)), in double like the CPU twin.
        double xd = (double)x;
        return (float)(xd * 0.5 * (1.0 + erf(xd * 0.70710678118654752440)));
    }
    default: return x; // UNARY_IDENTITY
    }
}

// f′(x) given x and y = f(x).
__device__ __forceinline__ float unary_df(int kind, float x, float y) {
    switch (kind) {
    case UNARY_EXP: return y;
    case UNARY_LOG: return 1.0f / x;
    case UNARY_RELU: return x > 0.0f ? 1.0f : 0.0f;
    case UNARY_SIGMOID: return y * (1.0f - y);
    case UNARY_TANH: return 1.0f - y * y;
    case UNARY_GELU: {
        // f′ = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π)
        double xd = (double)x;
        double cdf = 0.5 * (1.0 + erf(xd * 0.70710678118654752440));
        double pdf = exp(-0.5 * xd * xd) * 0.39894228040143267794;
        return (float)(cdf + xd * pdf);
    }
    default: return 1.0f; // UNARY_IDENTITY
    }
}
