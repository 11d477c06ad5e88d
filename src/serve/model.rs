//! A trained run loaded for serving, and the request columns turned into the
//! [`RawTable`] its fitted pipeline encodes: the same `spec.json`, vocabularies and
//! scaling as `mtrec predict`, so the scores are the same.

use super::errors::{from_lib, ApiError};
use crate::autograd::{Graph, ParamStore};
use crate::config::TaskType;
use crate::data::features::{Encoded, FeatureSpec};
use crate::data::ingest::{RawColumn, RawTable, RowSource};
use crate::error::{Error, Result};
use crate::models::MultiTaskModel;
use crate::nn::FeatureInput;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// How one model input is sent.
#[derive(Clone, Debug, PartialEq)]
pub enum InputKind {
    /// A categorical feature: one text per row (`BYTES`).
    Categorical,
    /// A multi-hot feature: one text per row, items joined by `separator` (`BYTES`).
    MultiHot { separator: String },
    /// A numeric feature: one number per row (`FP32`; `null` = missing).
    Numeric,
}

impl InputKind {
    /// The Open Inference Protocol datatype of the input.
    pub fn datatype(&self) -> &'static str {
        match self {
            InputKind::Numeric => "FP32",
            _ => "BYTES",
        }
    }
}

/// What a client needs to know about a model, shared with the HTTP handlers (the
/// model itself stays on its batcher thread).
#[derive(Clone, Debug)]
pub struct Schema {
    /// The model's name in URLs.
    pub name: String,
    /// The run folder it was loaded from.
    pub run: PathBuf,
    /// Feature columns in feature order.
    pub inputs: Vec<(String, InputKind)>,
    /// Task names and types, in output order.
    pub tasks: Vec<(String, TaskType)>,
    pub spec: FeatureSpec,
}

/// A run's model, parameters and pipeline, ready to score. Lives on one thread.
pub struct Loaded {
    pub schema: std::sync::Arc<Schema>,
    input: FeatureInput,
    model: Box<dyn MultiTaskModel>,
    store: ParamStore,
    graph: Graph,
}

/// Loads the run folder `run` (config.toml, spec.json, model.safetensors) as `name`:
/// the sequence of `mtrec predict`.
pub fn load(name: &str, run: &Path) -> Result<Loaded> {
    let crate::train::run::saved::SavedRun {
        cfg,
        spec,
        input,
        model,
        store,
    } = crate::train::run::saved::load_saved(run)?;
    if let Some(t) = spec.text.first() {
        return Err(Error::Config {
            what: format!("run {} (feature `{}`)", run.display(), t.name),
            message: "has a text feature; `mtrec serve` does not serve text features yet: use `mtrec predict`".into(),
        });
    }
    let mut inputs: Vec<(String, InputKind)> = Vec::new();
    inputs.extend(
        spec.categorical
            .iter()
            .map(|c| (c.name.clone(), InputKind::Categorical)),
    );
    inputs.extend(spec.multi_hot.iter().map(|b| {
        let separator = b.separator.clone();
        (b.name.clone(), InputKind::MultiHot { separator })
    }));
    inputs.extend(
        spec.numeric
            .iter()
            .map(|n| (n.name.clone(), InputKind::Numeric)),
    );
    let schema = Schema {
        name: name.to_string(),
        run: run.to_path_buf(),
        inputs,
        tasks: cfg.tasks.iter().map(|t| (t.name.clone(), t.kind)).collect(),
        spec,
    };
    Ok(Loaded {
        schema: std::sync::Arc::new(schema),
        input,
        model,
        store,
        graph: Graph::new(0),
    })
}

impl Loaded {
    /// Scores of every row of `data`: `out[k][i]`, the probability for a binary task
    /// and the value for a regression task (what `mtrec predict` writes).
    pub fn score(&mut self, data: &Encoded) -> Result<Vec<Vec<f32>>> {
        let mut out = crate::train::run::predict(
            &mut self.graph,
            &self.input,
            self.model.as_ref(),
            &self.store,
            data,
            data.len().max(1),
        )?;
        for ((_, kind), o) in self.schema.tasks.iter().zip(out.iter_mut()) {
            if *kind == TaskType::Binary {
                for v in o.iter_mut() {
                    *v = crate::ops::unary::f(crate::autograd::UnaryFn::Sigmoid, *v);
                }
            }
        }
        Ok(out)
    }
}

/// One request column, checked: one text per row (numbers already written as text).
pub type Column = Vec<Option<String>>;

impl Schema {
    /// The table of `columns` (name → one value per row, `None` = missing), in feature
    /// order. Every feature must be present; `n` rows each.
    pub fn table(
        &self,
        mut columns: HashMap<String, Column>,
        n: usize,
    ) -> std::result::Result<RawTable, ApiError> {
        let missing_marker = self.spec.missing_values.first();
        let mut table = RawTable {
            files: vec!["request".into()],
            source: (0..n)
                .map(|r| RowSource {
                    file: 0,
                    line: r as u64 + 1,
                })
                .collect(),
            ..Default::default()
        };
        for (name, _) in &self.inputs {
            let values = columns.remove(name).ok_or_else(|| {
                ApiError::internal(format!("input `{name}` was not checked; this is a bug"))
            })?;
            let mut col = RawColumn::default();
            let mut codes: HashMap<String, u32> = HashMap::new();
            for (r, v) in values.into_iter().enumerate() {
                let text = match v {
                    Some(t) => t,
                    None => missing_marker.cloned().ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "input `{name}`, data[{r}] is null; this model has no missing-value marker (data.missing_values is empty): send a value"
                        ))
                    })?,
                };
                let next = codes.len() as u32;
                let code = *codes.entry(text).or_insert_with_key(|t| {
                    col.dict.push(t.clone());
                    next
                });
                col.values.push(code);
            }
            table.names.push(name.clone());
            table.columns.push(col);
        }
        Ok(table)
    }

    /// Encodes `table` with the fitted pipeline (400 naming the row on a value the
    /// pipeline refuses).
    pub fn encode(&self, table: &RawTable) -> std::result::Result<Encoded, ApiError> {
        self.spec.encode(table).map_err(from_lib)
    }
}
