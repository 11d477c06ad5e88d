//! Every build of the two-tower pair kernel (`two_tower_fused::MixKernel`: portable,
//! AVX2, AVX-512F, as the CPU has them) gives the portable build's floats bit for bit,
//! for random partial products, activations, task counts and widths that are not a
//! multiple of any vector width.

use mtrec::autograd::UnaryFn;
use mtrec::recommend::two_tower::Partials;
use mtrec::recommend::two_tower_fused::{mix_fused, mix_fused_with, MixKernel};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};

fn partials(rng: &mut StdRng, rows: usize, e: usize, d: usize, k: usize) -> Partials {
    let mut v = |n: usize| {
        (0..n)
            .map(|_| rng.gen_range(-3.0f32..3.0))
            .collect::<Vec<_>>()
    };
    Partials {
        rows,
        experts: v(rows * e * d),
        gates: (0..k).map(|_| v(rows * e)).collect(),
    }
}

#[test]
fn every_mix_kernel_build_gives_the_portable_floats() {
    let kernels = MixKernel::available();
    assert_eq!(kernels[0], MixKernel::Portable);
    assert_eq!(MixKernel::detect(), *kernels.last().unwrap());
    eprintln!("mix kernels on this CPU: {kernels:?}");
    let mut rng = StdRng::seed_from_u64(8);
    for &(e, d, k, nu, ni, np) in &[
        (8usize, 64usize, 2usize, 3usize, 50usize, 700usize),
        (3, 7, 1, 2, 5, 33),
        (4, 17, 3, 4, 9, 300),
        (2, 33, 2, 1, 6, 5),
        (5, 16, 2, 2, 3, 0),
    ] {
        let users = partials(&mut rng, nu, e, d, k);
        let items = partials(&mut rng, ni, e, d, k);
        let pairs: Vec<(u32, u32)> = (0..np)
            .map(|_| (rng.gen_range(0..nu) as u32, rng.gen_range(0..ni) as u32))
            .collect();
        for f in [Some(UnaryFn::Relu), Some(UnaryFn::Tanh), None] {
            let want = mix_fused_with(MixKernel::Portable, &users, &items, &pairs, e, d, f);
            for &kernel in &kernels {
                let got = mix_fused_with(kernel, &users, &items, &pairs, e, d, f);
                assert_eq!(got.len(), k);
                for (t, (a, b)) in got.iter().zip(&want).enumerate() {
                    let (a, b): (Vec<u32>, Vec<u32>) = (
                        a.iter().map(|x| x.to_bits()).collect(),
                        b.iter().map(|x| x.to_bits()).collect(),
                    );
                    assert_eq!(a, b, "{kernel:?} e={e} d={d} task {t} {f:?}");
                }
            }
            assert_eq!(mix_fused(&users, &items, &pairs, e, d, f), want);
        }
    }
}
