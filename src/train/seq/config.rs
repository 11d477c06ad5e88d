//! The run configuration of `mtrec seq` (TOML), with `--set section.key=value` overrides.
//!
//! ```toml
//! [data]
//! dataset = "amazon-beauty"   # a name; "amazon-beauty" and "ml-100k" are presets
//! dir = "amazon-beauty"       # relative to --data-dir (default $MTREC_DATA or ../shared/data)
//! # any other data set: format = "sequences" (`user item item ...`) or "interactions"
//! # (`user,item[,timestamp]`), file = "...", item_text = "...", encoding = "utf-8",
//! # delimiter = "auto", header = false (docs/sequences.md, "Your own data")
//! seed = 42                   # seeds the item-id shuffle
//! max_len = 50                # most recent items the model reads
//!
//! [model]
//! item_input = "id"           # "id", "text" or "text+id"
//! dim = 64
//! blocks = 2
//! heads = 1
//! dropout = 0.5
//! keywords = 0                # keyword head over the N most common item keywords; 0: off
//! rating_head = false         # MovieLens: rating (MSE) on the next interaction
//! like_head = false           # MovieLens: like = rating ≥ 4 (BCE)
//! text_model = "all-MiniLM-L6-v2"   # under --models-dir, for item_input with text
//! text_cache = ""            # embeddings cache; "": the shared one (text::cache::shared_dir)
//! transition_prior = []      # β candidates of the transition prior (chosen on validation); []: off
//!
//! [train]
//! epochs = 50
//! quick_epochs = 3            # --quick
//! batch_size = 128
//! lr = 0.001
//! weight_decay = 0.0
//! seed = 0
//! patience = 5                # early stopping on validation NDCG@10; 0 = never stop early
//! valid_users = 0             # per-epoch validation on a fixed sample; 0: all users
//! next_item_weight = 1.0
//! rating_weight = 1.0
//! like_weight = 1.0
//! keyword_weight = 0.1
//! exclude_history = false    # true: history items leave the ranking (model and baselines)
//! ```

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeqDataConfig {
    /// Name in logs and summary.json (empty: the folder's name). Without `format`,
    /// `"amazon-beauty"` and `"ml-100k"` select the preset readers.
    #[serde(default)]
    pub dataset: String,
    pub dir: String,
    /// `"sequences"` or `"interactions"` (module `data::sequences::generic`); unset: a preset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The data file inside `dir` [default: `user_sequence.txt` / `interactions.csv`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Item text file inside `dir` (`item<sep>text` per line); unset: no item text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_text: Option<String>,
    /// `"utf-8"` or `"latin-1"`, for the files of `format`.
    #[serde(default = "d_encoding")]
    pub encoding: String,
    /// Field separator of an interactions file: `"auto"`, `","`, `"\t"`, `";"`, `"|"`, `" "`.
    #[serde(default = "d_delimiter")]
    pub delimiter: String,
    /// The interactions file starts with a header line (skipped).
    #[serde(default)]
    pub header: bool,
    /// 1-based field of the timestamp in an interactions file; 0: none (file order).
    #[serde(default = "d_time_column")]
    pub time_column: usize,
    #[serde(default = "d_seed")]
    pub seed: u64,
    #[serde(default = "d_max_len")]
    pub max_len: usize,
    /// Keep this fraction of the users (a seeded random subset; 1: all), e.g. 0.1 for the
    /// transfer experiment's small slice. The item catalogue is unchanged.
    #[serde(default = "d_fraction")]
    #[serde(serialize_with = "f32_as_written")]
    pub user_fraction: f32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeqModelConfig {
    #[serde(default = "d_item_input")]
    pub item_input: String,
    #[serde(default = "d_dim")]
    pub dim: usize,
    #[serde(default = "d_blocks")]
    pub blocks: usize,
    #[serde(default = "d_heads")]
    pub heads: usize,
    #[serde(default = "d_dropout")]
    #[serde(serialize_with = "f32_as_written")]
    pub dropout: f32,
    #[serde(default)]
    pub keywords: usize,
    #[serde(default)]
    pub rating_head: bool,
    #[serde(default)]
    pub like_head: bool,
    #[serde(default = "d_text_model")]
    pub text_model: String,
    /// Folder of the embedding cache (relative to the working directory); empty: the
    /// cache every command shares (`$MTREC_CACHE/text`, else `~/.cache/mtrec/text`).
    #[serde(default = "d_text_cache")]
    pub text_cache: String,
    /// Prior weights β to try for `s_j = F·M_jᵀ + β ln(1 + c(a, j))` (`train::seq::eval`):
    /// β is chosen among 0 and these by validation NDCG@10 after training. Empty: off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[serde(serialize_with = "f32s_as_written")]
    pub transition_prior: Vec<f32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeqTrainConfig {
    #[serde(default = "d_epochs")]
    pub epochs: usize,
    #[serde(default = "d_quick_epochs")]
    pub quick_epochs: usize,
    #[serde(default = "d_batch")]
    pub batch_size: usize,
    #[serde(default = "d_lr")]
    #[serde(serialize_with = "f32_as_written")]
    pub lr: f32,
    #[serde(default)]
    #[serde(serialize_with = "f32_as_written")]
    pub weight_decay: f32,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "d_patience")]
    pub patience: usize,
    #[serde(default)]
    pub valid_users: usize,
    #[serde(default = "one")]
    #[serde(serialize_with = "f32_as_written")]
    pub next_item_weight: f32,
    #[serde(default = "one")]
    #[serde(serialize_with = "f32_as_written")]
    pub rating_weight: f32,
    #[serde(default = "one")]
    #[serde(serialize_with = "f32_as_written")]
    pub like_weight: f32,
    #[serde(default = "d_kw_weight")]
    #[serde(serialize_with = "f32_as_written")]
    pub keyword_weight: f32,
    /// Start from the parameters of another run's `model.safetensors`: every parameter
    /// with the same name and shape is copied, except the item ID table (`item.emb`) and
    /// the heads (`head.*`), which belong to the other data set. Empty: from scratch.
    #[serde(default)]
    pub init_from: String,
    /// Parameter groups left unchanged by training, e.g. `["block0", "item.text"]`: a
    /// group is a parameter name or a dotted prefix of one (`checkpoint::transfer`'s rule);
    /// one that matches nothing is an error listing the groups there are.
    #[serde(default)]
    pub freeze: Vec<String>,
    /// Memory the run may use, e.g. `"8G"`; unset: `MemAvailable` (`config::budget`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_memory: Option<String>,
    /// Leave each user's history items (other than the target) out of the validation and
    /// test ranking, for the model and the baselines alike. Default: keep them (P5's rule).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exclude_history: bool,
}

