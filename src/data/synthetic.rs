//! The synthetic two-task regression data of the MMoE paper, whose task relatedness is
//! one number, ρ = cos(w1, w2).
//!
//! J. Ma, Z. Zhao, X. Yi, J. Chen, L. Hong, E. H. Chi, "Modeling Task Relationships in
//! Multi-task Learning with Multi-gate Mixture-of-Experts", KDD 2018, section 4.
//!
//! ```text
//! u1, u2 ∈ R^d     orthonormal: Gram–Schmidt on two N(0, I_d) draws
//! w1 = c·u1        w2 = c·(ρ·u1 + √(1−ρ²)·u2)          so cos(w1, w2) = ρ
//! α_j, β_j ~ N(0, 1), j = 1..m                         shared by both tasks
//! x ~ N(0, I_d)
//! y_i = w_iᵀx + Σ_j sin(α_j·w_iᵀx + β_j) + ε_i,   ε_i ~ N(0, σ²), i = 1, 2
//! ```
//!
//! Draw order from one `StdRng` seeded with `seed`: the two Gaussian vectors (2·d),
//! α (m), β (m), then per sample x (d), ε1, ε2. Changing only ρ therefore keeps x, u1,
//! u2, α, β and ε fixed: data sets for several ρ differ in task relatedness alone.
//! See `docs/synthetic.md`.

use super::dataset::{Dataset, TaskKind};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;
use ndarray_rand::rand_distr::{Distribution, StandardNormal};

/// Parameters of the generator; the defaults are the paper's.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticConfig {
    /// Number of samples N.
    pub n: usize,
    /// Input dimension, the paper's d (paper: 100).
    pub dim: usize,
    /// Cosine between the task weight vectors, in [−1, 1].
    pub rho: f64,
    /// Number of sine terms m (paper: 10).
    pub m: usize,
    /// Scale c of the weight vectors (paper: 1).
    pub c: f64,
    /// Standard deviation σ of the label noise; the paper's N(0, 0.01) is a variance, σ = 0.1.
    pub noise_std: f64,
    pub seed: u64,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            n: 10_000,
            dim: 100,
            rho: 0.5,
            m: 10,
            c: 1.0,
            noise_std: 0.1,
            seed: 0,
        }
    }
}

/// The generated samples and the hidden parameters that produced them.
#[derive(Clone, Debug)]
pub struct SyntheticData {
    /// `x (N, dim)`, `y (N, 2)`, two regression tasks.
    pub data: Dataset,
    /// `(dim)` each.
    pub w1: Vec<f64>,
    pub w2: Vec<f64>,
    /// `(m)` each.
    pub alpha: Vec<f64>,
    pub beta: Vec<f64>,
}

impl SyntheticData {
    /// cos(w1, w2): ρ up to rounding.
    pub fn weight_cosine(&self) -> f64 {
        dot(&self.w1, &self.w2) / (dot(&self.w1, &self.w1).sqrt() * dot(&self.w2, &self.w2).sqrt())
    }

