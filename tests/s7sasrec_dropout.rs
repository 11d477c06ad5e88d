//! Dropout masks drawn in bulk (`ops::dropout`: u32s filled at once, then converted) are
//! the masks of one `gen::<f32>()` per element: the same stream, so seeds keep their runs.

use mtrec::autograd::Graph;
use mtrec::tensor::Tensor;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};

#[test]
fn bulk_masks_are_the_per_element_draws() {
    let (r, c, p) = (37, 29, 0.3f32);
    for seed in [0u64, 7, 12345] {
        let mut g = Graph::new(seed);
        g.set_training(true);
        let ones = g.input(&Tensor::from_vec(r, c, vec![1.0; r * c]).unwrap());
        let a = g.dropout(ones, p).unwrap();
        let b = g.dropout(ones, p).unwrap(); // the stream continues across calls
        let mut rng = StdRng::seed_from_u64(seed);
        let keep = 1.0 / (1.0 - p);
        let mut want = || -> Vec<f32> {
            (0..r * c)
                .map(|_| if rng.gen::<f32>() < p { 0.0 } else { keep })
                .collect()
        };
        assert_eq!(g.value(a), want().as_slice(), "seed {seed}, first mask");
        assert_eq!(g.value(b), want().as_slice(), "seed {seed}, second mask");
        let dropped = g.value(a).iter().filter(|&&x| x == 0.0).count();
        assert!((dropped as f32 / (r * c) as f32 - p).abs() < 0.05);
    }
}
