//! The `[recommend]` section of a run config: which features describe the user and
//! which the item, the item id column, the catalogue, the fusion of the task outputs
//! into one score and the filters. Every key can also be given to `mtrec recommend`.
//!
//! ```toml
//! [recommend]
//! user_column = "user_id"
//! item_column = "item_id"
//! user_features = ["user_id", "gender", "occupation", "age"]
//! item_features = ["item_id", "genres"]
//! catalogue = "items.csv"          # optional: default the training data's items
//! exclude_history = true
//! [recommend.fusion]
//! kind = "product"                 # product | sum | lexicographic
//! weights = { like = 1.0, rating = 0.5 }
//! [recommend.diversity]
//! column = "genres"
//! max_per_value = 3
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn yes() -> bool {
    true
}

/// `[recommend]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecommendConfig {
    /// The column naming the user of a row [default `user_id`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_column: Option<String>,
    /// The column naming the item of a row [default `item_id`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_column: Option<String>,
    /// Features taken from the user (every feature of the run is in exactly one list).
    #[serde(default)]
    pub user_features: Vec<String>,
    /// Features taken from the item.
    #[serde(default)]
    pub item_features: Vec<String>,
    /// A CSV file with a header: one row per item, the item column and every item
    /// feature. Unset: the distinct items of the training split, each with the item
    /// features of its first training row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalogue: Option<String>,
    /// Leave out the items a user interacted with in the training split.
    #[serde(default = "yes")]
    pub exclude_history: bool,
    #[serde(default)]
    pub fusion: FusionConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diversity: Option<DiversityConfig>,
}

impl Default for RecommendConfig {
    fn default() -> Self {
        RecommendConfig {
            user_column: None,
            item_column: None,
            user_features: Vec::new(),
            item_features: Vec::new(),
            catalogue: None,
            exclude_history: true,
            fusion: FusionConfig::default(),
            diversity: None,
        }
    }
}

impl RecommendConfig {
    pub fn user_column(&self) -> &str {
        self.user_column.as_deref().unwrap_or("user_id")
    }
    pub fn item_column(&self) -> &str {
        self.item_column.as_deref().unwrap_or("item_id")
    }
}

/// How the task outputs become one score; see `crate::recommend::fusion`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum FusionKind {
    /// Π s_k^{w_k}.
    #[default]
    Product,
    /// Σ w_k·s_k.
    Sum,
    /// Keep the candidates whose `filter_task` value is ≥ `threshold`, rank them by
    /// `rank_task`.
    Lexicographic,
}

/// `[recommend.fusion]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FusionConfig {
    #[serde(default)]
    pub kind: FusionKind,
    /// Task name → weight (product, sum). Tasks not named get weight 0; an empty
    /// table gives every task weight 1.
    #[serde(default)]
    pub weights: BTreeMap<String, f64>,
    /// lexicographic: the task whose value must reach `threshold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_task: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// lexicographic: the task the kept candidates are ranked by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank_task: Option<String>,
}

/// `[recommend.diversity]`: at most `max_per_value` items per value of `column`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiversityConfig {
    /// An item-side column of the catalogue (e.g. `genres`: its whole text is the value).
    pub column: String,
    pub max_per_value: usize,
}
