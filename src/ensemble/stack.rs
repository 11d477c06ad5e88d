//! The `stack` method's fits on the validation split: a logistic regression per binary
//! task on the members' logits, least squares per regression task on their values.
//!
//! # Derivation (logistic stacking, Newton's method)
//!
//! Rows i = 1..N, features x_i = (1, z_i1, …, z_iM) (a bias and the M members' logits),
//! labels y_i ∈ {0, 1}, parameters β = (b, w_1, …, w_M). With p_i = σ(βᵀx_i) the
//! penalised negative log-likelihood is
//!
//!   L(β) = −Σ_i [y_i ln p_i + (1 − y_i) ln(1 − p_i)] + ½ λ Σ_m w_m²   (the bias is not penalised)
//!
//! and since ∂p_i/∂β = p_i (1 − p_i) x_i,
//!
//!   g = ∂L/∂β   = Σ_i (p_i − y_i) x_i + λ (0, w)
//!   H = ∂²L/∂β² = Σ_i p_i (1 − p_i) x_i x_iᵀ + λ diag(0, 1, …, 1).
//!
//! L is convex (H is positive semi-definite; positive definite for λ > 0 on the w block
//! and for a bias row with any p_i strictly inside (0, 1)), so the Newton step
//! β ← β − H⁻¹ g converges; we take at most [`MAX_NEWTON`] steps and stop when
//! max |Δβ| < 1e-10. λ = [`RIDGE`] · N keeps the weights finite when the validation
//! labels are separable by the members' logits (then the unpenalised optimum is at ∞).
//!
//! # Derivation (least squares)
//!
//! For a regression task, L(β) = ½ Σ_i (βᵀx_i − y_i)² + ½ λ Σ_m w_m², x_i = (1, v_i1, …, v_iM):
//! g = Σ_i (βᵀx_i − y_i) x_i + λ(0, w) = 0 gives the normal equations
//! (Σ_i x_i x_iᵀ + λ diag(0, 1, …, 1)) β = Σ_i y_i x_i: one Newton step from β = 0 is the
//! exact solution, which is what [`fit_least_squares`] solves.

use crate::error::{Error, Result};

/// Most Newton steps of the logistic fit.
pub const MAX_NEWTON: usize = 200;
/// The ridge penalty per validation row: λ = RIDGE · N.
pub const RIDGE: f64 = 1e-4;

/// A fitted combination of one task: `bias + Σ_m weights[m] · x_m`.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    pub bias: f64,
    pub weights: Vec<f64>,
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// The logistic regression of `y` (0/1) on `x[i]` (the M members' logits of row i).
pub fn fit_logistic(x: &[Vec<f64>], y: &[f64], task: &str) -> Result<Fit> {
    let m = check_rows(x, y, task)?;
    let n = x.len();
    let lambda = RIDGE * n as f64;
    let mut beta = vec![0.0; m + 1]; // (1 + M): bias, then one weight per member
    for _ in 0..MAX_NEWTON {
        let mut g = vec![0.0; m + 1]; // (1 + M)
        let mut h = vec![vec![0.0; m + 1]; m + 1]; // (1 + M, 1 + M)
        for (xi, &yi) in x.iter().zip(y) {
            let row = augmented(xi);
            let p = sigmoid(dot(&beta, &row));
            let s = p * (1.0 - p);
            for a in 0..=m {
                g[a] += (p - yi) * row[a];
                for b in 0..=m {
                    h[a][b] += s * row[a] * row[b];
                }
            }
        }
        for a in 1..=m {
            g[a] += lambda * beta[a];
            h[a][a] += lambda;
        }
        h[0][0] += 1e-12; // a bias on rows with p ∈ {0, 1} only: keep H invertible
        let step = solve(h, g, task)?;
        let mut biggest = 0.0f64;
        for (b, delta) in beta.iter_mut().zip(&step) {
            *b -= delta;
            biggest = biggest.max(delta.abs());
        }
        if biggest < 1e-10 {
            break;
        }
    }
    Ok(Fit {
        bias: beta[0],
        weights: beta[1..].to_vec(),
    })
}

