//! A run folder's model, opened once, scoring the rows of `--input` one table (a chunk
//! of the file, or all of it) at a time.
//!
//! ```text
//! chunk (RawTable) ─▶ --bad-rows mark: bad numbers become marked rows
//!                  ─▶ output rows (read + marked, in line order)
//!                  ─▶ encode with the run's spec (lookups built once) ─▶ unseen ids += …
//!                  ─▶ texts embedded (runs with text features)
//! encoded rows     ─▶ predict, batches of BATCH rows                   ─▶ K × (n,)
//! ```
//! Every step looks at one row at a time, so scoring the input in chunks gives the
//! rows, ids and unseen counts of scoring it whole. The batches are the exception (a
//! matrix product may take another path for another batch size): the caller cuts them
//! where scoring the whole input would ([`BATCH`], `super::stream`).

use super::texts::InputTexts;
use super::{output_rows, OutRow, PredictArgs, PredictBadRows};
use crate::autograd::{Graph, ParamStore};
use crate::config::{BadRows, RunConfig};
use crate::data::features::{Encoded, FeatureSpec, SpecLookups};
use crate::data::ingest::RawTable;
use crate::data::loaders::load_table_scoring;
use crate::data::rows::Rows;
use crate::error::{Error, Result};
use crate::models::MultiTaskModel;
use crate::nn::FeatureInput;
use crate::train::run::{self, predict};
use std::path::{Path, PathBuf};

/// Says on stderr which side-table rows were left out (`--bad-rows mark`: a side
/// table's unreadable row is no input row, so it gets no output row; the input rows
/// with its key are marked as keys the side table lacks).
pub(super) fn side_notes(notes: &[String]) {
    for n in notes {
        eprintln!("note: {n}; input rows with its key are marked as keys the side table lacks");
    }
}

/// Rows per scoring batch (every batch but the input's last holds exactly this many).
pub(super) const BATCH: usize = 4096;

/// The output rows of one table and its read rows' raw outputs as they arrive.
pub(super) struct Chunk {
    pub table: RawTable,
    pub rows: Vec<(u64, OutRow)>,
    /// `out[k]`: raw outputs of the first `out[k].len()` read rows of `table`.
    pub out: Vec<Vec<f32>>,
}

impl Chunk {
    /// Every read row has its outputs.
    pub fn done(&self) -> bool {
        self.out.iter().all(|o| o.len() == self.table.num_rows())
    }
}

pub(in crate::cli) struct Scorer {
    /// The run's config with `[data]` set to read `--input` (every row kept).
    pub cfg: RunConfig,
    spec: FeatureSpec,
    lookups: SpecLookups,
    input: FeatureInput,
    model: Box<dyn MultiTaskModel>,
    store: ParamStore,
    g: Graph,
    run: PathBuf,
    /// The columns copied beside the scores.
    pub keep: Vec<String>,
    /// The columns read from `--input`.
    pub needed: Vec<String>,
    /// Per id column, the rows so far whose value is not in the vocabulary.
    pub unseen: Vec<(String, usize)>,
    /// The texts of the whole input, embedded before a streamed input's chunks
    /// (`None`: each table's texts are embedded with it, as when read whole).
    texts: Option<InputTexts>,
}

impl Scorer {
    /// Reads the run folder `run`: config, spec and weights.
    pub fn open(args: &PredictArgs, run: &Path) -> Result<Scorer> {
        let mut cfg = RunConfig::from_file(run.join("config.toml"), &[])?;
        let spec_path = run.join("spec.json");
        let spec_text = std::fs::read_to_string(&spec_path).map_err(|e| Error::Io {
            path: spec_path.display().to_string(),
            message: e.to_string(),
        })?;
        let spec = FeatureSpec::from_json_str(&spec_text)?;
        cfg.data.files = vec![args.input.display().to_string()];
        // Training's choices to drop rows never apply to scoring: one row in, one row out.
        cfg.data.dedup = false;
        cfg.data.bad_rows = match args.bad_rows {
            PredictBadRows::Error => BadRows::Error,
            PredictBadRows::Mark => BadRows::Skip,
        };
        cfg.data.list_every_bad_row = true;
        // The columns copied beside the scores: --keep, else the id (categorical) columns.
        let keep: Vec<String> = if !args.keep.is_empty() {
            args.keep.clone()
        } else if args.no_keys {
            Vec::new()
        } else {
            spec.categorical.iter().map(|c| c.name.clone()).collect()
        };
        let mut needed: Vec<String> = cfg.features.iter().map(|f| f.name.clone()).collect();
        needed.extend(spec.text.iter().map(|t| t.column.clone()));
        needed.extend(keep.iter().cloned());
        // side tables are looked up under --data-dir, the input under the working directory
        let side_dir = super::super::train::data_dir(args.data_dir.clone());
        for j in &mut cfg.data.join {
            j.file = side_dir.join(&j.file).display().to_string();
        }
        let mut store = ParamStore::new();
        let mut rng =
            <ndarray_rand::rand::rngs::StdRng as ndarray_rand::rand::SeedableRng>::seed_from_u64(
                cfg.train.seed,
            );
        let input = FeatureInput::new(&mut store, "input", &spec, &mut rng)?;
        let model =
            run::build::build_model(&cfg.model, input.d_in(), &cfg.tasks, &mut store, &mut rng)?;
        let _ = run::build::build_balancer(&cfg.train, &cfg.tasks, &mut store)?;
        crate::quant::load_weights(run, &mut store)?; // f32, or int8 after mtrec compress
        let unseen = spec
            .categorical
            .iter()
            .map(|c| c.name.clone())
            .chain(spec.multi_hot.iter().map(|b| b.name.clone()))
            .map(|n| (n, 0))
            .collect();
        Ok(Scorer {
            lookups: spec.prepare(),
            spec,
            input,
            model,
            store,
            g: Graph::new(0),
            run: run.to_path_buf(),
            keep,
            needed,
            unseen,
            texts: None,
            cfg,
        })
    }

