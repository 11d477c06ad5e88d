//! `[[tasks]]` and `[split]`: what is predicted, from which column, and how rows are
//! divided into training, validation and test sets.

use serde::{Deserialize, Serialize};

/// The kind of target a task predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskType {
    /// Label in {0, 1}; loss BCE-with-logits; metrics AUC, log-loss.
    Binary,
    /// Real-valued label; loss MSE; metrics RMSE, MAE.
    Regression,
}

/// `[[tasks]]`: one prediction target.
///
/// A binary task's label is 1 iff the (trimmed) field text is in `positive`, or, with
/// `threshold`, iff the field's number is ≥ `threshold`; with neither, the field must
/// read `0` or `1`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskConfig {
    /// Unique name, used in metrics, logs and `train.early_stopping.task`.
    pub name: String,
    #[serde(rename = "type")]
    pub kind: TaskType,
    /// The column the label is read from.
    pub column: String,
    /// Binary: field texts that mean label 1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub positive: Vec<String>,
    /// Binary: label 1 iff the number is ≥ this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// λ_k, the weight of this task's loss under `train.balance = "fixed"`.
    #[serde(default = "one")]
    pub weight: f64,
}

/// How rows are assigned to the splits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitKind {
    /// A seeded shuffle, then the first `train` fraction, the next `valid` fraction.
    #[default]
    Random,
    /// Sorted by `time_column` (oldest first), then cut by the fractions.
    Temporal,
    /// Each file belongs to one split (`train_files`, `valid_files`, `test_files`).
    Files,
    /// Cold start: a seeded `holdout` fraction of the distinct values of `item_column`
    /// is held out entirely (all their rows form the `cold` set); the other rows are
    /// split at random into train / valid / test (warm) like `random`.
    ItemHoldout,
    /// By the text in `column`: `train`, `valid` or `test` (the interactions loader
    /// writes such a column, `set`).
    Column,
}

/// `[split]`: training / validation / test sets. Test gets what is left.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitConfig {
    #[serde(default)]
    pub kind: SplitKind,
    /// Seeds the shuffle of `kind = "random"`.
    #[serde(default = "default_split_seed")]
    pub seed: u64,
    /// Fraction of rows for training, in (0, 1].
    #[serde(default = "default_train")]
    pub train: f64,
    /// Fraction of rows for validation, in [0, 1); `train + valid ≤ 1`.
    #[serde(default = "default_valid")]
    pub valid: f64,
    /// `kind = "temporal"`: a numeric column; smaller values go to training.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_column: Option<String>,
    /// `kind = "files"`: entries of `data.files` whose rows are training rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub train_files: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub valid_files: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test_files: Vec<String>,
    /// `kind = "item_holdout"`: the column whose values (items) are held out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_column: Option<String>,
    /// `kind = "item_holdout"`: fraction of the distinct items held out, in (0, 1).
    #[serde(default = "default_holdout")]
    pub holdout: f64,
    /// `kind = "column"`: the column holding `train` / `valid` / `test`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
}

impl Default for SplitConfig {
    fn default() -> Self {
        SplitConfig {
            kind: SplitKind::Random,
            seed: default_split_seed(),
            train: default_train(),
            valid: default_valid(),
            time_column: None,
            train_files: Vec::new(),
            valid_files: Vec::new(),
            test_files: Vec::new(),
            item_column: None,
            holdout: default_holdout(),
            column: None,
        }
    }
}

fn default_holdout() -> f64 {
    0.2
}

fn one() -> f64 {
    1.0
}

fn default_split_seed() -> u64 {
    2024
}

fn default_train() -> f64 {
    0.8
}

fn default_valid() -> f64 {
    0.1
}
