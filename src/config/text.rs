//! `[features.text]`: a text column attached to a categorical id feature (issue #7).
//!
//! ```toml
//! [[features]]
//! name = "item_id"          # the id feature the text describes
//! kind = "categorical"
//! dim = 16
//! [features.text]
//! column = "title"          # the text of each row's item
//! mode = "text+id"          # "id" | "text" | "text+id"
//! encoder = "all-MiniLM-L6-v2"
//! adaptor = "moe"           # "linear" | "moe"
//! experts = 4               # moe only
//! dim = 16                  # width of the adaptor's output (default: the feature's dim)
//! ```
//!
//! `encoder` is a model folder: an absolute path, or a path relative to `$MTREC_MODELS`
//! (when set), then to `<data-dir>/../models`, then to the working directory; the first
//! that exists is used (`src/data/features/text.rs`).

use super::data::FeatureKind;
use super::validate::ensure;
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// Which inputs of an id feature with a text the model reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TextMode {
    /// The id embedding only (the text is ignored; no encoder is loaded).
    #[serde(rename = "id")]
    Id,
    /// The adapted text vector only (no id embedding: nothing is learned per id).
    #[serde(rename = "text")]
    Text,
    /// Both, side by side.
    #[serde(rename = "text+id")]
    TextId,
}

impl TextMode {
    /// Whether the id embedding is an input.
    pub fn uses_id(self) -> bool {
        matches!(self, TextMode::Id | TextMode::TextId)
    }

    /// Whether the text vector is an input.
    pub fn uses_text(self) -> bool {
        matches!(self, TextMode::Text | TextMode::TextId)
    }
}

/// The learned map from the frozen text vector to the model's width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdaptorChoice {
    /// `x·W + b`.
    #[default]
    Linear,
    /// UniSRec's parametric-whitening experts and softmax gate (`nn::text_adaptor`).
    Moe,
}

/// `[features.text]` of a categorical feature.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextConfig {
    /// The column holding each row's text (e.g. MovieLens `title`).
    pub column: String,
    pub mode: TextMode,
    /// The sentence-encoder model folder (see the module docs). Required unless mode = "id".
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub encoder: String,
    #[serde(default)]
    pub adaptor: AdaptorChoice,
    /// moe: number of experts E.
    #[serde(default = "default_experts")]
    pub experts: usize,
    /// Output width of the adaptor; 0 = the feature's `dim`.
    #[serde(default)]
    pub dim: usize,
}

fn default_experts() -> usize {
    4
}

/// `[features.text]`: on a categorical feature, with an encoder when the text is used.
pub(super) fn check(
    f: &super::FeatureConfig,
    t: &TextConfig,
    key: &dyn Fn(&str) -> String,
) -> Result<()> {
    ensure(f.kind == FeatureKind::Categorical, &key("text"), || {
        "is set on a feature that is not categorical; attach a text to the id feature it describes (kind = \"categorical\")".into()
    })?;
    ensure(!t.column.is_empty(), &key("text.column"), || {
        "is empty; name the column holding each row's text, e.g. \"title\"".into()
    })?;
    if t.mode.uses_text() {
        ensure(!t.encoder.is_empty(), &key("text.encoder"), || {
            "is missing while text.mode uses the text; name the sentence-encoder model folder, e.g. \"all-MiniLM-L6-v2\" (found under $MTREC_MODELS or <data-dir>/../models)".into()
        })?;
        if t.adaptor == AdaptorChoice::Moe {
            ensure(t.experts >= 1, &key("text.experts"), || {
                "is 0; a moe adaptor needs at least one expert (UniSRec uses 8)".into()
            })?;
        }
    }
    Ok(())
}
