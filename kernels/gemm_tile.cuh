// The tiled shared-memory SGEMM core shared by matmul.cu and linear_act.cu
// (src/cuda/kernels.rs prepends it after common.cuh). No cuBLAS.
//
//   C = op(A) · op(B)        op(A): (M, K), op(B): (K, N), C: (M, N)
//   op(A) = A (stored (M, K)) or Aᵀ (A stored (K, M)) when ta
//   op(B) = B (stored (K, N)) or Bᵀ (B stored (N, K)) when tb
//
// Block tile 128×128 over (M, N), K in steps of 8; 256 threads, each owning an 8×8
// register tile made of two 4-row halves (rows ty·4 + {0..3} and 64 + ty·4 + {0..3}) times
// two 4-column halves (the same for tx), so the float4 reads of shared memory are free of
// bank conflicts. The next K step's tile is loaded from global memory into registers while
// the current one is multiplied. Ragged edges (M, N, K not multiples of the tile) are
// zero-filled on load and masked on store. Grid: (⌈N/128⌉, ⌈M/128⌉), block: 256.

#define GEMM_BM 128
#define GEMM_BN 128
#define GEMM_BK 8
#define GEMM_THREADS 256

// Global → registers: this thread's 4 elements of the A tile and 4 of the B tile
// for the K step starting at k0 (zero outside the matrices).
__device__ __forceinline__ void gemm_load(float ra[4], float rb[4], const float *A,
                                          const float *B, int M, int K, int N, int ta, int tb,
                                          int m0, int n0, int k0) {
    int tid = threadIdx.x;
#pragma unroll
    for (int l = 0; l < 4; ++l) {
        int idx = tid + GEMM_THREADS * l;
        // A tile (BM, BK): consecutive threads walk the contiguous axis of the stored A.
        int m = ta ? idx % GEMM_BM : idx / GEMM_BK;
        int k = ta ? idx / GEMM_BM : idx % GEMM_BK;
        int gm = m0 + m, gk = k0 + k;
        float v = 0.0f;
        if (gm < M && gk < K)
            v = ta ? A[(unsigned long long)gk * M + gm] : A[(unsigned long long)gm * K + gk];
        ra[l] = v;
        // B tile (BK, BN)
        int n = tb ? idx / GEMM_BK : idx % GEMM_BN;
        int kb = tb ? idx % GEMM_BK : idx / GEMM_BN;
        int gn = n0 + n, gkb = k0 + kb;
        float w = 0.0f;
        if (gn < N && gkb < K)
            w = tb ? B[(unsigned long long)gn * K + gkb] : B[(unsigned long long)gkb * N + gn];
        rb[l] = w;
    }
}

// Registers → shared: As[k][m], Bs[k][n] (k-major so a thread reads 4 m's / n's as a float4).
__device__ __forceinline__ void gemm_store(float (*As)[GEMM_BM + 4], float (*Bs)[GEMM_BN + 4],
                                           const float ra[4], const float rb[4], int ta, int tb) {
    int tid = threadIdx.x;
#pragma unroll
    for (int l = 0; l < 4; ++l) {
        int idx = tid + GEMM_THREADS * l;
        int m = ta ? idx % GEMM_BM : idx / GEMM_BK;
        int k = ta ? idx / GEMM_BM : idx % GEMM_BK;
        As[k][m] = ra[l];
        int n = tb ? idx / GEMM_BK : idx % GEMM_BN;
        int kb = tb ? idx % GEMM_BK : idx / GEMM_BN;
        Bs[kb][n] = rb[l];
    }
}

// Computes this block's tile of op(A)·op(B) and hands each in-range element to
// `epi(row, col, value)`.
template <class Epilogue>
__device__ __forceinline__ void sgemm_tile(const float *A, const float *B, int M, int K, int N,
                                           int ta, int tb, Epilogue epi) {
    __shared__ __align__(16) float As[GEMM_BK][GEMM_BM + 4]; // (BK, BM) + pad
    __shared__ __align__(16) float Bs[GEMM_BK][GEMM_BN + 4]; // (BK, BN) + pad
    int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
    int m0 = blockIdx.y * GEMM_BM, n0 = blockIdx.x * GEMM_BN;
    float acc[8][8]; // (8, 8) register tile
#pragma unroll
    for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;

    float ra[4], rb[4];
    gemm_load(ra, rb, A, B, M, K, N, ta, tb, m0, n0, 0);
    gemm_store(As, Bs, ra, rb, ta, tb);
    __syncthreads();
    for (int k0 = 0; k0 < K; k0 += GEMM_BK) {
        bool more = k0 + GEMM_BK < K;
        if (more) gemm_load(ra, rb, A, B, M, K, N, ta, tb, m0, n0, k0 + GEMM_BK);
#pragma unroll
        for (int k = 0; k < GEMM_BK; ++k) {
            float4 a0 = *reinterpret_cast<const float4 *>(&As[k][ty * 4]);
            float4 a1 = *reinterpret_cast<const float4 *>(&As[k][64 + ty * 4]);
            float4 b0 = *reinterpret_cast<const float4 *>(&Bs[k][tx * 4]);
            float4 b1 = *reinterpret_cast<const float4 *>(&Bs[k][64 + tx * 4]);
            float a[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
            float b[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
            for (int i = 0; i < 8; ++i)
#pragma unroll
                for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        __syncthreads();
        if (more) {
            gemm_store(As, Bs, ra, rb, ta, tb);
            __syncthreads();
        }
    }
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        int m = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + (i - 4));
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            int n = n0 + (j < 4 ? tx * 4 + j : 64 + tx * 4 + (j - 4));
            if (m < M && n < N) epi(m, n, acc[i][j]);
        }
    }
}