/// The whole `mtrec seq` configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeqRunConfig {
    pub data: SeqDataConfig,
    pub model: SeqModelConfig,
    pub train: SeqTrainConfig,
    /// `baselines = ["transition", "popularity"]` (the default) at the top of the file;
    /// `[]` skips them (see `crate::baselines::transition` and docs/baselines.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baselines: Option<crate::config::baselines::BaselinesConfig>,
}

fn d_time_column() -> usize {
    3
}
fn d_encoding() -> String {
    "utf-8".into()
}
fn d_delimiter() -> String {
    "auto".into()
}
fn d_seed() -> u64 {
    42
}
fn d_max_len() -> usize {
    50
}
fn d_item_input() -> String {
    "id".into()
}
fn d_dim() -> usize {
    64
}
fn d_blocks() -> usize {
    2
}
fn d_heads() -> usize {
    1
}
fn d_dropout() -> f32 {
    0.5
}
fn d_text_model() -> String {
    "all-MiniLM-L6-v2".into()
}
fn d_fraction() -> f32 {
    1.0
}
fn d_text_cache() -> String {
    String::new()
}
fn d_epochs() -> usize {
    50
}
fn d_quick_epochs() -> usize {
    3
}
fn d_batch() -> usize {
    128
}
fn d_lr() -> f32 {
    1e-3
}
fn d_patience() -> usize {
    5
}
fn one() -> f32 {
    1.0
}
fn d_kw_weight() -> f32 {
    0.1
}

/// Which reader `data` selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataSource {
    /// Preset `"amazon-beauty"`: `user_sequence.txt` and its keyword file.
    Beauty,
    /// Preset `"ml-100k"`: `u.data` with ratings and `u.item` titles.
    MovieLens,
    /// `format = "sequences"`: `user item item ...` lines.
    Sequences,
    /// `format = "interactions"`: `user,item[,timestamp]` lines.
    Interactions,
}

