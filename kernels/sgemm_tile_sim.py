"""A line-by-line NumPy emulation of the tile index arithmetic of kernels/gemm_tile.cuh
(gemm_load / gemm_store / the 8×8 register tile / the masked epilogue), checked against
A·B for ragged shapes and all four transpose cases. It also asserts that the 256 threads'
loads cover each shared-memory tile exactly once. It checks the indexing, not the CUDA
semantics (barriers, float4 alignment): those need a GPU (tests/cuda_parity.rs).

Run (needs numpy; a few minutes): python3 kernels/sgemm_tile_sim.py
"""
import numpy as np
BM=BN=128; BK=8; T=256
def sim(A,B,M,K,N,ta,tb):
    C=np.zeros((M,N),np.float64)
    gx=(N+BN-1)//BN; gy=(M+BM-1)//BM
    for by in range(gy):
        for bx in range(gx):
            m0=by*BM; n0=bx*BN
            acc=np.zeros((T,8,8))
            for k0 in range(0,K,BK):
                As=np.full((BK,BM+4),np.nan); Bs=np.full((BK,BN+4),np.nan)
                for tid in range(T):
                    for l in range(4):
                        idx=tid+T*l
                        m = idx%BM if ta else idx//BK
                        k = idx//BM if ta else idx%BK
                        gm,gk=m0+m,k0+k
                        v=0.0
                        if gm<M and gk<K: v = A[gk*M+gm] if ta else A[gm*K+gk]
                        assert np.isnan(As[k][m]); As[k][m]=v
                        n = idx//BK if tb else idx%BN
                        kb = idx%BK if tb else idx//BN
                        gn,gkb=n0+n,k0+kb
                        w=0.0
                        if gn<N and gkb<K: w = B[gn*K+gkb] if tb else B[gkb*N+gn]
                        assert np.isnan(Bs[kb][n]); Bs[kb][n]=w
                for tid in range(T):
                    tx,ty=tid%16,tid//16
                    rows=[ty*4+i for i in range(4)]+[64+ty*4+i for i in range(4)]
                    cols=[tx*4+j for j in range(4)]+[64+tx*4+j for j in range(4)]
                    for k in range(BK):
                        acc[tid]+=np.outer(As[k][rows],Bs[k][cols])
            for tid in range(T):
                tx,ty=tid%16,tid//16
                for i in range(8):
                    m=m0+(ty*4+i if i<4 else 64+ty*4+i-4)
                    for j in range(8):
                        n=n0+(tx*4+j if j<4 else 64+tx*4+j-4)
                        if m<M and n<N: C[m,n]=acc[tid][i][j]
    return C
rng=np.random.default_rng(0)
for (M,K,N) in [(1,1,1),(3,5,7),(129,17,130),(130,9,3)]:
    for ta in (0,1):
        for tb in (0,1):
            A=rng.uniform(-1,1,M*K); B=rng.uniform(-1,1,K*N)
            Am = A.reshape(K,M).T if ta else A.reshape(M,K)
            Bm = B.reshape(N,K).T if tb else B.reshape(K,N)
            C=sim(A,B,M,K,N,ta,tb)
            err=np.abs(C-Am@Bm).max()
            print(M,K,N,ta,tb,'max err',err); assert err<1e-12
print("ok")
