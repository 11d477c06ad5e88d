//! The run configuration: the TOML file a practitioner writes to train on a data set.
//!
//! ```toml
//! [data]                 # files and how to read them       → DataConfig
//! [[features]]           # one per input column             → FeatureConfig
//! [[tasks]]              # one per prediction target        → TaskConfig
//! [split]                # train / valid / test             → SplitConfig
//! [model]                # architecture and widths          → ModelConfig
//! [train]                # optimiser, schedule, balancing   → RunTrainConfig
//! [train.early_stopping] #                                  → EarlyStopping
//! ```
//!
//! Every table rejects unknown keys. Errors in the file read
//! `configs/x.toml:12:1: key `train.epochz`: unknown field `epochz`; expected one of ...`.
//! `docs/config.md` documents every field; `configs/example.toml` is a commented
//! example. This module only describes a run: models and optimisers are built from
//! it elsewhere.
//!
//! ```
//! use mtrec::config::RunConfig;
//! let text = r#"
//! [data]
//! files = ["a.csv"]
//! columns = ["x", "y"]
//! [[features]]
//! name = "x"
//! kind = "numeric"
//! [[tasks]]
//! name = "y"
//! type = "binary"
//! column = "y"
//! "#;
//! let cfg = RunConfig::from_str(text, "inline", &["train.lr=0.01".into()]).unwrap();
//! assert_eq!(cfg.train.lr, 0.01);
//! let again = RunConfig::from_str(&cfg.to_toml_string().unwrap(), "resolved", &[]).unwrap();
//! assert_eq!(again, cfg);
//! ```

pub mod baselines;
pub mod budget;
pub mod cache;
pub mod compress;
pub mod data;
mod groups;
pub mod interactions;
pub mod join;
mod load;
pub mod model;
pub mod monitor;
pub mod recommend;
pub mod task;
pub mod text;
pub mod train;
mod validate;

pub use data::{BadRows, DataConfig, Encoding, FeatureConfig, FeatureKind, Format, Missing, Scale};
pub use groups::glob_match;
pub use join::JoinConfig;
pub use load::apply_override;
pub(crate) use load::parse_as;
pub use model::{Activation, Arch, ModelConfig};
pub use monitor::StopMetric;
pub use task::{SplitConfig, SplitKind, TaskConfig, TaskType};
pub use text::{AdaptorChoice, TextConfig, TextMode};
pub use train::{
    BalanceKind, Direction, EarlyStopping, Metric, OptimizerKind, RunTrainConfig, ScheduleKind,
};

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A whole run: data, features, tasks, split, model and training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub data: DataConfig,
    pub features: Vec<FeatureConfig>,
    pub tasks: Vec<TaskConfig>,
    #[serde(default)]
    pub split: SplitConfig,
    #[serde(default)]
    pub model: ModelConfig,
    #[serde(default)]
    pub train: RunTrainConfig,
    /// `[recommend]`: see [`recommend`] and docs/recommend.md.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommend: Option<recommend::RecommendConfig>,
    /// `baselines = [...]` or `[baselines]`: see [`baselines`] and docs/baselines.md.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baselines: Option<baselines::BaselinesConfig>,
}

impl RunConfig {
    /// Reads, overrides (`key.path=value`, see [`apply_override`]), resolves and
    /// validates the configuration in `path`.
    pub fn from_file(path: impl AsRef<Path>, overrides: &[String]) -> Result<RunConfig> {
        Self::from_file_in(path, overrides, None)
    }

    /// [`RunConfig::from_file`] that may read the header of the first file under
    /// `data_dir` when a `[[features]]` pattern needs the column names.
    pub fn from_file_in(
        path: impl AsRef<Path>,
        overrides: &[String],
        data_dir: Option<&Path>,
    ) -> Result<RunConfig> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: format!("cannot read the run configuration ({e}); check the path"),
        })?;
        Self::from_str_in(&text, &path.display().to_string(), overrides, data_dir)
    }

    /// Like [`RunConfig::from_file`] for `text`; `origin` names it in messages.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str, origin: &str, overrides: &[String]) -> Result<RunConfig> {
        Self::from_str_in(text, origin, overrides, None)
    }

    /// [`RunConfig::from_str`]; `data_dir` as in [`RunConfig::from_file_in`].
    pub fn from_str_in(
        text: &str,
        origin: &str,
        overrides: &[String],
        data_dir: Option<&Path>,
    ) -> Result<RunConfig> {
        let raw: groups::RawRunConfig = parse_as(text, origin, overrides, "docs/config.md")?;
        let (mut cfg, origins) = raw.expand(data_dir)?;
        cfg.resolve();
        cfg.validate().map_err(|e| groups::locate(e, &origins))?;
        Ok(cfg)
    }

    /// Fills the settings whose default depends on another one (`data.delimiter` from
    /// `data.format`, each feature's `missing` from its kind), so that the written
    /// configuration shows every value in effect.
    pub fn resolve(&mut self) {
        self.data.delimiter = Some(self.data.delimiter_char());
        for f in &mut self.features {
            f.missing = Some(f.missing_policy());
        }
    }

    /// Cross-field checks; the error names the key (`tasks[1].column`) and the fix.
    /// Column names are checked when `data.columns` lists them; for files with a
    /// header call [`RunConfig::validate_columns`] once the header is read.
    pub fn validate(&self) -> Result<()> {
        validate::validate(self)
    }

    /// Checks that every feature, task column and `split.time_column` is in `names`.
    pub fn validate_columns(&self, names: &[String]) -> Result<()> {
        validate::validate_columns(self, names)
    }

    /// The columns this run reads, each once, in order: features, task columns,
    /// `split.time_column`.
    pub fn needed_columns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let all = self.features.iter().map(|f| f.name.as_str());
        let all = all.chain(self.tasks.iter().map(|t| t.column.as_str()));
        let text = self
            .features
            .iter()
            .filter_map(|f| f.text.as_ref().map(|t| t.column.as_str()));
        let all = all.chain(text).chain(self.split.item_column.as_deref());
        for n in all
            .chain(self.split.time_column.as_deref())
            .chain(self.split.column.as_deref())
        {
            if !out.contains(&n) {
                out.push(n);
            }
        }
        out
    }

    /// The resolved configuration as TOML (every default written out); loading it
    /// back gives an equal `RunConfig`. The run folder keeps it as `config.toml`.
    pub fn to_toml_string(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| Error::Config {
            what: "run configuration".into(),
            message: format!("cannot be written as TOML ({e}); this is a bug, please report it"),
        })
    }
}
