//! Dynamic Weight Average: weight each task by how slowly its loss went down last epoch.
//!
//! Liu, Johns & Davison, "End-to-End Multi-Task Learning with Attention", CVPR 2019
//! (eq. 7).
//!
//! ```text
//! r_k(t−1) = L_k(t−1) / L_k(t−2)                    per-epoch mean training losses
//! w_k(t)   = K·exp(r_k(t−1)/T) / Σ_i exp(r_i(t−1)/T)
//! L        = Σ_k w_k(t)·L_k                          weights fixed for all of epoch t
//! ```
//!
//! with temperature T > 0 (the paper uses T = 2; large T makes the weights uniform) and
//! `w_k = 1` for the first two epochs (t = 1, 2), before two past losses exist.
//!
//! # Derivation
//!
//! r_k < 1 means task k's loss fell last epoch; a slower task (r_k near or above 1) gets a
//! larger share. The softmax is shifted by its maximum before exponentiating (the ratio
//! is unchanged: `e^(a−m)/Σ e^(b−m) = e^a/Σ e^b`), and scaled by K so Σ_k w_k = K. The
//! weights are constants within an epoch, so the gradient is the fixed-weight one:
//! `∂L/∂θ = Σ_k w_k(t)·∂L_k/∂θ`.

use crate::error::{Error, Result};

/// Settings of DWA.
#[derive(Clone, Debug, PartialEq)]
pub struct DwaConfig {
    /// Temperature T > 0 of the softmax over loss ratios.
    pub temperature: f32,
}

impl Default for DwaConfig {
    fn default() -> Self {
        DwaConfig { temperature: 2.0 }
    }
}

impl DwaConfig {
    pub fn validate(&self) -> Result<()> {
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(Error::Config {
                what: format!("DWA temperature = {}", self.temperature),
                message: "must be a finite number > 0 (the paper uses 2)".into(),
            });
        }
        Ok(())
    }
}

/// The weights for the next epoch from the last two epochs' mean task losses
/// `prev2 = L(t−2)` and `prev1 = L(t−1)` (all > 0).
pub fn dwa_weights(cfg: &DwaConfig, prev2: &[f32], prev1: &[f32]) -> Vec<f32> {
    let k = prev1.len();
    // r_k = L_k(t−1) / L_k(t−2), divided by T
    let z: Vec<f64> = prev1
        .iter()
        .zip(prev2)
        .map(|(&a, &b)| a as f64 / b as f64 / cfg.temperature as f64)
        .collect();
    let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|&x| (x - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|&x| (k as f64 * x / s) as f32).collect()
}

/// DWA's state: the last two epochs' losses and the weights of the current epoch.
#[derive(Clone, Debug)]
pub struct DwaState {
    pub cfg: DwaConfig,
    /// Mean task losses of the epochs seen so far (only the last two are kept).
    pub history: Vec<Vec<f32>>,
    /// w_k(t) for the current epoch.
    pub weights: Vec<f32>,
}

impl DwaState {
    pub fn new(cfg: DwaConfig, k: usize) -> Result<DwaState> {
        cfg.validate()?;
        Ok(DwaState {
            cfg,
            history: Vec::new(),
            weights: vec![1.0; k],
        })
    }

    /// Records the epoch's mean task losses (each finite and > 0) and sets the weights of
    /// the next epoch.
    pub fn end_epoch(&mut self, mean_task_losses: &[f32]) -> Result<()> {
        if let Some(i) = mean_task_losses
            .iter()
            .position(|l| !(l.is_finite() && *l > 0.0))
        {
            return Err(Error::Value {
                op: "DWA end_epoch",
                what: "mean task loss".into(),
                position: i,
                value: mean_task_losses[i] as f64,
                expected: "a finite loss > 0 (DWA divides by last epoch's loss); pass the epoch's mean training loss of each task".into(),
            });
        }
        self.history.push(mean_task_losses.to_vec());
        if self.history.len() > 2 {
            self.history.remove(0);
        }
        if self.history.len() == 2 {
            self.weights = dwa_weights(&self.cfg, &self.history[0], &self.history[1]);
        }
        Ok(())
    }
}
