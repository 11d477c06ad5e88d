//! The fitted feature pipeline: vocabularies, scaling statistics and label rules
//! learned from the training rows, saved with a run (`spec.json`) so that `predict`
//! encodes new files exactly as the training data was encoded.

use super::encoded::{Bags, Encoded};
use super::labels::LabelSpec;
use super::numeric::NumSpec;
use super::text::TextSpec;
use super::vocab::{
    encode_bags, encode_bags_with, encode_categorical, encode_categorical_with, fit_bag_vocab,
    fit_vocab, Encoder, Lookup,
};
use crate::config::{AdaptorChoice, FeatureConfig, FeatureKind, Missing, TaskConfig};
use crate::data::ingest::{RawColumn, RawTable};
use crate::error::{Error, Result};
use crate::nn::feature_input::{EmbeddedFeature, InputLayout, InputSpec, TextFeature};
use crate::nn::AdaptorKind;
use serde::{Deserialize, Serialize};

/// Version of the JSON layout written by [`FeatureSpec::to_json_string`].
pub const SPEC_VERSION: u32 = 1;

/// A fitted categorical feature: ids 0..=V, an embedding table of V + 1 rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CatSpec {
    pub name: String,
    /// Embedding width.
    pub dim: usize,
    /// `Oov` or `Error`.
    pub missing: Missing,
    pub encoder: Encoder,
}

/// A fitted multi-hot feature: bags of ids 0..=V, averaged in the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BagSpec {
    pub name: String,
    pub dim: usize,
    pub separator: String,
    pub missing: Missing,
    pub encoder: Encoder,
}

/// Everything needed to turn raw tables into [`Encoded`] rows. Feature order, which is
/// also the model's input column order: categorical, multi-hot, numeric features, each
/// group in configuration order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    pub version: u32,
    /// Texts that mean "no value" (`data.missing_values` of the training run).
    pub missing_values: Vec<String>,
    pub categorical: Vec<CatSpec>,
    pub multi_hot: Vec<BagSpec>,
    pub numeric: Vec<NumSpec>,
    pub tasks: Vec<LabelSpec>,
    /// Text features (`[features.text]` whose mode uses the text), in configuration
    /// order; their adapted vectors follow the numeric features in the model input.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub text: Vec<TextSpec>,
}

/// The lookups of a [`FeatureSpec`], built once by [`FeatureSpec::prepare`]:
/// `cat[f]` for categorical feature f, `bags[f]` for multi-hot feature f.
#[derive(Clone, Debug)]
pub struct SpecLookups {
    cat: Vec<Lookup<'static>>,
    bags: Vec<Lookup<'static>>,
}

pub(super) fn column<'t>(table: &'t RawTable, name: &str, what: &str) -> Result<&'t RawColumn> {
    table.column(name).ok_or_else(|| Error::Config {
        what: format!("{what} `{name}`"),
        message: format!(
            "has no column in the data read (columns: {}); add the column to the files or the column list",
            table.names.join(", ")
        ),
    })
}

fn encoder_for(f: &FeatureConfig, fit: impl FnOnce() -> Vec<String>) -> Result<Encoder> {
    if f.hash_buckets == 0 {
        return Ok(Encoder::Vocab { values: fit() });
    }
    if f.hash_buckets >= u32::MAX as usize {
        return Err(Error::Config {
            what: format!("features `{}`.hash_buckets", f.name),
            message: format!(
                "is {}; expected fewer than 2^32 − 1 buckets",
                f.hash_buckets
            ),
        });
    }
    Ok(Encoder::Hash {
        buckets: f.hash_buckets,
    })
}

fn embedded_missing(f: &FeatureConfig) -> Result<Missing> {
    match f.missing_policy() {
        m @ (Missing::Oov | Missing::Error) => Ok(m),
        _ => Err(Error::Config {
            what: format!("features `{}`.missing", f.name),
            message: "applies to numeric features; expected \"oov\" or \"error\"".into(),
        }),
    }
}

fn positive_dim(f: &FeatureConfig) -> Result<usize> {
    if f.dim == 0 {
        return Err(Error::Config {
            what: format!("features `{}`.dim", f.name),
            message: "is 0; expected an embedding width ≥ 1, e.g. 8".into(),
        });
    }
    Ok(f.dim)
}

