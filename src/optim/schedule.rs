//! Learning-rate schedules: linear warm-up followed by a constant, step or cosine decay.
//!
//! # Derivation
//!
//! Steps are counted from 0. With base rate η, warm-up length W and s = step − W:
//!
//! ```text
//! warm-up (step < W):  η(step) = η·(step + 1)/W          reaches η at step W − 1
//! Constant:            η(s)    = η
//! Step {every k, γ}:   η(s)    = η·γ^⌊s/k⌋                multiply by γ every k steps
//! Cosine {T, η_min}:   η(s)    = η_min + (η − η_min)·(1 + cos(π·min(s, T)/T))/2
//! ```
//!
//! Warm-up counts from step + 1 so that the first step is not taken with rate 0. The
//! cosine is half a period of cos from 0 to π, mapped from [1, −1] onto [η, η_min]: it is η
//! at s = 0 (continuous with the end of warm-up, which also reaches η), has zero slope
//! at both ends, reaches η_min at s = T and stays there (SGDR without restarts,
//! Loshchilov & Hutter 2017). The code computes exactly these expressions, in f64 and
//! rounded to f32.

use crate::error::{Error, Result};

/// The decay applied after warm-up.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Schedule {
    /// η(s) = η.
    #[default]
    Constant,
    /// η(s) = η·γ^⌊s/every⌋.
    Step { every: usize, gamma: f32 },
    /// η(s) = η_min + (η − η_min)·(1 + cos(π·min(s, T)/T))/2, T = `total_steps`.
    Cosine { total_steps: usize, min_lr: f32 },
}

/// Base learning rate, linear warm-up and decay schedule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrSchedule {
    pub base_lr: f32,
    /// W: steps 0..W ramp linearly up to `base_lr`; 0 disables warm-up.
    pub warmup_steps: usize,
    pub schedule: Schedule,
}

impl LrSchedule {
    /// A constant learning rate without warm-up.
    pub fn constant(base_lr: f32) -> LrSchedule {
        LrSchedule {
            base_lr,
            warmup_steps: 0,
            schedule: Schedule::Constant,
        }
    }

    /// The learning rate for step `step` (counted from 0). Assumes [`LrSchedule::validate`]
    /// passed; degenerate values (`every = 0`, `total_steps = 0`) are treated as 1 rather
    /// than dividing by zero.
    pub fn lr_at(&self, step: usize) -> f32 {
        let base = self.base_lr as f64;
        if step < self.warmup_steps {
            return (base * (step + 1) as f64 / self.warmup_steps as f64) as f32;
            // η·(step+1)/W
        }
        let s = step - self.warmup_steps;
        let lr = match self.schedule {
            Schedule::Constant => base,
            Schedule::Step { every, gamma } => {
                let k = (s / every.max(1)) as i32; // ⌊s/k⌋ (saturates far beyond any useful γ^k)
                base * (gamma as f64).powi(k)
            }
            Schedule::Cosine {
                total_steps,
                min_lr,
            } => {
                let t = total_steps.max(1) as f64;
                let x = (s as f64).min(t) / t; // min(s, T)/T ∈ [0, 1]
                let min = min_lr as f64;
                min + (base - min) * (1.0 + (std::f64::consts::PI * x).cos()) / 2.0
            }
        };
        lr as f32
    }

    /// Checks every field; the error names the field and says what to change.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: String, message: &str| {
            Err(Error::Config {
                what,
                message: message.into(),
            })
        };
        if !(self.base_lr.is_finite() && self.base_lr > 0.0) {
            return bad(
                format!("`base_lr` = {}", self.base_lr),
                "must be a finite number > 0, e.g. 1e-3 for Adam or 0.1 for SGD",
            );
        }
        match self.schedule {
            Schedule::Constant => Ok(()),
            Schedule::Step { every, gamma } => {
                if every == 0 {
                    return bad(
                        "`every` = 0 in the step schedule".into(),
                        "must be >= 1 (the number of steps between decays)",
                    );
                }
                if !(gamma.is_finite() && gamma > 0.0 && gamma <= 1.0) {
                    return bad(
                        format!("`gamma` = {gamma} in the step schedule"),
                        "must lie in (0, 1], e.g. 0.1 or 0.5",
                    );
                }
                Ok(())
            }
            Schedule::Cosine {
                total_steps,
                min_lr,
            } => {
                if total_steps == 0 {
                    return bad(
                        "`total_steps` = 0 in the cosine schedule".into(),
                        "must be >= 1: the number of steps after warm-up over which to decay",
                    );
                }
                if !(min_lr.is_finite() && min_lr >= 0.0 && min_lr <= self.base_lr) {
                    return bad(
                        format!("`min_lr` = {min_lr} in the cosine schedule"),
                        &format!("must lie in [0, base_lr = {}]", self.base_lr),
                    );
                }
                Ok(())
            }
        }
    }
}
