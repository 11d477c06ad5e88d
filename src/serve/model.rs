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

use super::ensemble::Member;
use crate::ensemble::EnsembleFile;

/// How one model input is sent.
#[derive(Clone, Debug, PartialEq)]
pub enum InputKind {
    /// A categorical feature: one text per row (`BYTES`).
    Categorical,
    /// A multi-hot feature: one text per row, items joined by `separator` (`BYTES`).
    MultiHot { separator: String },
    /// A numeric feature: one number per row (`FP32`; `null` = missing).
    Numeric,
    /// The text column of a text feature: one string per row (`BYTES`), embedded by the
    /// run's encoder (the folder named here) when the request is scored (`serve/text.rs`).
    Text { encoder: String },
}

impl InputKind {
    /// The Open Inference Protocol datatype of the input.
    pub fn datatype(&self) -> &'static str {
        match self {
            InputKind::Numeric => "FP32",
            _ => "BYTES",
        }
    }

    /// What `GET /v2/models/{name}` says of the input beyond its datatype: for a text
    /// input, that it is a text embedded by the model's encoder.
    pub fn parameters(&self) -> Option<serde_json::Value> {
        match self {
            InputKind::Text { encoder } => Some(serde_json::json!({
                "content": "text",
                "encoder": encoder,
                "note": "one string per row, embedded by the encoder when scored",
            })),
            _ => None,
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
    /// An ensemble folder's members 1 … M−1: their specs (`inputs` is the union of
    /// every member's features); empty for a run folder.
    pub others: Vec<FeatureSpec>,
    /// The lookups of `spec`, then of each of `others`, built once at load
    /// ([`FeatureSpec::prepare`]) so that a request does not rebuild them.
    pub prepared: Vec<crate::data::features::SpecLookups>,
    /// Per member (0 = `spec`), the embedder of each of its text features.
    pub text: Vec<Vec<std::sync::Arc<super::text::TextMemo>>>,
}

/// A run's model, parameters and pipeline, ready to score. Lives on one thread.
pub struct Loaded {
    pub schema: std::sync::Arc<Schema>,
    input: FeatureInput,
    model: Box<dyn MultiTaskModel>,
    store: ParamStore,
    graph: Graph,
    /// An ensemble folder: its rules, members 1 … M−1, and each member's widths
    /// (F_cat, bags, F_num) in the wide encoding (`serve/ensemble.rs`).
    ensemble: Option<super::ensemble::Served>,
}

/// Loads the run folder `run` (config.toml, spec.json, model.safetensors), or every
/// member of an ensemble folder, as `name`: the sequence of `mtrec predict`.
pub fn load(name: &str, run: &Path) -> Result<Loaded> {
    let (dirs, file) = if crate::ensemble::is_ensemble(run) {
        let file = EnsembleFile::read(run)?;
        (file.member_dirs(run), Some(file))
    } else {
        (vec![run.to_path_buf()], None)
    };
    let mut saved = Vec::with_capacity(dirs.len());
    let mut text = Vec::with_capacity(dirs.len());
    for dir in &dirs {
        let s = crate::train::run::saved::load_saved(dir)?;
        text.push(super::text::memos(&s.spec).map_err(|e| Error::Config {
            what: format!("run {}", dir.display()),
            message: format!("has a text feature whose encoder is not found: {e}"),
        })?);
        saved.push(s);
    }
    let mut saved = saved.into_iter();
    let crate::train::run::saved::SavedRun {
        cfg,
        spec,
        input,
        model,
        store,
    } = saved.next().expect("at least one member");
    let width = |s: &FeatureSpec| {
        (
            s.categorical.len(),
            s.multi_hot.len(),
            s.numeric.len(),
            s.text.len(),
        )
    };
    let mut widths = vec![width(&spec)];
    let mut others = Vec::new();
    let mut other_specs = Vec::new();
    for s in saved {
        widths.push(width(&s.spec));
        other_specs.push(s.spec);
        others.push(Member {
            input: s.input,
            model: s.model,
            store: s.store,
        });
    }
    let mut inputs: Vec<(String, InputKind)> = Vec::new();
    for spec in std::iter::once(&spec).chain(&other_specs) {
        let mut add = |name: &str, kind: InputKind| {
            if !inputs.iter().any(|(n, _)| n == name) {
                inputs.push((name.to_string(), kind));
            }
        };
        for c in &spec.categorical {
            add(&c.name, InputKind::Categorical);
        }
        for b in &spec.multi_hot {
            let separator = b.separator.clone();
            add(&b.name, InputKind::MultiHot { separator });
        }
        for n in &spec.numeric {
            add(&n.name, InputKind::Numeric);
        }
        for t in &spec.text {
            let encoder = t.encoder.clone();
            add(&t.column, InputKind::Text { encoder });
        }
    }
    let prepared = std::iter::once(&spec)
        .chain(&other_specs)
        .map(FeatureSpec::prepare)
        .collect();
    let schema = Schema {
        prepared,
        name: name.to_string(),
        run: run.to_path_buf(),
        inputs,
        tasks: cfg.tasks.iter().map(|t| (t.name.clone(), t.kind)).collect(),
        spec,
        others: other_specs,
        text,
    };
    // the parameters never change while loaded (a reload loads anew): each pass reads the
    // copies the first pass made (Graph::set_params_fixed)
    let mut graph = Graph::new(0);
    graph.set_params_fixed(true);
    Ok(Loaded {
        schema: std::sync::Arc::new(schema),
        input,
        model,
        store,
        graph,
        ensemble: file.map(|f| (f, others, widths)),
    })
}

impl Loaded {
    /// Scores of every row of `data`: `out[k][i]`, the probability for a binary task
    /// and the value for a regression task (what `mtrec predict` writes).
    pub fn score(&mut self, data: &Encoded) -> Result<Vec<Vec<f32>>> {
        if let Some((file, others, widths)) = &self.ensemble {
            let first = super::ensemble::split(data, widths, 0);
            let first = crate::train::run::predict(
                &mut self.graph,
                &self.input,
                self.model.as_ref(),
                &self.store,
                &first,
                first.len().max(1),
            )?;
            return super::ensemble::score(file, others, widths, data, first, &mut self.graph);
        }
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
        let prepared = |i: usize| self.prepared.get(i);
        let mut first = self
            .spec
            .encode_prepared(table, prepared(0))
            .map_err(from_lib)?;
        super::text::attach(&self.spec, &self.text[0], table, &mut first)?;
        if self.others.is_empty() {
            return Ok(first);
        }
        let mut parts = vec![first];
        for (i, (s, memos)) in self.others.iter().zip(&self.text[1..]).enumerate() {
            let mut enc = s
                .encode_prepared(table, prepared(i + 1))
                .map_err(from_lib)?;
            super::text::attach(s, memos, table, &mut enc)?;
            parts.push(enc);
        }
        Ok(super::ensemble::widen(parts))
    }
}
