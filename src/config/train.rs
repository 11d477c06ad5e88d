//! `[train]` and `[train.early_stopping]`: optimiser, learning-rate schedule, epochs,
//! loss balancing and when to stop. Named `RunTrainConfig` so that it does not clash
//! with `crate::train::TrainConfig`, which the training loop takes.

use serde::{Deserialize, Serialize};

/// The optimiser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Stochastic gradient descent, with `momentum` and `nesterov`.
    Sgd,
    /// Adam; `weight_decay` is added to the gradient (L2).
    #[default]
    Adam,
    /// Adam with decoupled weight decay.
    Adamw,
}

/// The learning-rate decay after warm-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// η.
    #[default]
    Constant,
    /// η·γ^⌊s/step_every⌋.
    Step,
    /// Cosine from η down to `min_lr` over the whole run.
    Cosine,
}

/// How the task losses are combined into one objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BalanceKind {
    /// `Σ_k weight_k · L_k` with each task's `weight`.
    #[default]
    Fixed,
    /// Learned homoscedastic uncertainty (Kendall et al., CVPR 2018).
    Uncertainty,
    /// Gradient normalisation with `gradnorm_alpha` (Chen et al., ICML 2018).
    Gradnorm,
    /// Dynamic weight average with `dwa_temperature` (Liu et al., CVPR 2019).
    Dwa,
    /// Projecting conflicting gradients (Yu et al., NeurIPS 2020).
    Pcgrad,
}

/// A validation metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Area under the ROC curve (binary tasks; higher is better).
    #[default]
    Auc,
    /// Binary cross-entropy (binary tasks; lower is better).
    Logloss,
    /// Root mean squared error (regression; lower is better).
    Rmse,
    /// Mean absolute error (regression; lower is better).
    Mae,
}

impl Metric {
    /// Whether the metric is defined for binary tasks (else for regression tasks).
    pub fn for_binary(self) -> bool {
        matches!(self, Metric::Auc | Metric::Logloss)
    }
}

/// Whether larger or smaller metric values are better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Max,
    Min,
    /// `auc` and the ranking metrics → max, every other metric → min.
    #[default]
    Auto,
}

/// `[train.early_stopping]`: stop when the validation metric has not improved for
/// `patience` epochs; the best epoch's parameters are kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStopping {
    /// A task's name, or `"mean"`: the mean of the metric over all tasks.
    #[serde(default = "default_task")]
    pub task: String,
    /// A per-row metric of the validation rows, or a ranking metric (`hr@K`,
    /// `ndcg@K`, `mrr`) of the validation pairs of interactions data.
    #[serde(default)]
    pub metric: super::monitor::StopMetric,
    #[serde(default)]
    pub direction: Direction,
    /// Epochs without improvement before stopping; 0 disables early stopping.
    #[serde(default = "default_patience")]
    pub patience: usize,
}

impl EarlyStopping {
    /// `true` when larger values of the metric are better (resolving `auto`).
    pub fn maximize(&self) -> bool {
        match self.direction {
            Direction::Max => true,
            Direction::Min => false,
            Direction::Auto => self.metric.higher_is_better(),
        }
    }
}

impl Default for EarlyStopping {
    fn default() -> Self {
        EarlyStopping {
            task: default_task(),
            metric: Default::default(),
            direction: Direction::default(),
            patience: default_patience(),
        }
    }
}

