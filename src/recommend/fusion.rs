//! Fusion of the K task outputs of one (user, item) pair into one ranking score.
//!
//! Each task k gives a value v_k: the probability σ(z_k) of a binary task, the
//! predicted value of a regression task. The scaled value s_k puts both on [0, 1]:
//!
//! ```text
//! binary      s_k = v_k
//! regression  s_k = clamp((v_k − lo_k) / (hi_k − lo_k), 0, 1)   lo, hi: the training
//!                                                                labels' min and max
//! product        score = Π_k s_k^{w_k} = exp(Σ_k w_k · ln max(s_k, 1e-12))
//! sum            score = Σ_k w_k · s_k
//! lexicographic  score = v_r if v_f ≥ threshold, else the candidate is dropped
//! ```
//!
//! `product` with w = (α, β) on (click, conversion) is the usual CTR^α·CVR^β ranking;
//! a weight of 0 leaves a task out. Weights are checked once ([`Fusion::new`]): finite,
//! naming tasks of the run, not all zero.

use super::config::{FusionConfig, FusionKind};
use crate::config::{TaskConfig, TaskType};
use crate::error::{Error, Result};

/// How one task's value is put on [0, 1].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum TaskScale {
    /// Binary: the probability as it is.
    Probability,
    /// Regression: min-max over the training labels.
    MinMax { lo: f32, hi: f32 },
}

impl TaskScale {
    pub fn scale(self, v: f32) -> f32 {
        match self {
            TaskScale::Probability => v,
            TaskScale::MinMax { lo, hi } if hi > lo => ((v - lo) / (hi - lo)).clamp(0.0, 1.0),
            TaskScale::MinMax { .. } => 0.5,
        }
    }
}

/// A validated fusion rule.
#[derive(Clone, Debug, PartialEq)]
pub enum Fusion {
    Product {
        w: Vec<f32>,
    },
    Sum {
        w: Vec<f32>,
    },
    Lexicographic {
        filter: usize,
        threshold: f32,
        rank: usize,
    },
}

fn task_index(tasks: &[TaskConfig], name: &str, key: &str) -> Result<usize> {
    tasks.iter().position(|t| t.name == name).ok_or_else(|| {
        let names: Vec<&str> = tasks.iter().map(|t| t.name.as_str()).collect();
        Error::Config {
            what: key.into(),
            message: format!(
                "names task `{name}`, which the run does not have; its tasks are: {}",
                names.join(", ")
            ),
        }
    })
}

impl Fusion {
    /// Checks `cfg` against the run's tasks.
    pub fn new(cfg: &FusionConfig, tasks: &[TaskConfig]) -> Result<Fusion> {
        match cfg.kind {
            FusionKind::Product | FusionKind::Sum => {
                let mut w = vec![if cfg.weights.is_empty() { 1.0 } else { 0.0 }; tasks.len()];
                for (name, &x) in &cfg.weights {
                    let k = task_index(tasks, name, "recommend.fusion.weights")?;
                    if !x.is_finite() {
                        return Err(Error::Config {
                            what: format!("recommend.fusion.weights.{name}"),
                            message: format!("is {x}; a weight must be a finite number"),
                        });
                    }
                    w[k] = x as f32;
                }
                if w.iter().all(|&x| x == 0.0) {
                    return Err(Error::Config {
                        what: "recommend.fusion.weights".into(),
                        message: "are all 0: give at least one task a non-zero weight".into(),
                    });
                }
                Ok(if cfg.kind == FusionKind::Product {
                    Fusion::Product { w }
                } else {
                    Fusion::Sum { w }
                })
            }
            FusionKind::Lexicographic => {
                let need = |v: &Option<String>, key: &str| {
                    v.clone().ok_or_else(|| Error::Config {
                        what: format!("recommend.fusion.{key}"),
                        message: "is required with kind = \"lexicographic\"".into(),
                    })
                };
                let filter = task_index(
                    tasks,
                    &need(&cfg.filter_task, "filter_task")?,
                    "recommend.fusion.filter_task",
                )?;
                let rank = task_index(
                    tasks,
                    &need(&cfg.rank_task, "rank_task")?,
                    "recommend.fusion.rank_task",
                )?;
                let threshold = cfg.threshold.ok_or_else(|| Error::Config {
                    what: "recommend.fusion.threshold".into(),
                    message: "is required with kind = \"lexicographic\"".into(),
                })?;
                if !threshold.is_finite() {
                    return Err(Error::Config {
                        what: "recommend.fusion.threshold".into(),
                        message: format!("is {threshold}; it must be a finite number"),
                    });
                }
                Ok(Fusion::Lexicographic {
                    filter,
                    threshold: threshold as f32,
                    rank,
                })
            }
        }
    }

    /// The fused score of one pair from its task values `v` (K,), or `None` when the
    /// rule drops the pair.
    pub fn score(&self, v: &[f32], scales: &[TaskScale]) -> Option<f32> {
        match self {
            Fusion::Product { w } => {
                let mut log = 0.0f64;
                for ((&x, &wk), s) in v.iter().zip(w).zip(scales) {
                    if wk != 0.0 {
                        log += wk as f64 * (s.scale(x).max(1e-12) as f64).ln();
                    }
                }
                Some(log.exp() as f32)
            }
            Fusion::Sum { w } => Some(
                v.iter()
                    .zip(w)
                    .zip(scales)
                    .map(|((&x, &wk), s)| wk * s.scale(x))
                    .sum(),
            ),
            Fusion::Lexicographic {
                filter,
                threshold,
                rank,
            } => (v[*filter] >= *threshold).then_some(v[*rank]),
        }
    }

    /// The scales of the run's tasks; `labels[k]` are the training labels of task k.
    pub fn scales(tasks: &[TaskConfig], labels: &[Vec<f32>]) -> Vec<TaskScale> {
        tasks
            .iter()
            .zip(labels)
            .map(|(t, y)| match t.kind {
                TaskType::Binary => TaskScale::Probability,
                TaskType::Regression => {
                    let lo = y.iter().copied().fold(f32::INFINITY, f32::min);
                    let hi = y.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    if lo.is_finite() && hi.is_finite() {
                        TaskScale::MinMax { lo, hi }
                    } else {
                        TaskScale::MinMax { lo: 0.0, hi: 1.0 }
                    }
                }
            })
            .collect()
    }
}
