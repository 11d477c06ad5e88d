// Embedding gather and embedding bag (mean of a bag of rows), forward and scatter-add
// backward. CPU twins: src/ops/gather.rs (gather_forward / gather_backward) and
// src/ops/embedding_bag.rs (embedding_bag_forward / embedding_bag_backward), same argument
// order. The CPU backward adds into a row-sparse `SparseGrad`; on the device the table
// gradient is a dense (V, D) buffer and rows are added with atomicAdd (several samples may
// hit the same row), so the summation order, and the last bits, vary from run to run.
// Ids ≥ V and bag bounds beyond the id list are skipped (read as an empty contribution),
// so a bad id can never make a kernel read or write outside its buffers; the host checks
// ids and offsets before upload and reports them as errors, as the CPU ops do.

// out[b, off + j] = table[idx[b], j]    out: (B, stride); table: (V, D); idx: (B,)
// (stride = D, off = 0: a plain gather; otherwise its columns of a concatenation)
extern "C" __global__ void gather_fwd_f32(float *out, const float *table, const unsigned int *idx,
                                          unsigned int b, unsigned int d, unsigned int v,
                                          unsigned int stride, unsigned int off) {
    unsigned long long n = (unsigned long long)b * d;
    for (unsigned long long t = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; t < n;
         t += (unsigned long long)gridDim.x * blockDim.x) {
        unsigned long long i = t / d, j = t % d;
        unsigned int r = idx[i];
        out[i * stride + off + j] = r < v ? table[(unsigned long long)r * d + j] : 0.0f;
    }
}

// dtable[idx[b], j] += dout[b, off + j]  dtable: (V, D) dense; dout: (B, stride)
extern "C" __global__ void gather_bwd_f32(float *dtable, const float *dout, const unsigned int *idx,
                                          unsigned int b, unsigned int d, unsigned int v,
                                          unsigned int stride, unsigned int off) {
    unsigned long long n = (unsigned long long)b * d;
    for (unsigned long long t = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; t < n;
         t += (unsigned long long)gridDim.x * blockDim.x) {
        unsigned long long i = t / d, j = t % d;
        unsigned int r = idx[i];
        if (r < v) atomicAdd(&dtable[(unsigned long long)r * d + j], dout[i * stride + off + j]);
    }
}

// out[b, :] = (1/n_b) Σ_{j ∈ bag b} table[ids[j], :]  (0 for an empty bag)
//   out: (B, D); table: (V, D); offsets: (B + 1); ids: (offsets[B],)
extern "C" __global__ void embedding_bag_fwd_f32(float *out, const float *table,
                                                 const unsigned int *offsets,
                                                 const unsigned int *ids, unsigned int b,
                                                 unsigned int d, unsigned int v,
                                                 unsigned int n_ids) {
    unsigned long long n = (unsigned long long)b * d;
    for (unsigned long long t = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; t < n;
         t += (unsigned long long)gridDim.x * blockDim.x) {
        unsigned long long i = t / d, c = t % d;
        unsigned int o1 = min(offsets[i + 1], n_ids), o0 = min(offsets[i], o1);
        float s = 0.0f;
        for (unsigned int j = o0; j < o1; ++j)
            if (ids[j] < v) s += table[(unsigned long long)ids[j] * d + c];
        out[t] = o1 > o0 ? s * (1.0f / (float)(o1 - o0)) : 0.0f;
    }
}

// dtable[ids[j], :] += dout[b, :] / n_b for every occurrence j of bag b
extern "C" __global__ void embedding_bag_bwd_f32(float *dtable, const float *dout,
                                                 const unsigned int *offsets,
                                                 const unsigned int *ids, unsigned int b,
                                                 unsigned int d, unsigned int v,
                                                 unsigned int n_ids) {
    unsigned long long n = (unsigned long long)b * d;
    for (unsigned long long t = blockIdx.x * (unsigned long long)blockDim.x + threadIdx.x; t < n;
         t += (unsigned long long)gridDim.x * blockDim.x) {
        unsigned long long i = t / d, c = t % d;
        unsigned int o1 = min(offsets[i + 1], n_ids), o0 = min(offsets[i], o1);
        if (o1 <= o0) continue;
        float g = dout[t] * (1.0f / (float)(o1 - o0));
        for (unsigned int j = o0; j < o1; ++j)
            if (ids[j] < v) atomicAdd(&dtable[(unsigned long long)ids[j] * d + c], g);
    }
}
