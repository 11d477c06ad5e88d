//! From a [`RawTable`] of texts to model-ready rows: split, fit on the training rows,
//! encode.
//!
//! ```text
//! RawTable ──split_rows──▶ train / valid / test row lists          split.rs
//!          ──FeatureSpec::fit(train rows)──▶ vocabularies, stats    spec.rs, vocab.rs, numeric.rs
//!          ──FeatureSpec::encode──▶ Encoded (ids, numbers, bags,    encoded.rs, labels.rs
//!                                   labels, masks)
//! ```
//!
//! Everything learned from data (vocabularies, means, standard deviations, min/max)
//! comes from the **training rows only**; validation and test rows, and new files at
//! prediction time, are encoded with it unchanged (values unseen in training get the
//! out-of-vocabulary id 0). [`prepare`] does all three steps for a run; the
//! [`FeatureSpec`] it returns serialises to JSON for the run folder.
//!
//! ```no_run
//! use mtrec::config::RunConfig;
//! use mtrec::data::features::prepare;
//! use mtrec::data::ingest::read_table;
//! let cfg = RunConfig::from_file("configs/example.toml", &[]).unwrap();
//! let table = read_table(&cfg.data, "../shared/data".as_ref(), &cfg.needed_columns()).unwrap();
//! let p = prepare(&table, &cfg.features, &cfg.tasks, &cfg.split, &cfg.data.missing_values).unwrap();
//! print!("{}", p.report);
//! std::fs::write("spec.json", p.spec.to_json_string().unwrap()).unwrap();
//! ```

mod bad_values;
mod encoded;
mod labels;
mod numeric;
mod spec;
mod split;
pub mod text;
mod unseen;
mod vocab;

pub use bad_values::drop_bad_values;
pub use encoded::{Bags, Encoded, EncodedBatch};
pub use labels::LabelSpec;
pub use numeric::NumSpec;
pub use spec::{BagSpec, CatSpec, FeatureSpec, SpecLookups, SPEC_VERSION};
pub use split::{random_assignment, split_rows, splitmix64, SplitRows};
pub use text::{attach_texts, TextEmbedder, TextEnv, TextProvider, TextRows, TextSpec};
pub use unseen::unseen_counts;
pub use vocab::{fnv1a64, Encoder};

use crate::config::{FeatureConfig, SplitConfig, TaskConfig, TaskType};
use crate::data::ingest::RawTable;
use crate::error::Result;
use std::fmt::Write;

/// The encoded sets of a run and the fitted spec.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub spec: FeatureSpec,
    pub train: Encoded,
    pub valid: Encoded,
    /// The test rows (with `split.kind = "item_holdout"`: warm items only).
    pub test: Encoded,
    /// `item_holdout`: every row of the held-out (cold) items; empty otherwise.
    pub cold: Encoded,
    /// Set sizes, vocabulary sizes, out-of-vocabulary rates, labels per task.
    pub report: String,
    /// The data files read (`RowSource::file` indexes it), for the run's `split.csv`.
    pub files: Vec<String>,
}

/// Splits `table`, fits the features on the training rows and encodes all sets.
/// Configurations with text features need [`prepare_with`] (an encoder).
pub fn prepare(
    table: &RawTable,
    features: &[FeatureConfig],
    tasks: &[TaskConfig],
    split: &SplitConfig,
    missing_values: &[String],
) -> Result<Prepared> {
    prepare_with(table, features, tasks, split, missing_values, None)
}

/// [`prepare`], embedding the text features' texts with `text` (see [`text`]).
pub fn prepare_with(
    table: &RawTable,
    features: &[FeatureConfig],
    tasks: &[TaskConfig],
    split: &SplitConfig,
    missing_values: &[String],
    text: Option<&TextEnv<'_>>,
) -> Result<Prepared> {
    let rows = split_rows(table, split, missing_values)?;
    let mut spec = FeatureSpec::fit(table, features, tasks, missing_values, &rows.train)?;
    let mut all = spec.encode(table)?;
    if !spec.text.is_empty() {
        let env = text.ok_or_else(|| crate::error::Error::Config {
            what: format!("text feature `{}`", spec.text[0].name),
            message: "needs a text encoder; prepare the data with prepare_with and a TextEnv (mtrec train does)".into(),
        })?;
        attach_texts(&mut spec, table, &mut all, env)?;
    }
    let (train, valid, test, cold) = (
        all.select(&rows.train),
        all.select(&rows.valid),
        all.select(&rows.test),
        all.select(&rows.cold),
    );
    let mut sets = vec![("train", &train), ("valid", &valid), ("test", &test)];
    if !rows.cold.is_empty() {
        sets.push(("cold", &cold));
    }
    let report = report(&spec, &sets);
    Ok(Prepared {
        spec,
        train,
        valid,
        test,
        cold,
        report,
        files: table.files.clone(),
    })
}

