//! The fused two-tower pair kernel (`recommend::two_tower_fused::mix_fused`) against its
//! unfused twin (sum, activation, gate combine as separate passes): the same mixtures for
//! random partial products, several activations, task counts and pair lists (repeated
//! users and items, pair counts that are not a multiple of the rayon block).

use mtrec::autograd::UnaryFn;
use mtrec::recommend::two_tower::Partials;
use mtrec::recommend::two_tower_fused::{mix_fused, mix_naive};
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
fn recommend_speed_fused_mixture_equals_the_unfused_passes() {
    let mut rng = StdRng::seed_from_u64(11);
    let acts = [
        Some(UnaryFn::Relu),
        Some(UnaryFn::Tanh),
        Some(UnaryFn::Sigmoid),
        None,
    ];
    for (case, &(e, d, k, nu, ni, np)) in [
        (8usize, 64usize, 2usize, 5usize, 40usize, 600usize),
        (3, 7, 1, 2, 3, 1),
        (4, 16, 3, 9, 17, 257),
        (1, 5, 2, 3, 4, 0),
    ]
    .iter()
    .enumerate()
    {
        let users = partials(&mut rng, nu, e, d, k);
        let items = partials(&mut rng, ni, e, d, k);
        let pairs: Vec<(u32, u32)> = (0..np)
            .map(|_| (rng.gen_range(0..nu) as u32, rng.gen_range(0..ni) as u32))
            .collect();
        for &f in &acts {
            let fused = mix_fused(&users, &items, &pairs, e, d, f);
            let naive = mix_naive(&users, &items, &pairs, e, d, f);
            assert_eq!(fused.len(), k);
            for (t, (a, b)) in fused.iter().zip(&naive).enumerate() {
                assert_eq!(a.len(), np * d);
                for (j, (x, y)) in a.iter().zip(b).enumerate() {
                    assert!(
                        (x - y).abs() <= 1e-6 * (1.0 + y.abs()),
                        "case {case} {f:?} task {t} [{j}]: fused {x} vs {y}"
                    );
                }
            }
        }
    }
}

#[test]
fn recommend_speed_fused_mixture_reads_the_right_rows() {
    // one expert of width 1, identity activation, gate weight 1: mix = Pe_u + Qe_i exactly
    let users = Partials {
        rows: 3,
        experts: vec![100.0, 200.0, 300.0],
        gates: vec![vec![0.0; 3]],
    };
    let items = Partials {
        rows: 2,
        experts: vec![1.0, 2.0],
        gates: vec![vec![5.0; 2]],
    };
    let pairs = [(2, 0), (0, 1), (1, 1)];
    let m = mix_fused(&users, &items, &pairs, 1, 1, None);
    assert_eq!(m, vec![vec![301.0, 102.0, 202.0]]);
}
