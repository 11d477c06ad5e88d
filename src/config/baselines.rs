//! The reference models that `mtrec train` and `mtrec seq` score beside the model on the
//! same split (see `crate::baselines` and docs/baselines.md).
//!
//! Either a list at the top of the run config (before the first `[section]`):
//!
//! ```toml
//! baselines = ["popularity", "biases"]   # [] skips them
//! ```
//!
//! or a section with the columns and the two constants:
//!
//! ```toml
//! [baselines]
//! models = ["popularity", "biases"]      # unset: every one whose columns are found
//! user_column = "user_id"                # default: [recommend] user_column, else `user_id`
//! item_column = "item_id"                # default: [recommend] item_column, else `item_id`
//! smoothing = 10.0                       # α of popularity
//! lambda = 10.0                          # λ of biases
//! ```

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// One reference model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BaselineKind {
    /// Per task, the item's training mean (positive rate) shrunk toward the global one.
    Popularity,
    /// μ + b_user + b_item, ridge least squares (logistic for binary tasks).
    Biases,
    /// `mtrec seq` only: first-order item-to-item counts, popularity breaking ties.
    Transition,
}

impl BaselineKind {
    pub fn name(self) -> &'static str {
        match self {
            BaselineKind::Popularity => "popularity",
            BaselineKind::Biases => "biases",
            BaselineKind::Transition => "transition",
        }
    }
}

/// α of `popularity`: (Σy + α·ȳ) / (n + α).
pub const DEFAULT_SMOOTHING: f64 = 10.0;
/// λ of `biases`: the ridge penalty on every user and item bias.
pub const DEFAULT_LAMBDA: f64 = 10.0;

/// `baselines = [...]` or `[baselines]` of a run config.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselinesTable {
    /// Which baselines; unset: every tabular one whose columns are found; `[]`: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<Vec<BaselineKind>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_column: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_column: Option<String>,
    /// α of `popularity` [default 10].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoothing: Option<f64>,
    /// λ of `biases` [default 10].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda: Option<f64>,
}

/// The `baselines` setting, read from a list or a table (written back as a table).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct BaselinesConfig(pub BaselinesTable);

impl<'de> Deserialize<'de> for BaselinesConfig {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BaselinesConfig;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of baselines (\"popularity\", \"biases\", \"transition\") or a [baselines] table")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                let models =
                    Vec::<BaselineKind>::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(BaselinesConfig(BaselinesTable {
                    models: Some(models),
                    ..BaselinesTable::default()
                }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                BaselinesTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(BaselinesConfig)
            }
        }
        de.deserialize_any(V)
    }
}

impl BaselinesConfig {
    pub fn smoothing(&self) -> f64 {
        self.0.smoothing.unwrap_or(DEFAULT_SMOOTHING)
    }
    pub fn lambda(&self) -> f64 {
        self.0.lambda.unwrap_or(DEFAULT_LAMBDA)
    }

    /// Refuses values the baselines cannot use; `what` names the setting in messages.
    pub fn validate(&self, seq: bool) -> crate::error::Result<()> {
        let bad = |key: &str, message: String| crate::error::Error::Config {
            what: format!("baselines.{key}"),
            message,
        };
        for (key, v) in [("smoothing", self.smoothing()), ("lambda", self.lambda())] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(bad(
                    key,
                    format!("is {v}; expected a finite number ≥ 0 (default 10)"),
                ));
            }
        }
        for &m in self.0.models.iter().flatten() {
            match (m, seq) {
                (BaselineKind::Transition, false) => {
                    return Err(bad(
                        "models",
                        "`transition` ranks next items of sequences: it is a baseline of `mtrec seq`; for `mtrec train` choose from \"popularity\", \"biases\"".into(),
                    ))
                }
                (BaselineKind::Biases, true) => {
                    return Err(bad(
                        "models",
                        "`biases` scores (user, item) pairs of a table: it is a baseline of `mtrec train`; for `mtrec seq` choose from \"transition\", \"popularity\"".into(),
                    ))
                }
                _ => {}
            }
        }
        if seq && (self.0.user_column.is_some() || self.0.item_column.is_some()) {
            return Err(bad(
                "user_column",
                "`mtrec seq` reads users and items from its sequences; remove user_column and item_column".into(),
            ));
        }
        Ok(())
    }
}
