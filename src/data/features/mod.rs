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
pub(crate) mod numeric;
pub(crate) mod report;
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
pub use split::{random_assignment, set_of_files, split_rows, splitmix64, SplitRows};
pub use text::{attach_texts, embed_dict, TextEmbedder, TextEnv, TextProvider, TextRows, TextSpec};
pub use unseen::unseen_counts;
pub use vocab::{fnv1a64, is_missing, tokens, Encoder};
// the streamed cache build's `missing = "error"` messages
pub(crate) use numeric::MISSING_ERROR_EXPECTED as NUM_MISSING_EXPECTED;
pub(crate) use vocab::MISSING_ERROR_EXPECTED as CAT_MISSING_EXPECTED;

use crate::config::{FeatureConfig, SplitConfig, TaskConfig};
use crate::data::ingest::RawTable;
use crate::error::Result;

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
    let counts: Vec<_> = (sets.iter())
        .map(|(name, e)| report::SetCounts::of_encoded(name, e))
        .collect();
    let report = report::write(&spec, &counts);
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
