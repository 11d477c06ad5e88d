//! Parameter initialisers. Every draw comes from the caller's seeded RNG, in row-major
//! order, so the same seed gives the same model.
//!
//! | initialiser | distribution | for |
//! |---|---|---|
//! | Xavier / Glorot uniform | U(−a, a), a = √(6 / (fan_in + fan_out)) | tanh, sigmoid, linear outputs |
//! | Kaiming / He uniform | U(−a, a), a = √(6 / fan_in) | ReLU, GELU |
//! | normal | N(0, std²) | embeddings |
//!
//! Glorot & Bengio, AISTATS 2010; He et al., ICCV 2015.

use ndarray_rand::rand::Rng;
use ndarray_rand::rand_distr::{Distribution, StandardNormal, Uniform};

/// How to draw the initial values of a weight matrix `(fan_in, fan_out)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    XavierUniform,
    KaimingUniform,
    Normal { std: f32 },
    Zeros,
}

impl Init {
    /// `fan_in · fan_out` values, row-major `(fan_in, fan_out)`.
    pub fn draw<R: Rng + ?Sized>(self, rng: &mut R, fan_in: usize, fan_out: usize) -> Vec<f32> {
        match self {
            Init::XavierUniform => xavier_uniform(rng, fan_in, fan_out),
            Init::KaimingUniform => kaiming_uniform(rng, fan_in, fan_out),
            Init::Normal { std } => normal(rng, fan_in * fan_out, std),
            Init::Zeros => vec![0.0; fan_in * fan_out],
        }
    }
}

/// `n` draws from U(−a, a); empty when `n == 0` or `a` is not positive.
fn uniform<R: Rng + ?Sized>(rng: &mut R, n: usize, a: f32) -> Vec<f32> {
    if n == 0 || a.is_nan() || a <= 0.0 {
        return vec![0.0; n];
    }
    let dist = Uniform::new(-a, a);
    (0..n).map(|_| dist.sample(rng)).collect()
}

/// Glorot uniform: U(−a, a) with a = √(6 / (fan_in + fan_out)); `(fan_in, fan_out)` row-major.
pub fn xavier_uniform<R: Rng + ?Sized>(rng: &mut R, fan_in: usize, fan_out: usize) -> Vec<f32> {
    let a = (6.0 / (fan_in + fan_out).max(1) as f32).sqrt();
    uniform(rng, fan_in * fan_out, a)
}

/// He uniform for ReLU: U(−a, a) with a = √(6 / fan_in), so Var(w) = 2 / fan_in.
pub fn kaiming_uniform<R: Rng + ?Sized>(rng: &mut R, fan_in: usize, fan_out: usize) -> Vec<f32> {
    let a = (6.0 / fan_in.max(1) as f32).sqrt();
    uniform(rng, fan_in * fan_out, a)
}

/// `n` draws from N(0, std²).
pub fn normal<R: Rng + ?Sized>(rng: &mut R, n: usize, std: f32) -> Vec<f32> {
    (0..n)
        .map(|_| std * Distribution::<f32>::sample(&StandardNormal, rng))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray_rand::rand::rngs::StdRng;
    use ndarray_rand::rand::SeedableRng;

    #[test]
    fn bounds_and_determinism() {
        let mut rng = StdRng::seed_from_u64(7);
        let w = xavier_uniform(&mut rng, 30, 20);
        let a = (6.0f32 / 50.0).sqrt();
        assert_eq!(w.len(), 600);
        assert!(w.iter().all(|v| v.abs() <= a));
        let k = kaiming_uniform(&mut rng, 30, 20);
        assert!(k.iter().all(|v| v.abs() <= (6.0f32 / 30.0).sqrt()));
        let again = xavier_uniform(&mut StdRng::seed_from_u64(7), 30, 20);
        assert_eq!(w, again);
    }

    #[test]
    fn normal_has_the_requested_spread() {
        let v = normal(&mut StdRng::seed_from_u64(1), 20_000, 0.5);
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / v.len() as f64;
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((var.sqrt() - 0.5).abs() < 0.02, "std {}", var.sqrt());
    }
}