impl SeqDataConfig {
    /// The reader of this configuration; errors name the key to set.
    pub fn source(&self) -> Result<DataSource> {
        use crate::data::sequences::generic::{Delimiter, Encoding};
        let err = |what: &str, message: String| {
            Err(Error::Config {
                what: what.into(),
                message,
            })
        };
        Encoding::parse(&self.encoding)?;
        Delimiter::parse(&self.delimiter)?;
        let source = match self.format.as_deref() {
            Some("sequences") => DataSource::Sequences,
            Some("interactions") => DataSource::Interactions,
            Some(other) => {
                return err(
                    "data.format",
                    format!("unknown format `{other}`; use \"sequences\" (`user item item ...` per line) or \"interactions\" (`user,item[,timestamp]` per line)"),
                )
            }
            None => match self.dataset.as_str() {
                "amazon-beauty" => DataSource::Beauty,
                "ml-100k" => DataSource::MovieLens,
                other => {
                    return err(
                        "data.format",
                        format!("is not set and `{other}` is not a preset (\"amazon-beauty\", \"ml-100k\"); set data.format = \"sequences\" for `user item item ...` lines or \"interactions\" for `user,item[,timestamp]` lines"),
                    )
                }
            },
        };
        let generic = matches!(source, DataSource::Sequences | DataSource::Interactions);
        let given = [
            ("data.file", self.file.is_some()),
            ("data.item_text", self.item_text.is_some()),
            (
                "data.encoding",
                Encoding::parse(&self.encoding)? != Encoding::Utf8,
            ),
            ("data.delimiter", self.delimiter != "auto"),
            ("data.header", self.header),
            ("data.time_column", self.time_column != d_time_column()),
        ];
        if let Some((key, _)) = given.iter().find(|(_, g)| *g && !generic) {
            return err(
                key,
                format!("applies to data.format = \"sequences\" or \"interactions\"; the preset `{}` reads its own files (leave {key} out, or set data.format)", self.dataset),
            );
        }
        if matches!(self.time_column, 1 | 2) {
            return err(
                "data.time_column",
                format!("is {}, the field of the user (1) or item (2); expected the timestamp's field (3 or more) or 0 for none", self.time_column),
            );
        }
        if source == DataSource::Sequences
            && (self.delimiter != "auto" || self.header || self.time_column != d_time_column())
        {
            return err(
                "data.delimiter / data.header / data.time_column",
                "apply to data.format = \"interactions\"; a sequences file is `user item item ...` separated by whitespace, without a header".into(),
            );
        }
        Ok(source)
    }
}