    /// Pearson correlation of the two tasks' labels over the N samples.
    pub fn label_correlation(&self) -> f64 {
        pearson(&self.data.labels(0), &self.data.labels(1))
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Pearson correlation of two equally long samples (0 if either is constant).
pub fn pearson(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len()) as f64;
    let ma = a.iter().map(|&v| v as f64).sum::<f64>() / n;
    let mb = b.iter().map(|&v| v as f64).sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (dx, dy) = (x as f64 - ma, y as f64 - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    if saa == 0.0 || sbb == 0.0 {
        0.0
    } else {
        sab / (saa * sbb).sqrt()
    }
}

fn gaussian(rng: &mut StdRng, n: usize) -> Vec<f64> {
    (0..n).map(|_| StandardNormal.sample(rng)).collect()
}

fn check(cfg: &SyntheticConfig) -> Result<()> {
    let bad = |what: &str, message: String| {
        Err(Error::Config {
            what: format!("synthetic data {what}"),
            message,
        })
    };
    if cfg.n == 0 {
        return bad("n", "ask for at least one sample".into());
    }
    if cfg.dim < 2 {
        return bad(
            "dim",
            format!("two orthogonal directions need dim ≥ 2, got {}", cfg.dim),
        );
    }
    if !(-1.0..=1.0).contains(&cfg.rho) {
        return bad("rho", format!("a cosine lies in [−1, 1], got {}", cfg.rho));
    }
    if !cfg.c.is_finite() {
        return bad("c", format!("must be finite, got {}", cfg.c));
    }
    if !cfg.noise_std.is_finite() || cfg.noise_std < 0.0 {
        return bad(
            "noise_std",
            format!(
                "must be a finite standard deviation ≥ 0, got {}",
                cfg.noise_std
            ),
        );
    }
    Ok(())
}

/// Generates the data set described in the module documentation.
pub fn generate(cfg: &SyntheticConfig) -> Result<SyntheticData> {
    check(cfg)?;
    let (dim, m) = (cfg.dim, cfg.m);
    let mut rng = StdRng::seed_from_u64(cfg.seed);

    // Gram–Schmidt: u1 = g1 / |g1|, u2 = (g2 − (u1·g2)·u1) / |...|.
    let g1 = gaussian(&mut rng, dim); // (dim)
    let g2 = gaussian(&mut rng, dim); // (dim)
    let n1 = dot(&g1, &g1).sqrt();
    let u1: Vec<f64> = g1.iter().map(|v| v / n1).collect(); // (dim)
    let p = dot(&u1, &g2);
    let v: Vec<f64> = g2.iter().zip(&u1).map(|(g, u)| g - p * u).collect(); // (dim)
    let nv = dot(&v, &v).sqrt();
    let u2: Vec<f64> = v.iter().map(|x| x / nv).collect(); // (dim)

    let s = (1.0 - cfg.rho * cfg.rho).max(0.0).sqrt();
    let w1: Vec<f64> = u1.iter().map(|a| cfg.c * a).collect(); // (dim)
    let w2: Vec<f64> = u1
        .iter()
        .zip(&u2)
        .map(|(a, b)| cfg.c * (cfg.rho * a + s * b))
        .collect(); // (dim)
    let alpha = gaussian(&mut rng, m); // (m)
    let beta = gaussian(&mut rng, m); // (m)

    let label = |w: &[f64], x: &[f64], eps: f64| {
        let z = dot(w, x);
        z + alpha
            .iter()
            .zip(&beta)
            .map(|(a, b)| (a * z + b).sin())
            .sum::<f64>()
            + eps
    };
    let mut xs = Vec::with_capacity(cfg.n * dim); // (N, dim)
    let mut ys = Vec::with_capacity(cfg.n * 2); // (N, 2)
    for _ in 0..cfg.n {
        // x is rounded to f32 first, so the labels are exact functions of the stored x.
        let x: Vec<f64> = gaussian(&mut rng, dim)
            .iter()
            .map(|&v| v as f32 as f64)
            .collect(); // (dim)
        let e: Vec<f64> = gaussian(&mut rng, 2)
            .iter()
            .map(|v| cfg.noise_std * v)
            .collect(); // ε1, ε2
        ys.push(label(&w1, &x, e[0]) as f32);
        ys.push(label(&w2, &x, e[1]) as f32);
        xs.extend(x.iter().map(|&v| v as f32));
    }
    let data = Dataset::new(
        Tensor::from_vec(cfg.n, dim, xs)?,
        Tensor::from_vec(cfg.n, 2, ys)?,
        vec![TaskKind::Regression; 2],
    )?;
    Ok(SyntheticData {
        data,
        w1,
        w2,
        alpha,
        beta,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_cosine_is_rho() {
        for rho in [1.0, 0.9, 0.5, 0.0, -0.3] {
            let s = generate(&SyntheticConfig {
                n: 10,
                rho,
                seed: 3,
                ..Default::default()
            })
            .unwrap();
            assert!(
                (s.weight_cosine() - rho).abs() < 1e-5,
                "rho {rho}: cos {}",
                s.weight_cosine()
            );
            let norm = dot(&s.w1, &s.w1).sqrt();
            assert!((norm - 1.0).abs() < 1e-9, "|w1| = {norm}, expected c = 1");
        }
    }

    #[test]
    fn label_correlation_falls_with_rho() {
        let corr: Vec<f64> = [1.0, 0.9, 0.5, 0.0]
            .iter()
            .map(|&rho| {
                generate(&SyntheticConfig {
                    n: 5_000,
                    rho,
                    seed: 11,
                    ..Default::default()
                })
                .unwrap()
                .label_correlation()
            })
            .collect();
        assert!(
            corr[0] > 0.99,
            "ρ = 1 leaves only the noise between the tasks: {corr:?}"
        );
        assert!(
            corr.windows(2).all(|w| w[0] > w[1]),
            "label correlation should fall with ρ: {corr:?}"
        );
    }

    #[test]
    fn same_seed_same_data_and_rho_changes_only_labels() {
        let a = generate(&SyntheticConfig {
            n: 50,
            rho: 0.5,
            seed: 9,
            ..Default::default()
        })
        .unwrap();
        let b = generate(&SyntheticConfig {
            n: 50,
            rho: 0.5,
            seed: 9,
            ..Default::default()
        })
        .unwrap();
        let c = generate(&SyntheticConfig {
            n: 50,
            rho: 0.9,
            seed: 9,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(a.data, b.data);
        assert_eq!(a.data.x, c.data.x);
        assert_eq!(a.data.labels(0), c.data.labels(0));
        assert_ne!(a.data.labels(1), c.data.labels(1));
    }

    #[test]
    fn bad_settings_are_config_errors() {
        for cfg in [
            SyntheticConfig {
                rho: 1.5,
                ..Default::default()
            },
            SyntheticConfig {
                dim: 1,
                ..Default::default()
            },
            SyntheticConfig {
                n: 0,
                ..Default::default()
            },
            SyntheticConfig {
                noise_std: -1.0,
                ..Default::default()
            },
        ] {
            assert!(
                matches!(generate(&cfg), Err(Error::Config { .. })),
                "{cfg:?}"
            );
        }
    }
}