fn pct(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// A plain-text summary of the prepared sets.
fn report(spec: &FeatureSpec, sets: &[(&str, &Encoded)]) -> String {
    // Over 100 lines: one paragraph of the report per feature kind and per task, written
    // top to bottom in the order the report prints them.
    let mut s = String::new();
    let n: usize = sets.iter().map(|(_, e)| e.len()).sum();
    let sizes: Vec<String> = sets
        .iter()
        .map(|(name, e)| format!("{name} {} ({:.1}%)", e.len(), pct(e.len(), n)))
        .collect();
    let _ = writeln!(s, "rows: {n}: {}", sizes.join(", "));
    let _ = writeln!(
        s,
        "input width d_in = {} ({} categorical, {} multi-hot, {} numeric features)",
        spec.d_in(),
        spec.categorical.len(),
        spec.multi_hot.len(),
        spec.numeric.len()
    );
    for (f, c) in spec.categorical.iter().enumerate() {
        let oov: Vec<String> = sets
            .iter()
            .map(|(name, e)| {
                let zeros = (0..e.len())
                    .filter(|&r| e.cat[r * e.n_cat + f] == 0)
                    .count();
                format!("{name} {:.2}%", pct(zeros, e.len()))
            })
            .collect();
        let _ = writeln!(
            s,
            "  categorical {}: V = {} ({}), dim {}; id 0 (unseen/missing): {}",
            c.name,
            c.encoder.size(),
            kind_of(&c.encoder),
            c.dim,
            oov.join(", ")
        );
    }
    for (f, b) in spec.multi_hot.iter().enumerate() {
        let oov: Vec<String> = sets
            .iter()
            .map(|(name, e)| {
                let ids = &e.bags[f].ids;
                let zeros = ids.iter().filter(|&&i| i == 0).count();
                let mean = if e.is_empty() {
                    0.0
                } else {
                    ids.len() as f64 / e.len() as f64
                };
                format!(
                    "{name} {:.2}% of tokens, {mean:.2} per row",
                    pct(zeros, ids.len())
                )
            })
            .collect();
        let _ = writeln!(
            s,
            "  multi-hot {}: V = {} ({}), dim {}; id 0: {}",
            b.name,
            b.encoder.size(),
            kind_of(&b.encoder),
            b.dim,
            oov.join(", ")
        );
    }
    for t in &spec.text {
        let _ = writeln!(
            s,
            "  text {} (column {}, mode {:?}): encoder {}, D_t = {}, {:?} adaptor to dim {}",
            t.name, t.column, t.mode, t.encoder, t.d_text, t.adaptor, t.dim
        );
    }
    for x in &spec.numeric {
        let _ = writeln!(
            s,
            "  numeric {}: scale {:?}, center {:.6}, spread {:.6}, missing {:?} → {:.6}",
            x.name, x.scale, x.center, x.spread, x.missing, x.fill
        );
    }
    for (k, t) in spec.tasks.iter().enumerate() {
        let parts: Vec<String> = sets
            .iter()
            .map(|(name, e)| {
                let (y, m) = e.task_column(k);
                let labelled = m.iter().filter(|&&v| v > 0.0).count();
                match t.kind {
                    TaskType::Binary => {
                        let pos = y
                            .iter()
                            .zip(&m)
                            .filter(|(&y, &m)| m > 0.0 && y > 0.5)
                            .count();
                        format!(
                            "{name} {pos} positive of {labelled} labelled ({:.2}%)",
                            pct(pos, labelled)
                        )
                    }
                    TaskType::Regression => {
                        let sum: f64 = y.iter().zip(&m).map(|(&y, &m)| (y * m) as f64).sum();
                        let mean = if labelled == 0 {
                            0.0
                        } else {
                            sum / labelled as f64
                        };
                        format!("{name} {labelled} labelled, mean {mean:.4}")
                    }
                }
            })
            .collect();
        let _ = writeln!(
            s,
            "  task {} ({:?}, column {}): {}",
            t.name,
            t.kind,
            t.column,
            parts.join("; ")
        );
    }
    s
}

fn kind_of(e: &Encoder) -> &'static str {
    match e {
        Encoder::Vocab { .. } => "vocabulary",
        Encoder::Hash { .. } => "hashed",
    }
}
