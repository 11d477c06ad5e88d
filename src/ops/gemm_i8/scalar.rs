//! The portable twin of the AVX2 kernel and the reference the tests compare it with:
//! plain i32 multiply-adds on the row-major int8 weights (not the packed layout).

use super::pack::QuantMatrix;

/// `acc (B, N_p) = u (B, K_p) · r`, columns `D_out..N_p` set to 0: exact integers.
pub fn gemm_u8i8_scalar(acc: &mut [i32], u: &[u8], w: &QuantMatrix, b: usize) {
    let (kp, np, d_out) = (w.kp(), w.np(), w.d_out);
    for i in 0..b {
        acc[i * np..(i + 1) * np].iter_mut().for_each(|a| *a = 0);
        let row = &mut acc[i * np..i * np + d_out];
        for (k, wrow) in w.q.chunks_exact(d_out).enumerate() {
            let x = u[i * kp + k] as i32;
            if x == 0 {
                continue;
            }
            for (a, &r) in row.iter_mut().zip(wrow) {
                *a += x * r as i32;
            }
        }
    }
}