    /// Whether the run has text features (their texts are embedded before scoring).
    pub fn has_texts(&self) -> bool {
        !self.spec.text.is_empty()
    }

    /// The columns to read, as `&str`.
    pub fn needed(&self) -> Vec<&str> {
        self.needed.iter().map(String::as_str).collect()
    }

    /// `--input` read whole, as the run reads its data.
    pub fn load_whole(&self, _args: &PredictArgs) -> Result<RawTable> {
        let (table, notes) = load_table_scoring(&self.cfg.data, Path::new("."), &self.needed())?;
        side_notes(&notes);
        Ok(table)
    }

    /// One table of read rows → its output rows (read and marked, in line order) and
    /// its encoded read rows; the unseen ids are counted.
    pub fn prepare_chunk(
        &mut self,
        args: &PredictArgs,
        table: RawTable,
    ) -> Result<(Chunk, Encoded)> {
        let mut table = table;
        if args.bad_rows == PredictBadRows::Mark {
            // numbers that are not numbers become marked rows too (labels are not read)
            let mut split = self.cfg.split.clone();
            split.kind = crate::config::SplitKind::Random;
            let cfg = &self.cfg;
            crate::data::features::drop_bad_values(
                &mut table,
                &cfg.features,
                &[],
                &split,
                &cfg.data,
            )?;
        }
        let rows = output_rows(&table, &args.input)?;
        let mut encoded = self.spec.encode_prepared(&table, Some(&self.lookups))?;
        let unseen = crate::data::features::unseen_counts(&self.spec, &table, &encoded)?;
        for ((name, n), (col, m)) in self.unseen.iter_mut().zip(unseen) {
            debug_assert_eq!(*name, col);
            *n += m;
        }
        if let Some(texts) = &self.texts {
            texts.attach(&self.spec.text, &table, &mut encoded)?;
        } else if self.has_texts() {
            // Texts already embedded by the run are read from its cache.
            let provider = run::text::native_provider(Path::new("."), args.models_dir.as_deref());
            let env = crate::data::features::TextEnv {
                provider: &provider,
                cache_dir: Some(run::text_cache_dir(&self.run)),
            };
            crate::data::features::attach_texts(&mut self.spec, &table, &mut encoded, &env)?;
        }
        let k = self.cfg.tasks.len();
        let chunk = Chunk {
            table,
            rows,
            out: vec![Vec::new(); k],
        };
        Ok((chunk, encoded))
    }

    /// Pass 1 of a streamed input with texts: the texts of every table of `tables`
    /// embedded as reading the input whole embeds them (`texts.rs`), through the
    /// run's encoder and the shared cache.
    pub fn gather_texts(
        &mut self,
        args: &PredictArgs,
        tables: impl Iterator<Item = Result<RawTable>>,
    ) -> Result<()> {
        let provider = run::text::native_provider(Path::new("."), args.models_dir.as_deref());
        let env = crate::data::features::TextEnv {
            provider: &provider,
            cache_dir: Some(run::text_cache_dir(&self.run)),
        };
        self.texts = Some(InputTexts::gather(&mut self.spec.text, tables, &env)?);
        Ok(())
    }

    /// Raw outputs `out[k][i]` of every row of `rows`, in batches of [`BATCH`].
    pub fn score(&mut self, rows: &dyn Rows) -> Result<Vec<Vec<f32>>> {
        let (input, store) = (&self.input, &self.store);
        predict(&mut self.g, input, self.model.as_ref(), store, rows, BATCH)
    }
}
