//! How an ensemble turns its members' raw outputs (logits for binary tasks, values for
//! regression tasks) into one output per task and row.
//!
//! With M members, z_m the member's raw output and w_m = 1/M:
//!
//! | method | binary task (a probability, or a score in [0, 1]) | regression task |
//! |---|---|---|
//! | `mean` | Σ_m w_m σ(z_m) | Σ_m w_m z_m |
//! | `logit_mean` | σ(Σ_m w_m z_m) | Σ_m w_m z_m |
//! | `rank_mean` | Σ_m w_m F_m(z_m) | Σ_m w_m z_m |
//! | `stack` | σ(b + Σ_m w_m z_m), b and w fitted on valid | b + Σ_m w_m z_m, fitted on valid |
//!
//! F_m(s) = (#{r ∈ R_m : r < s} + ½ #{r ∈ R_m : r = s}) / |R_m| is the mid-rank of s among
//! R_m, the member's raw outputs on the validation split (stored in `ensemble.json`), so a
//! row's score does not depend on which other rows are scored with it. It is a rank
//! score, not a calibrated probability. Ranks carry no scale, so regression tasks under
//! `rank_mean` take the plain mean.

use super::stack::{fit_least_squares, fit_logistic};
use super::Method;
use crate::config::TaskType;
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// One task's combination rule as stored in `ensemble.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskRule {
    pub name: String,
    pub kind: TaskType,
    /// Added to the weighted sum (`stack` only; 0 otherwise).
    pub bias: f64,
    /// One weight per member (1/M except under `stack`).
    pub weights: Vec<f64>,
    /// `rank_mean`, binary tasks: each member's sorted raw outputs on the validation
    /// split (R_m above); empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference: Vec<Vec<f32>>,
}

pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Mid-rank of `s` in the sorted `r`, in [0, 1].
pub fn mid_rank(r: &[f32], s: f32) -> f64 {
    if r.is_empty() {
        return 0.5;
    }
    let below = r.partition_point(|&v| v < s);
    let not_above = r.partition_point(|&v| v <= s);
    (below as f64 + 0.5 * (not_above - below) as f64) / r.len() as f64
}

impl TaskRule {
    /// The rule of `method` for one task, fitted on the validation rows: `valid[m][i]` the
    /// raw output of member m on row i, `labels[i]` / `mask[i]` the task's labels there.
    pub fn fit(
        name: &str,
        kind: TaskType,
        method: Method,
        valid: &[Vec<f32>],
        labels: &[f32],
        mask: &[f32],
    ) -> Result<TaskRule> {
        let m = valid.len();
        let mut rule = TaskRule {
            name: name.to_string(),
            kind,
            bias: 0.0,
            weights: vec![1.0 / m as f64; m],
            reference: Vec::new(),
        };
        match (method, kind) {
            (Method::RankMean, TaskType::Binary) => {
                rule.reference = valid
                    .iter()
                    .map(|v| {
                        let mut s: Vec<f32> = v.iter().copied().filter(|x| x.is_finite()).collect();
                        s.sort_by(f32::total_cmp);
                        s
                    })
                    .collect();
            }
            (Method::Stack, _) => {
                // labelled validation rows only; never the test split
                let rows: Vec<usize> = (0..labels.len()).filter(|&i| mask[i] > 0.0).collect();
                let x: Vec<Vec<f64>> = rows
                    .iter()
                    .map(|&i| valid.iter().map(|v| v[i] as f64).collect())
                    .collect();
                let y: Vec<f64> = rows.iter().map(|&i| labels[i] as f64).collect();
                let fit = match kind {
                    TaskType::Binary => fit_logistic(&x, &y, name)?,
                    TaskType::Regression => fit_least_squares(&x, &y, name)?,
                };
                rule.bias = fit.bias;
                rule.weights = fit.weights;
            }
            _ => {}
        }
        Ok(rule)
    }

    /// The ensemble's output for one row from the members' raw outputs `z[m]`: a
    /// probability (or rank score) for a binary task, a value for a regression task.
    pub fn combine(&self, method: Method, z: &[f32]) -> f64 {
        let lin = |f: &dyn Fn(usize, f64) -> f64| -> f64 {
            self.bias
                + self
                    .weights
                    .iter()
                    .enumerate()
                    .map(|(m, w)| w * f(m, z[m] as f64))
                    .sum::<f64>()
        };
        match (self.kind, method) {
            (TaskType::Regression, _) => lin(&|_, v| v),
            (TaskType::Binary, Method::Mean) => lin(&|_, v| sigmoid(v)),
            (TaskType::Binary, Method::LogitMean | Method::Stack) => sigmoid(lin(&|_, v| v)),
            (TaskType::Binary, Method::RankMean) => lin(&|m, _| mid_rank(&self.reference[m], z[m])),
        }
    }
}

/// The raw output (what `task_metrics` reads) of an ensemble output: the logit of a
/// probability kept inside [1e-7, 1 − 1e-7] for a binary task, the value otherwise.
pub fn to_raw(kind: TaskType, v: f64) -> f32 {
    match kind {
        TaskType::Binary => {
            let p = v.clamp(1e-7, 1.0 - 1e-7);
            (p / (1.0 - p)).ln() as f32
        }
        TaskType::Regression => v as f32,
    }
}

/// Every task's ensemble output: `members[m][k][i]` raw outputs → `out[k][i]`.
pub fn combine_all(rules: &[TaskRule], method: Method, members: &[Vec<Vec<f32>>]) -> Vec<Vec<f64>> {
    rules
        .iter()
        .enumerate()
        .map(|(k, rule)| {
            let n = members.first().map_or(0, |m| m[k].len());
            (0..n)
                .map(|i| {
                    let z: Vec<f32> = members.iter().map(|m| m[k][i]).collect();
                    rule.combine(method, &z)
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_method_on_hand_computed_values() {
        let rule = |kind, reference: Vec<Vec<f32>>| TaskRule {
            name: "t".into(),
            kind,
            bias: 0.0,
            weights: vec![0.5, 0.5],
            reference,
        };
        let z = [0.0f32, 3f32.ln()]; // probabilities 0.5 and 0.75
        let b = rule(TaskType::Binary, vec![]);
        assert!((b.combine(Method::Mean, &z) - 0.625).abs() < 1e-6);
        // σ((0 + ln 3)/2) = √3 / (1 + √3)
        let want = 3f64.sqrt() / (1.0 + 3f64.sqrt());
        assert!((b.combine(Method::LogitMean, &z) - want).abs() < 1e-6);
        // mid-ranks: 0 among [-1, 0, 1, 2] is (1 + ½)/4; ln 3 among [0, 2] is 1/2
        let r = rule(
            TaskType::Binary,
            vec![vec![-1.0, 0.0, 1.0, 2.0], vec![0.0, 2.0]],
        );
        assert!((r.combine(Method::RankMean, &z) - (0.375 + 0.5) / 2.0).abs() < 1e-9);
        let reg = rule(TaskType::Regression, vec![]);
        assert!((reg.combine(Method::RankMean, &[1.0, 4.0]) - 2.5).abs() < 1e-9);
    }
}
