// The plumbing of a lowered tape (src/device/launch.rs): fill, scale, axpy, column-block
// copies, and the ESMM logit product. CPU twins: the Launch::{Fill, Scale, Axpy, AxpyW,
// Cols} arms of the host backend (plain loops), src/ops/logit_product.rs
// (logit_product_forward / logit_product_backward).
// One thread per output element, grid-stride loops; backward kernels accumulate (+=).

// out = value                          out: (n,)
extern "C" __global__ void fill_f32(float *out, unsigned int n, float value) {
    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        out[i] = value;
    }
}

// out = c · inp                        out, inp: (n,)
extern "C" __global__ void scale_fwd_f32(float *out, const float *inp, unsigned int n, float c) {
    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        out[i] = c * inp[i];
    }
}

// y += c · x                           y, x: (n,)
extern "C" __global__ void axpy_f32(float *y, const float *x, unsigned int n, float c) {
    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        y[i] += c * x[i];
    }
}

// y += w[k] · x                        y, x: (n,); w: (K,), k < K (the task weights of a step)
extern "C" __global__ void axpy_w_f32(float *y, const float *x, unsigned int n, const float *w,
                                      unsigned int k) {
    float c = w[k];
    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        y[i] += c * x[i];
    }
}

// The column block wide[:, off..off+cn] of a (r, cw) buffer and a narrow (r, cn) buffer:
//   to_wide:  wide[i, off + j] (+)= narrow[i, j]      (concat forward, slice backward)
//   else:     narrow[i, j]     (+)= wide[i, off + j]  (slice forward, concat backward)
// `add` accumulates instead of overwriting. One thread per narrow element.
//   wide: (r, cw); narrow: (r, cn); off + cn ≤ cw
extern "C" __global__ void copy_cols_f32(float *wide, float *narrow, unsigned int r,
                                         unsigned int cw, unsigned int cn, unsigned int off,
                                         int to_wide, int add) {
    unsigned long long n = (unsigned long long)r * cn;
    for (unsigned long long t = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; t < n;
         t += (unsigned long long)gridDim.x * blockDim.x) {
        unsigned long long i = t / cn, j = t % cn;
        unsigned long long w = i * cw + off + j;
        if (to_wide) {
            wide[w] = add ? wide[w] + narrow[t] : narrow[t];
        } else {
            narrow[t] = add ? narrow[t] + wide[w] : wide[w];
        }
    }
}

// The three exponentials of S = e^(−a) + e^(−b) + e^(−a−b), scaled by the largest:
// x = −a, y = −b, z = −a − b, m = max(x, y, z); u = e^(x−m), v = e^(y−m), w = e^(z−m).
// In double, as `terms` in src/ops/logit_product.rs.
__device__ __forceinline__ void logit_product_terms(float a, float b, double *u, double *v,
                                                    double *w, double *m) {
    double x = -(double)a, y = -(double)b, z = -(double)a - (double)b;
    *m = fmax(fmax(x, y), z);
    *u = exp(x - *m);
    *v = exp(y - *m);
    *w = exp(z - *m);
}

// ESMM: out = logit(σ(a)·σ(b)) = −ln(e^(−a) + e^(−b) + e^(−a−b)) = −(m + ln(u + v + w))
//   out, a, b: (n,)
extern "C" __global__ void logit_product_fwd_f32(float *out, const float *a, const float *b,
                                                 unsigned int n) {
    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        double u, v, w, m;
        logit_product_terms(a[i], b[i], &u, &v, &w, &m);
        out[i] = (float)(-(m + log(u + v + w)));
    }
}

// # Derivation
// in the forward pass this was out = −ln S, S = e^(−a) + e^(−b) + e^(−a−b), so
//   ∂out/∂a = (e^(−a) + e^(−a−b))/S = (u + w)/(u + v + w)
//   ∂out/∂b = (e^(−b) + e^(−a−b))/S = (v + w)/(u + v + w)
// da += dy·(u + w)/S, db += dy·(v + w)/S; a NULL da or db is skipped.
//   da, db, dy, a, b: (n,)
extern "C" __global__ void logit_product_bwd_f32(float *da, float *db, const float *dy,
                                                 const float *a, const float *b, unsigned int n) {
    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
        double u, v, w, m;
        logit_product_terms(a[i], b[i], &u, &v, &w, &m);
        double s = u + v + w, g = (double)dy[i];
        if (da) da[i] += (float)(g * (u + w) / s);
        if (db) db[i] += (float)(g * (v + w) / s);
    }
}

// Gradient clipping by global L2 norm (src/optim/clip.rs; CPU twins: the SumSq and
// ClipScale arms of the host backend). A buffer x is either all of it (rows == NULL, n
// elements) or the listed rows of a (v_rows, d) table (n_rows ids; ids ≥ v_rows skipped).

// sq[k] += Σ x²      ONE block: grid-stride, then a block sum in double, added once
extern "C" __global__ void sum_sq_f32(float *sq, unsigned int k, const float *x,
                                      const unsigned int *rows, unsigned int n_rows,
                                      unsigned int d, unsigned int v_rows, unsigned int n) {
    __shared__ double buf[32];
    unsigned long long total = rows ? (unsigned long long)n_rows * d : n;
    double acc = 0.0;
    for (unsigned long long t = threadIdx.x; t < total; t += blockDim.x) {
        float v;
        if (rows) {
            unsigned int r = rows[t / d];
            if (r >= v_rows) continue;
            v = x[(unsigned long long)r * d + t % d];
        } else {
            v = x[t];
        }
        acc += (double)v * (double)v;
    }
    acc = block_sum(acc, buf);
    if (threadIdx.x == 0) sq[k] = (float)((double)sq[k] + acc);
}

// ‖g‖ = √sq[k] (double, then float); if ‖g‖ > c: x *= c / (‖g‖ + 1e-6)
extern "C" __global__ void clip_scale_f32(float *x, const unsigned int *rows,
                                          unsigned int n_rows, unsigned int d,
                                          unsigned int v_rows, unsigned int n, const float *sq,
                                          unsigned int k, float c) {
    float norm = (float)sqrt((double)sq[k]);
    if (!(norm > c)) return;
    float s = c / (norm + 1e-6f);
    unsigned long long total = rows ? (unsigned long long)n_rows * d : n;
    for (unsigned long long t = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x;
         t < total; t += (unsigned long long)gridDim.x * blockDim.x) {
        if (rows) {
            unsigned int r = rows[t / d];
            if (r >= v_rows) continue;
            x[(unsigned long long)r * d + t % d] *= s;
        } else {
            x[t] *= s;
        }
    }
}
