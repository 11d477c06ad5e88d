//! `[data.interactions]`, `[data.negatives]`, `[data.ranking]`: implicit feedback read
//! from interaction logs (`data.loader = "interactions"`, see `src/data/implicit/`).
//!
//! ```toml
//! [data]
//! loader = "interactions"
//! files = ["taobao-userbehavior/UserBehavior-prefix.csv"]
//! [data.interactions]
//! fields = ["user", "item", "category", "behavior", "time"]
//! behaviors = ["pv", "cart", "fav", "buy"]
//! labels = ["click", "cart", "fav", "buy"]
//! split = "leave_last_out"
//! [data.negatives]
//! k = 4
//! sampling = "popularity"
//! [data.ranking]
//! k = [10]
//! ```

use serde::{Deserialize, Serialize};

/// How the (user, item) pairs are divided into train / valid / test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairSplit {
    /// Per user, the latest pair (by its first event) is test, the one before valid,
    /// the rest train (a user with one pair: train only; with two: train and test).
    #[default]
    LeaveLastOut,
    /// One global cut by time: the newest `test` fraction of pairs is test, the
    /// `valid` fraction before it valid, the rest train.
    Time,
}

/// `[data.interactions]`: the layout of the event lines and the split of the pairs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InteractionsConfig {
    /// The fields of each line, in order: `user` and `item` (required), `behavior`,
    /// `time`, `category` (optional), `_` for a field to ignore.
    #[serde(default = "default_fields")]
    pub fields: Vec<String>,
    /// The behaviour values, one label column each, in this order.
    #[serde(default = "default_behaviors")]
    pub behaviors: Vec<String>,
    /// The label column names (default: the behaviours themselves).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Without a `behavior` field: the behaviour of each file of `data.files`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub file_behaviors: Vec<String>,
    #[serde(default)]
    pub split: PairSplit,
    /// `split = "time"`: fraction of pairs for validation.
    #[serde(default = "default_fraction")]
    pub valid: f64,
    /// `split = "time"`: fraction of pairs for test.
    #[serde(default = "default_fraction")]
    pub test: f64,
    /// Keep only the first `max_users` users (in order of their first event); 0 = all.
    #[serde(default)]
    pub max_users: usize,
}

impl Default for InteractionsConfig {
    fn default() -> Self {
        InteractionsConfig {
            fields: default_fields(),
            behaviors: default_behaviors(),
            labels: Vec::new(),
            file_behaviors: Vec::new(),
            split: PairSplit::LeaveLastOut,
            valid: default_fraction(),
            test: default_fraction(),
            max_users: 0,
        }
    }
}

impl InteractionsConfig {
    /// The label column names: `labels`, or the behaviours.
    pub fn label_names(&self) -> &[String] {
        if self.labels.is_empty() {
            &self.behaviors
        } else {
            &self.labels
        }
    }
}

/// How negative items are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    /// Every catalogue item alike.
    #[default]
    Uniform,
    /// Item i with probability ∝ count_i^β (count: training pairs of the item).
    Popularity,
}

/// When the training negatives are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resample {
    /// Anew for every epoch (from (seed, epoch)).
    #[default]
    Epoch,
    /// Once, before training.
    Fixed,
}

/// `[data.negatives]`: negative (user, item) rows, all labels 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NegativesConfig {
    /// Negatives per positive pair of the training split.
    #[serde(default = "default_k")]
    pub k: usize,
    /// Negatives per positive pair of the valid and test splits (fixed; for AUC).
    #[serde(default = "default_k")]
    pub eval_k: usize,
    #[serde(default)]
    pub sampling: Sampling,
    /// `sampling = "popularity"`: the exponent β.
    #[serde(default = "default_beta")]
    pub beta: f64,
    #[serde(default)]
    pub resample: Resample,
    #[serde(default = "default_seed")]
    pub seed: u64,
}

impl Default for NegativesConfig {
    fn default() -> Self {
        NegativesConfig {
            k: default_k(),
            eval_k: default_k(),
            sampling: Sampling::Uniform,
            beta: default_beta(),
            resample: Resample::Epoch,
            seed: default_seed(),
        }
    }
}

/// `[data.ranking]`: ranking evaluation of the test split in `mtrec train`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RankingConfig {
    /// The cut-offs K of HR@K and NDCG@K.
    #[serde(default = "default_ks")]
    pub k: Vec<usize>,
    /// 0: rank each held-out positive among the whole catalogue (less the user's
    /// training items); n > 0: among n sampled items the user never interacted with.
    #[serde(default)]
    pub candidates: usize,
    /// Evaluate at most this many users per behaviour (the first in user order); 0 = all.
    #[serde(default)]
    pub max_users: usize,
    /// Also rank the validation pairs after every epoch (`metrics.jsonl`'s `valid`,
    /// the console line; needed when `train.early_stopping.metric` is a ranking
    /// metric). Written out only when off, so run ids of older configs stay the same.
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub per_epoch: bool,
}

impl Default for RankingConfig {
    fn default() -> Self {
        RankingConfig {
            k: default_ks(),
            candidates: 0,
            max_users: 0,
            per_epoch: true,
        }
    }
}

fn default_true() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn default_fields() -> Vec<String> {
    ["user", "item", "category", "behavior", "time"]
        .map(String::from)
        .to_vec()
}
fn default_behaviors() -> Vec<String> {
    ["pv", "cart", "fav", "buy"].map(String::from).to_vec()
}
fn default_fraction() -> f64 {
    0.1
}
fn default_k() -> usize {
    4
}
fn default_beta() -> f64 {
    0.75
}
fn default_seed() -> u64 {
    7
}
fn default_ks() -> Vec<usize> {
    vec![10]
}
