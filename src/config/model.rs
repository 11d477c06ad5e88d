//! `[model]`: which multi-task architecture and its sizes. Only a description; the
//! model is built elsewhere from these numbers.

use serde::{Deserialize, Serialize};

/// The multi-task architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    /// One independent network per task (uses `tower`).
    SingleTask,
    /// One shared MLP (`bottom`) under K towers.
    SharedBottom,
    /// One gate over `num_experts` experts, shared by all towers.
    Omoe,
    /// One softmax gate per task over `num_experts` shared experts (Ma et al., KDD 2018).
    #[default]
    Mmoe,
    /// One extraction level: `shared_experts` shared plus `task_experts` per task.
    Cgc,
    /// `levels` stacked extraction levels (Tang et al., RecSys 2020).
    Ple,
    /// Entire-space CTR × CVR (Ma et al., SIGIR 2018): exactly two binary tasks, click
    /// then purchase.
    Esmm,
    /// Adaptive information transfer along a chain of binary tasks (Xi et al., KDD 2021).
    Aitm,
}

impl Arch {
    /// The name used in the TOML file.
    pub fn name(self) -> &'static str {
        match self {
            Arch::SingleTask => "single_task",
            Arch::SharedBottom => "shared_bottom",
            Arch::Omoe => "omoe",
            Arch::Mmoe => "mmoe",
            Arch::Cgc => "cgc",
            Arch::Ple => "ple",
            Arch::Esmm => "esmm",
            Arch::Aitm => "aitm",
        }
    }
}

/// Nonlinearity between hidden layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    #[default]
    Relu,
    Tanh,
    Gelu,
    Sigmoid,
    /// The identity.
    None,
}

/// `[model]`: architecture and widths. Fields that an architecture does not use are
/// ignored by it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    #[serde(default)]
    pub arch: Arch,
    /// E, experts (omoe, mmoe).
    #[serde(default = "default_num_experts")]
    pub num_experts: usize,
    /// Hidden widths of each expert; the last is the expert's output width.
    #[serde(default = "default_expert")]
    pub expert: Vec<usize>,
    /// Hidden widths of each task tower (an output layer of width 1 is added).
    #[serde(default = "default_tower")]
    pub tower: Vec<usize>,
    /// Hidden widths of the shared bottom (shared_bottom) or each task's bottom (aitm).
    #[serde(default = "default_bottom")]
    pub bottom: Vec<usize>,
    /// Extraction levels (ple).
    #[serde(default = "default_levels")]
    pub levels: usize,
    /// Shared experts per level (cgc, ple).
    #[serde(default = "default_shared_experts")]
    pub shared_experts: usize,
    /// Experts owned by each task per level (cgc, ple).
    #[serde(default = "default_task_experts")]
    pub task_experts: usize,
    #[serde(default)]
    pub activation: Activation,
    /// Probability of zeroing a hidden unit during training, in [0, 1).
    #[serde(default)]
    pub dropout: f64,
    /// α, weight of the label-constraint term (aitm).
    #[serde(default = "default_constraint_weight")]
    pub constraint_weight: f64,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            arch: Arch::default(),
            num_experts: default_num_experts(),
            expert: default_expert(),
            tower: default_tower(),
            bottom: default_bottom(),
            levels: default_levels(),
            shared_experts: default_shared_experts(),
            task_experts: default_task_experts(),
            activation: Activation::default(),
            dropout: 0.0,
            constraint_weight: default_constraint_weight(),
        }
    }
}

fn default_num_experts() -> usize {
    8
}

fn default_expert() -> Vec<usize> {
    vec![64]
}

fn default_tower() -> Vec<usize> {
    vec![32]
}

fn default_bottom() -> Vec<usize> {
    vec![128]
}

fn default_levels() -> usize {
    2
}

fn default_shared_experts() -> usize {
    4
}

fn default_task_experts() -> usize {
    2
}

fn default_constraint_weight() -> f64 {
    0.6
}
