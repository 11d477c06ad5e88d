//! The VNNI integer kernels and the fast quantiser (`ops::gemm_i8`): every kernel this CPU
//! runs equals the scalar twin bit for bit (integers, exact), `MTREC_GEMM_I8` caps the
//! dispatch, and the lane-wise activation quantiser and epilogue equal their plain-loop
//! references exactly.

use mtrec::autograd::UnaryFn;
use mtrec::ops::gemm_i8::{
    available, choose, dequantize, dequantize_reference, detect, gemm_u8i8, quantize_rows,
    quantize_rows_reference, KernelI8, QuantMatrix, QuantRows,
};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};
use proptest::prelude::*;

fn draw(rng: &mut StdRng, n: usize, scale: f32, shift: f32) -> Vec<f32> {
    (0..n)
        .map(|_| rng.gen_range(-1.0f32..1.0) * scale + shift)
        .collect()
}

/// The CPU's flags as /proc/cpuinfo lists them (empty where there is none).
fn cpu_flags() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("flags"))
        .unwrap_or("")
        .to_string()
}

/// `acc` of every available kernel (scalar first).
fn accs(q: &QuantRows, w: &QuantMatrix, b: usize) -> Vec<(KernelI8, Vec<i32>)> {
    available()
        .into_iter()
        .map(|k| {
            let mut acc = vec![-7; b * w.np()];
            gemm_u8i8(k, &mut acc, q, w, b);
            (k, acc)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every kernel == scalar, bit for bit: rows past the 8- and 6-row tiles, odd numbers
    /// of 16-column blocks (the AVX-512 kernel's one-block tail), K not a multiple of 4.
    #[test]
    fn every_kernel_equals_the_scalar_twin(b in 1usize..21, d_in in 1usize..90, d_out in 1usize..70,
                                           seed in 0u64..1000, shift in -2.0f32..2.0) {
        let mut rng = StdRng::seed_from_u64(seed);
        let x = draw(&mut rng, b * d_in, 3.0, shift);
        let w = QuantMatrix::quantize("w", &draw(&mut rng, d_in * d_out, 0.5, 0.0), d_in, d_out).unwrap();
        let mut q = QuantRows::default();
        quantize_rows(&mut q, &x, b, d_in, w.kp());
        let all = accs(&q, &w, b);
        for (k, acc) in &all[1..] {
            prop_assert_eq!(acc, &all[0].1, "kernel {:?}", k);
        }
    }

    /// The lane-wise quantiser and epilogue == their plain-loop references exactly, also
    /// with zero rows, one-sided rows and NaN / inf entries.
    #[test]
    fn fast_quantiser_equals_the_reference(b in 1usize..9, d_in in 1usize..70, d_out in 1usize..40,
                                           seed in 0u64..1000, shift in -3.0f32..3.0, special in 0usize..6) {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut x = draw(&mut rng, b * d_in, 2.0, shift);
        match special {
            0 => x[..d_in].iter_mut().for_each(|v| *v = 0.0),
            1 => x[0] = f32::NAN,
            2 => x[d_in - 1] = f32::INFINITY,
            3 => x.iter_mut().for_each(|v| *v = v.abs()), // after a ReLU: z = 0
            _ => {}
        }
        let w = QuantMatrix::quantize("w", &draw(&mut rng, d_in * d_out, 0.5, 0.0), d_in, d_out).unwrap();
        let (mut q1, mut q2) = (QuantRows::default(), QuantRows::default());
        quantize_rows(&mut q1, &x, b, d_in, w.kp());
        quantize_rows_reference(&mut q2, &x, b, d_in, w.kp());
        prop_assert_eq!(&q1.u, &q2.u);
        prop_assert_eq!(&q1.zero, &q2.zero);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&q1.scale), bits(&q2.scale));
        let acc = &accs(&q1, &w, b)[0].1;
        let bias = draw(&mut rng, d_out, 1.0, 0.0);
        for f in [None, Some(UnaryFn::Relu), Some(UnaryFn::Sigmoid)] {
            let (mut o1, mut o2) = (vec![0f32; b * d_out], vec![0f32; b * d_out]);
            dequantize(&mut o1, acc, &q1, &w, &bias, b, f);
            dequantize_reference(&mut o2, acc, &q1, &w, &bias, b, f);
            prop_assert_eq!(bits(&o1), bits(&o2), "activation {:?}", f);
        }
    }
}