impl SeqRunConfig {
    /// Parses TOML text, applies `overrides` (`section.key=value`, the value read as TOML
    /// and else as a string), and checks the values. `origin` names the text in errors.
    pub fn parse(text: &str, origin: &str, overrides: &[String]) -> Result<SeqRunConfig> {
        // the loader of `mtrec train`: errors at `file:line:column`, the same `--set`
        let cfg: SeqRunConfig = crate::config::parse_as(
            text,
            origin,
            overrides,
            "src/train/seq/config.rs and configs/beauty_sasrec.toml",
        )?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads a TOML file, see [`SeqRunConfig::parse`].
    pub fn from_file(path: &Path, overrides: &[String]) -> Result<SeqRunConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: format!("{e}; pass a run config such as configs/beauty_sasrec.toml"),
        })?;
        SeqRunConfig::parse(&text, &path.display().to_string(), overrides)
    }

    /// The resolved configuration as TOML (written to the run folder).
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string(self).map_err(|e| Error::Config {
            what: "seq run config".into(),
            message: format!("cannot be written as TOML: {e}"),
        })
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, message: String| {
            Err(Error::Config {
                what: what.into(),
                message,
            })
        };
        let source = self.data.source()?;
        if !(self.data.user_fraction > 0.0 && self.data.user_fraction <= 1.0) {
            return bad(
                "data.user_fraction",
                format!("must be in (0, 1], got {}", self.data.user_fraction),
            );
        }
        if self.data.max_len == 0 {
            return bad(
                "data.max_len",
                "must be at least 1 (50 is SASRec's setting for Beauty)".into(),
            );
        }
        if let Some(b) = &self.baselines {
            b.validate(true)?;
        }
        let t = &self.train;
        if t.epochs == 0 || t.quick_epochs == 0 || t.batch_size == 0 {
            return bad(
                "train",
                format!(
                    "epochs, quick_epochs and batch_size must be positive, got {}, {}, {}",
                    t.epochs, t.quick_epochs, t.batch_size
                ),
            );
        }
        if !(t.lr.is_finite() && t.lr > 0.0) {
            return bad(
                "train.lr",
                format!("must be a positive number, got {}", t.lr),
            );
        }
        let ws = [
            t.next_item_weight,
            t.rating_weight,
            t.like_weight,
            t.keyword_weight,
            t.weight_decay,
        ];
        if ws.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return bad(
                "train weights",
                format!("task weights and weight_decay must be finite and ≥ 0, got {ws:?}"),
            );
        }
        if source != DataSource::MovieLens && (self.model.rating_head || self.model.like_head) {
            return bad(
                "model.rating_head / like_head",
                format!(
                    "`{}` has no ratings; these heads need the ratings of the \"ml-100k\" preset (data.dataset = \"ml-100k\" without data.format)",
                    self.data.dataset
                ),
            );
        }
        if let Some(b) = self
            .model
            .transition_prior
            .iter()
            .find(|b| !b.is_finite() || **b < 0.0)
        {
            return bad(
                "model.transition_prior",
                format!("prior weights must be finite and ≥ 0 (e.g. [0.5, 1, 2]), got {b}"),
            );
        }
        crate::models::sasrec::ItemInput::parse(&self.model.item_input)?;
        self.check_memory()
    }

    /// Refuses sizes that cannot be allocated (issue #13): `model.blocks` up to
    /// `budget::MAX_LAYERS`, and the memory estimate of the model without its item table
    /// (the catalogue is not read yet) against the limit of `config::budget`.
    ///
    /// Parameters: positions `T × D`, per block two layer norms `4D`, attention
    /// `Wq, Wk, Wv, Wo` `4(D² + D)`, feed-forward `2(D² + D)`; keyword head `N_kw × D`; text
    /// adaptor `384 × D`. Activations per sequence: `L × (12 T D + 2 H T²)` (the block's
    /// intermediates and the attention scores with their softmax), 4 values each as in
    /// `config::budget`.
    fn check_memory(&self) -> Result<()> {
        use crate::config::budget::{check, memory_limit, Estimate, Part, MAX_LAYERS};
        let m = &self.model;
        if m.blocks > MAX_LAYERS {
            return Err(Error::Config {
                what: "model.blocks".into(),
                message: format!("is {}; expected at most {MAX_LAYERS}", m.blocks),
            });
        }
        let (dim, t, l, h) = (
            m.dim as u128,
            self.data.max_len as u128,
            m.blocks as u128,
            m.heads as u128,
        );
        let b = self.train.batch_size as u128;
        let sq = |x: u128| x.saturating_mul(x);
        let block = sq(dim)
            .saturating_add(dim)
            .saturating_mul(6)
            .saturating_add(dim * 4);
        let params = [
            t.saturating_mul(dim),
            l.saturating_mul(block),
            (m.keywords as u128).saturating_mul(dim),
            384u128.saturating_mul(dim),
        ]
        .iter()
        .fold(0u128, |a, &x| a.saturating_add(x));
        // value, gradient, two Adam moments
        let param_bytes = params.saturating_mul(16);
        let per_seq = t
            .saturating_mul(dim)
            .saturating_mul(12)
            .saturating_add(h.saturating_mul(sq(t)).saturating_mul(2))
            .saturating_mul(l.max(1));
        let act_bytes = per_seq.saturating_mul(b).saturating_mul(16);
        let parts = vec![
            Part {
                key: "model.dim × model.blocks".into(),
                what: format!("{params} parameters with gradients and Adam state"),
                bytes: param_bytes,
            },
            Part {
                key: "train.batch_size × data.max_len".into(),
                what: format!("activations: {b} sequences × {per_seq} values"),
                bytes: act_bytes,
            },
        ];
        let est = Estimate {
            params,
            bytes: param_bytes.saturating_add(act_bytes),
            parts,
            d_in: dim,
            d_in_from: None,
        };
        check(
            &est,
            memory_limit(self.train.max_memory.as_deref())?.as_ref(),
        )
    }
}

/// Writes an `f32` as the shortest decimal that reads back to it (`0.3`, not the
/// `0.30000001192092896` that widening to `f64` gives, which is what TOML writers do).
fn f32_as_written<S: serde::Serializer>(v: &f32, s: S) -> std::result::Result<S::Ok, S::Error> {
    // `{}` on f32 is the shortest round-trip repr; as f64 it prints the same digits
    s.serialize_f64(format!("{v}").parse::<f64>().unwrap_or(*v as f64))
}

/// [`f32_as_written`] for each element of a list.
fn f32s_as_written<S: serde::Serializer>(v: &[f32], s: S) -> std::result::Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(v.len()))?;
    for x in v {
        seq.serialize_element(&format!("{x}").parse::<f64>().unwrap_or(*x as f64))?;
    }
    seq.end()
}