impl FeatureSpec {
    /// Fits every feature on the rows `train` of `table` (vocabularies, scaling
    /// statistics); labels follow the task rules, which need no fitting.
    pub fn fit(
        table: &RawTable,
        features: &[FeatureConfig],
        tasks: &[TaskConfig],
        missing_values: &[String],
        train: &[usize],
    ) -> Result<FeatureSpec> {
        let mut spec = FeatureSpec {
            version: SPEC_VERSION,
            missing_values: missing_values.to_vec(),
            categorical: Vec::new(),
            multi_hot: Vec::new(),
            numeric: Vec::new(),
            tasks: tasks.iter().map(LabelSpec::new).collect(),
            text: Vec::new(),
        };
        for f in features {
            match f.kind {
                FeatureKind::Categorical => {
                    let col = column(table, &f.name, "feature")?;
                    if let Some(t) = f.text.as_ref().filter(|t| t.mode.uses_text()) {
                        column(
                            table,
                            &t.column,
                            &format!("feature `{}`: text column", f.name),
                        )?;
                        spec.text.push(TextSpec {
                            name: f.name.clone(),
                            column: t.column.clone(),
                            mode: t.mode,
                            encoder: t.encoder.clone(),
                            adaptor: t.adaptor,
                            experts: t.experts,
                            dim: if t.dim == 0 { positive_dim(f)? } else { t.dim },
                            d_text: 0,
                        });
                    }
                    if f.text.as_ref().is_some_and(|t| !t.mode.uses_id()) {
                        continue; // mode = "text": no id embedding
                    }
                    spec.categorical.push(CatSpec {
                        name: f.name.clone(),
                        dim: positive_dim(f)?,
                        missing: embedded_missing(f)?,
                        encoder: encoder_for(f, || {
                            fit_vocab(col, train, f.min_count, missing_values)
                        })?,
                    });
                }
                FeatureKind::MultiHot => {
                    let col = column(table, &f.name, "feature")?;
                    if f.separator.is_empty() {
                        return Err(Error::Config {
                            what: format!("features `{}`.separator", f.name),
                            message: "is empty; expected the text between list items, e.g. \"|\""
                                .into(),
                        });
                    }
                    spec.multi_hot.push(BagSpec {
                        name: f.name.clone(),
                        dim: positive_dim(f)?,
                        separator: f.separator.clone(),
                        missing: embedded_missing(f)?,
                        encoder: encoder_for(f, || {
                            fit_bag_vocab(col, train, f.min_count, &f.separator, missing_values)
                        })?,
                    });
                }
                FeatureKind::Numeric => {
                    column(table, &f.name, "feature")?;
                    spec.numeric
                        .push(NumSpec::fit(table, f, train, missing_values)?);
                }
            }
        }
        for t in tasks {
            column(table, &t.column, &format!("task `{}`: column", t.name))?;
        }
        Ok(spec)
    }

    /// Input width of the model: Σ embedding widths (categorical, multi-hot) + F_num.
    pub fn d_in(&self) -> usize {
        self.categorical.iter().map(|c| c.dim).sum::<usize>()
            + self.multi_hot.iter().map(|b| b.dim).sum::<usize>()
            + self.numeric.len()
            + self.text.iter().map(|t| t.dim).sum::<usize>()
    }

    /// The feature columns, in feature order (what `predict` must read).
    pub fn feature_columns(&self) -> Vec<&str> {
        let c = self.categorical.iter().map(|c| c.name.as_str());
        let b = self.multi_hot.iter().map(|b| b.name.as_str());
        c.chain(b)
            .chain(self.numeric.iter().map(|n| n.name.as_str()))
            .chain(self.text.iter().map(|t| t.column.as_str()))
            .collect()
    }

    /// Encodes every row of `table` with the fitted vocabularies and statistics.
    /// Feature columns are required; a task whose column is absent (new data without
    /// labels) gets mask 0 everywhere.
    pub fn encode(&self, table: &RawTable) -> Result<Encoded> {
        self.encode_prepared(table, None)
    }

    /// Every categorical and multi-hot feature's lookup, built once ([`Encoder::prepared`]),
    /// for [`FeatureSpec::encode_prepared`].
    pub fn prepare(&self) -> SpecLookups {
        SpecLookups {
            cat: self
                .categorical
                .iter()
                .map(|c| c.encoder.prepared())
                .collect(),
            bags: self
                .multi_hot
                .iter()
                .map(|b| b.encoder.prepared())
                .collect(),
        }
    }