/// Saturation extremes on every kernel: all-127 activations against all-±127 columns
/// over a long K, where `maddubs` would saturate with 8-bit activations.
#[test]
fn every_kernel_is_exact_at_the_extremes() {
    let (b, d_in, d_out) = (9, 1001, 33);
    let w: Vec<f32> = (0..d_in * d_out)
        .map(|i| {
            if (i / d_out + i % d_out) % 3 == 0 {
                -1.0
            } else {
                1.0
            }
        })
        .collect();
    let w = QuantMatrix::quantize("w", &w, d_in, d_out).unwrap();
    let q = QuantRows {
        u: vec![127; b * w.kp()],
        scale: vec![1.0; b],
        zero: vec![0; b],
        kp: w.kp(),
    };
    let mut q = q;
    for i in 0..b {
        q.u[i * w.kp() + d_in..(i + 1) * w.kp()].fill(0); // padding columns are 0
    }
    let all = accs(&q, &w, b);
    let want: Vec<i32> = (0..d_out)
        .map(|j| (0..d_in).map(|k| 127 * w.q[k * d_out + j] as i32).sum())
        .collect();
    for (k, acc) in &all {
        for i in 0..b {
            assert_eq!(
                &acc[i * w.np()..i * w.np() + d_out],
                &want[..],
                "kernel {k:?}"
            );
        }
    }
}

/// The kernels the CPU advertises are the ones dispatched: on a CPU with AVX-512 VNNI
/// (AVX-VNNI) the list holds that kernel, and `detect` is the best one `MTREC_GEMM_I8`
/// allows.
#[test]
fn dispatch_finds_the_vnni_kernels_the_cpu_has() {
    let flags = cpu_flags();
    let avail = available();
    assert_eq!(avail[0], KernelI8::Scalar);
    #[cfg(target_arch = "x86_64")]
    {
        let has = |f: &str| flags.split_whitespace().any(|x| x == f);
        if has("avx512_vnni") && has("avx512f") {
            assert!(avail.contains(&KernelI8::Avx512Vnni), "{avail:?}");
        }
        if has("avx_vnni") && has("avx2") {
            assert!(avail.contains(&KernelI8::AvxVnni), "{avail:?}");
        }
        if has("avx2") {
            assert!(avail.contains(&KernelI8::Avx2), "{avail:?}");
        }
        if !has("avx512_vnni") && !has("avx_vnni") {
            eprintln!("note: this CPU has no VNNI; only the AVX2 / scalar kernels are checked");
        }
    }
    let env = std::env::var("MTREC_GEMM_I8").ok();
    let want = choose(&avail, env.as_deref()).unwrap_or(*avail.last().unwrap());
    assert_eq!(detect(), want);
}

/// `MTREC_GEMM_I8` caps the choice at a kernel: the fastest available no faster than it.
#[cfg(target_arch = "x86_64")]
#[test]
fn env_switch_caps_the_kernel() {
    use KernelI8::*;
    let all = [Scalar, Avx2, AvxVnni, Avx512Vnni];
    assert_eq!(choose(&all, None), Ok(Avx512Vnni));
    assert_eq!(choose(&all, Some("")), Ok(Avx512Vnni));
    assert_eq!(choose(&all, Some("avx2")), Ok(Avx2));
    assert_eq!(choose(&all, Some("AVXVNNI")), Ok(AvxVnni));
    assert_eq!(choose(&all, Some("scalar")), Ok(Scalar));
    // a CPU without AVX-VNNI: asking for it falls back to AVX2
    assert_eq!(
        choose(&[Scalar, Avx2, Avx512Vnni], Some("avxvnni")),
        Ok(Avx2)
    );
    // asking for more than the CPU has gives what it has
    assert_eq!(choose(&[Scalar, Avx2], Some("avx512vnni")), Ok(Avx2));
    let err = choose(&all, Some("vnni")).unwrap_err();
    assert!(
        err.contains("avx512vnni") && err.contains("\"vnni\""),
        "{err}"
    );
}