/// The (ridge) least-squares fit of `y` on `x[i]` (the M members' values of row i).
pub fn fit_least_squares(x: &[Vec<f64>], y: &[f64], task: &str) -> Result<Fit> {
    let m = check_rows(x, y, task)?;
    let lambda = RIDGE * x.len() as f64;
    let mut h = vec![vec![0.0; m + 1]; m + 1]; // Σ x xᵀ + λ diag(0, 1, …)
    let mut rhs = vec![0.0; m + 1]; // Σ y x
    for (xi, &yi) in x.iter().zip(y) {
        let row = augmented(xi);
        for a in 0..=m {
            rhs[a] += yi * row[a];
            for b in 0..=m {
                h[a][b] += row[a] * row[b];
            }
        }
    }
    for (a, r) in h.iter_mut().enumerate().skip(1) {
        r[a] += lambda;
    }
    let beta = solve(h, rhs, task)?;
    Ok(Fit {
        bias: beta[0],
        weights: beta[1..].to_vec(),
    })
}

fn augmented(xi: &[f64]) -> Vec<f64> {
    let mut row = Vec::with_capacity(xi.len() + 1);
    row.push(1.0);
    row.extend_from_slice(xi);
    row
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn check_rows(x: &[Vec<f64>], y: &[f64], task: &str) -> Result<usize> {
    let m = x.first().map_or(0, Vec::len);
    if x.is_empty() || x.len() != y.len() || x.iter().any(|r| r.len() != m) {
        return Err(Error::Config {
            what: format!("--method stack, task `{task}`"),
            message: format!(
                "the validation split has {} labelled rows of the task; stacking needs at least one (give the members' [split] a validation share with labels of every task, or use --method mean)",
                x.len()
            ),
        });
    }
    Ok(m)
}

/// Solves `a · s = b` by Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>, task: &str) -> Result<Vec<f64>> {
    let n = b.len();
    for c in 0..n {
        let p = (c..n)
            .max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))
            .unwrap_or(c);
        if !a[p][c].is_finite() || a[p][c].abs() <= 1e-300 {
            return Err(Error::Config {
                what: format!("--method stack, task `{task}`"),
                message: "the members' outputs on the validation split are degenerate (a member scores every row the same, or the matrix holds non-finite values); drop that member or use --method mean".into(),
            });
        }
        a.swap(c, p);
        b.swap(c, p);
        for r in c + 1..n {
            let f = a[r][c] / a[c][c];
            let (top, bottom) = a.split_at_mut(r); // row c is in top (c < r)
            for (x, y) in bottom[0][c..n].iter_mut().zip(&top[c][c..n]) {
                *x -= f * y;
            }
            b[r] -= f * b[c];
        }
    }
    let mut s = vec![0.0; n];
    for c in (0..n).rev() {
        let rest: f64 = (c + 1..n).map(|k| a[c][k] * s[k]).sum();
        s[c] = (b[c] - rest) / a[c][c];
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_squares_recovers_an_exact_linear_combination() {
        let x: Vec<Vec<f64>> = (0..50)
            .map(|i| vec![(i as f64).sin(), (i as f64 * 0.3).cos()])
            .collect();
        let y: Vec<f64> = x.iter().map(|r| 0.5 + 2.0 * r[0] - 1.0 * r[1]).collect();
        let f = fit_least_squares(&x, &y, "t").unwrap();
        assert!((f.bias - 0.5).abs() < 1e-2, "{f:?}");
        assert!((f.weights[0] - 2.0).abs() < 1e-2 && (f.weights[1] + 1.0).abs() < 1e-2);
    }

    #[test]
    fn logistic_gradient_is_zero_at_the_fit() {
        let x: Vec<Vec<f64>> = (0..200)
            .map(|i| vec![((i * 37) % 17) as f64 / 4.0 - 2.0])
            .collect();
        let y: Vec<f64> = (0..200)
            .map(|i| (((i * 53) % 11) < 5 + (i % 3)) as u8 as f64)
            .collect();
        let f = fit_logistic(&x, &y, "t").unwrap();
        let lambda = RIDGE * 200.0;
        let (mut g0, mut g1) = (0.0, lambda * f.weights[0]);
        for (xi, yi) in x.iter().zip(&y) {
            let p = sigmoid(f.bias + f.weights[0] * xi[0]);
            g0 += p - yi;
            g1 += (p - yi) * xi[0];
        }
        assert!(g0.abs() < 1e-8 && g1.abs() < 1e-8, "{g0} {g1}");
    }
}