    /// [`FeatureSpec::encode`] with the lookups of [`FeatureSpec::prepare`] (of this
    /// spec, unchanged since), instead of building them for this table: the same ids.
    pub fn encode_prepared(
        &self,
        table: &RawTable,
        prepared: Option<&SpecLookups>,
    ) -> Result<Encoded> {
        if let Some(p) = prepared {
            assert!(
                p.cat.len() == self.categorical.len() && p.bags.len() == self.multi_hot.len(),
                "FeatureSpec::encode_prepared: the lookups were prepared for another spec"
            );
        }
        let n = table.num_rows();
        let mv = &self.missing_values;
        let (fc, fnum, k) = (self.categorical.len(), self.numeric.len(), self.tasks.len());
        let mut out = Encoded::empty(fc, self.multi_hot.len(), fnum, k);
        out.source = table.source.clone();

        out.cat = vec![0; n * fc]; // (N, F_cat)
        for (f, c) in self.categorical.iter().enumerate() {
            let col = column(table, &c.name, "feature")?;
            let ids = match prepared {
                Some(p) => encode_categorical_with(table, &c.name, col, &p.cat[f], c.missing, mv)?,
                None => encode_categorical(table, &c.name, col, &c.encoder, c.missing, mv)?,
            };
            for (r, id) in ids.into_iter().enumerate() {
                out.cat[r * fc + f] = id;
            }
        }
        for (f, b) in self.multi_hot.iter().enumerate() {
            let col = column(table, &b.name, "feature")?;
            let (offsets, ids) = match prepared {
                Some(p) => {
                    let sep = &b.separator;
                    encode_bags_with(table, &b.name, col, &p.bags[f], sep, b.missing, mv)?
                }
                None => encode_bags(table, &b.name, col, &b.encoder, &b.separator, b.missing, mv)?,
            };
            out.bags[f] = Bags { offsets, ids };
        }
        out.num = vec![0.0; n * fnum]; // (N, F_num)
        for (f, s) in self.numeric.iter().enumerate() {
            column(table, &s.name, "feature")?;
            for (r, x) in s.encode(table, mv)?.into_iter().enumerate() {
                out.num[r * fnum + f] = x;
            }
        }
        out.labels = vec![0.0; n * k]; // (N, K)
        out.mask = vec![0.0; n * k]; // (N, K)
        for (t, l) in self.tasks.iter().enumerate() {
            let (y, m) = l.encode(table, mv)?;
            for r in 0..n {
                out.labels[r * k + t] = y[r];
                out.mask[r * k + t] = m[r];
            }
        }
        Ok(out)
    }

    /// The spec as JSON (vocabularies as their value texts), for the run folder.
    pub fn to_json_string(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| Error::Config {
            what: "feature spec".into(),
            message: format!("cannot be written as JSON ({e}); this is a bug, please report it"),
        })
    }

    /// Reads a spec written by [`FeatureSpec::to_json_string`].
    pub fn from_json_str(text: &str) -> Result<FeatureSpec> {
        let spec: FeatureSpec = serde_json::from_str(text).map_err(|e| Error::Config {
            what: "feature spec (spec.json)".into(),
            message: format!(
                "cannot be read ({e}); it should be the file a training run wrote, unchanged"
            ),
        })?;
        if spec.version != SPEC_VERSION {
            return Err(Error::Config {
                what: "feature spec (spec.json)".into(),
                message: format!(
                    "has version {}; this mtrec reads version {SPEC_VERSION}: retrain, or use the mtrec that wrote it",
                    spec.version
                ),
            });
        }
        Ok(spec)
    }
}

/// What the input layer (`nn::FeatureInput`) reads of a fitted spec.
impl InputSpec for FeatureSpec {
    fn input_layout(&self) -> InputLayout {
        let embedded = |name: &str, encoder: &Encoder, dim: usize| EmbeddedFeature {
            name: name.to_string(),
            vocab: encoder.size(),
            dim,
        };
        InputLayout {
            categorical: (self.categorical.iter())
                .map(|c| embedded(&c.name, &c.encoder, c.dim))
                .collect(),
            multi_hot: (self.multi_hot.iter())
                .map(|b| embedded(&b.name, &b.encoder, b.dim))
                .collect(),
            n_num: self.numeric.len(),
            text: (self.text.iter())
                .map(|t| TextFeature {
                    name: t.name.clone(),
                    d_text: t.d_text,
                    dim: t.dim,
                    adaptor: match t.adaptor {
                        AdaptorChoice::Linear => AdaptorKind::Linear,
                        AdaptorChoice::Moe => AdaptorKind::Moe { experts: t.experts },
                    },
                })
                .collect(),
        }
    }
}
