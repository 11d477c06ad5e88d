//! `ops::gemm_i8::gemm_u8i8` checks that the kernel it is asked for runs on this CPU
//! before calling its `#[target_feature]` function: a kernel the CPU lacks falls back to
//! the scalar twin ([`runnable`]), so asking for it cannot reach the unsafe call (on a
//! CPU without, say, AVX-512 VNNI the old dispatch executed illegal instructions).

use mtrec::ops::gemm_i8::{
    available, gemm_u8i8, gemm_u8i8_scalar, quantize_rows, runnable, KernelI8, QuantMatrix,
    QuantRows,
};

/// Every kernel the enum names on this target, whether this CPU runs it or not.
fn every_kernel() -> Vec<KernelI8> {
    #[allow(unused_mut)]
    let mut k = vec![KernelI8::Scalar];
    #[cfg(target_arch = "x86_64")]
    k.extend([KernelI8::Avx2, KernelI8::AvxVnni, KernelI8::Avx512Vnni]);
    k
}

#[test]
fn s9tidy_a_kernel_the_cpu_lacks_is_replaced_by_the_scalar_twin() {
    let all = every_kernel();
    // CPUs that run the first n kernels only (the scalar twin always)
    for n in 1..=all.len() {
        let cpu = &all[..n];
        for &k in &all {
            let want = if cpu.contains(&k) {
                k
            } else {
                KernelI8::Scalar
            };
            assert_eq!(runnable(k, cpu), want, "{k:?} on a CPU with {cpu:?}");
        }
    }
    // a CPU with AVX-512 VNNI but no AVX2 (the VNNI flags are independent)
    #[cfg(target_arch = "x86_64")]
    {
        let cpu = [KernelI8::Scalar, KernelI8::Avx512Vnni];
        assert_eq!(runnable(KernelI8::Avx2, &cpu), KernelI8::Scalar);
        assert_eq!(runnable(KernelI8::AvxVnni, &cpu), KernelI8::Scalar);
        assert_eq!(runnable(KernelI8::Avx512Vnni, &cpu), KernelI8::Avx512Vnni);
    }
    // on this CPU: the kernels it runs are used as asked
    for k in available() {
        assert_eq!(runnable(k, &available()), k);
    }
}

#[test]
fn s9tidy_every_kernel_asked_for_gives_the_scalar_integers_on_this_cpu() {
    // asking for any kernel, available or not, gives the scalar twin's integers (an
    // unavailable one through the fallback, without executing its instructions)
    let (b, d_in, d_out) = (7, 37, 29);
    let x: Vec<f32> = (0..b * d_in)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 17.0)
        .collect();
    let w: Vec<f32> = (0..d_in * d_out)
        .map(|i| ((i * 53 % 89) as f32 - 44.0) / 90.0)
        .collect();
    let w = QuantMatrix::quantize("w", &w, d_in, d_out).unwrap();
    let mut q = QuantRows::default();
    quantize_rows(&mut q, &x, b, d_in, w.kp());
    let mut want = vec![0; b * w.np()];
    gemm_u8i8_scalar(&mut want, &q.u, &w, b);
    assert!(want.iter().any(|&v| v != 0));
    for k in every_kernel() {
        let mut acc = vec![-7; b * w.np()];
        gemm_u8i8(k, &mut acc, &q, &w, b);
        assert_eq!(acc, want, "{k:?} (available: {:?})", available());
    }
}