/// `[train]`: the optimisation run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunTrainConfig {
    #[serde(default)]
    pub optimizer: OptimizerKind,
    /// Base learning rate η.
    #[serde(default = "default_lr")]
    pub lr: f64,
    #[serde(default)]
    pub weight_decay: f64,
    /// SGD only.
    #[serde(default)]
    pub momentum: f64,
    /// SGD only: Nesterov momentum.
    #[serde(default)]
    pub nesterov: bool,
    /// Clip the global gradient norm to this; 0 = off.
    #[serde(default)]
    pub clip_norm: f64,
    #[serde(default)]
    pub schedule: ScheduleKind,
    /// Steps of linear warm-up to η; 0 = none.
    #[serde(default)]
    pub warmup_steps: usize,
    /// `schedule = "step"`: decay every this many steps.
    #[serde(default = "default_step_every")]
    pub step_every: usize,
    /// `schedule = "step"`: factor γ per decay.
    #[serde(default = "default_step_gamma")]
    pub step_gamma: f64,
    /// `schedule = "cosine"`: the final learning rate.
    #[serde(default)]
    pub min_lr: f64,
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Seeds initial values, shuffling and dropout.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Worker threads; 0 = all cores.
    #[serde(default)]
    pub threads: usize,
    #[serde(default)]
    pub balance: BalanceKind,
    /// GradNorm's α (how strongly slow tasks are pushed).
    #[serde(default = "default_gradnorm_alpha")]
    pub gradnorm_alpha: f64,
    /// DWA's temperature T.
    #[serde(default = "default_dwa_temperature")]
    pub dwa_temperature: f64,
    #[serde(default)]
    pub early_stopping: EarlyStopping,
    /// Transfer: a finished run folder (or a `.safetensors` file) whose parameters
    /// initialise this run by name; parameters it lacks start fresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_from: Option<String>,
    /// Parameter groups left unchanged by training (`"experts"`, `"text_adaptor"`, ...;
    /// see `checkpoint::transfer`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub freeze: Vec<String>,
    /// Layers reading the input layer's embeddings multiply each table's looked-up rows by
    /// their weight block once per distinct id (`ops::embed_linear`; same model, fewer
    /// FLOPs); false records the plain product.
    #[serde(default = "default_true")]
    pub factorize_embeddings: bool,
    /// Memory the run may use, e.g. `"8G"` (binary units); unset: `MemAvailable` of
    /// `/proc/meminfo`. `MTREC_MAX_MEMORY` in the environment takes precedence. The
    /// estimate it is checked against is in `config::budget`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_memory: Option<String>,
    /// Id dropout to the out-of-vocabulary row: each categorical id of a training row is
    /// replaced by 0 with this probability (seeded, training only), so row 0, which cold
    /// and unseen ids get, is trained. 0 = off (written out only when set, so run ids of
    /// older configs stay the same). See `train::run::oov` and docs/math.md.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub oov_dropout: f64,
    /// Gradual magnitude pruning (see `config::compress`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<super::compress::PruneConfig>,
    /// Knowledge distillation: a finished run folder whose outputs are soft labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teacher: Option<String>,
    /// Temperature and weight of the distillation loss (defaults when only `teacher` is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distill: Option<super::compress::DistillConfig>,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn default_true() -> bool {
    true
}

impl Default for RunTrainConfig {
    fn default() -> Self {
        RunTrainConfig {
            optimizer: OptimizerKind::default(),
            lr: default_lr(),
            weight_decay: 0.0,
            momentum: 0.0,
            nesterov: false,
            clip_norm: 0.0,
            schedule: ScheduleKind::default(),
            warmup_steps: 0,
            step_every: default_step_every(),
            step_gamma: default_step_gamma(),
            min_lr: 0.0,
            epochs: default_epochs(),
            batch_size: default_batch_size(),
            seed: default_seed(),
            threads: 0,
            balance: BalanceKind::default(),
            gradnorm_alpha: default_gradnorm_alpha(),
            dwa_temperature: default_dwa_temperature(),
            early_stopping: EarlyStopping::default(),
            init_from: None,
            freeze: Vec::new(),
            factorize_embeddings: true,
            max_memory: None,
            oov_dropout: 0.0,
            prune: None,
            teacher: None,
            distill: None,
        }
    }
}

fn default_task() -> String {
    "mean".into()
}

fn default_patience() -> usize {
    3
}

fn default_lr() -> f64 {
    1e-3
}

fn default_step_every() -> usize {
    1000
}

fn default_step_gamma() -> f64 {
    0.5
}

fn default_epochs() -> usize {
    10
}

fn default_batch_size() -> usize {
    1024
}

fn default_seed() -> u64 {
    1
}

fn default_gradnorm_alpha() -> f64 {
    1.5
}

fn default_dwa_temperature() -> f64 {
    2.0
}
