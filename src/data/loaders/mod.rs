//! Data-set loaders: each turns `data.files` into a [`RawTable`] (named, interned
//! columns, each row's file and line, the skipped rows), the same table the CSV reader
//! gives, so that the feature pipeline applies unchanged. `data.loader` picks one:
//!
//! | `loader` | `files` | rows | module |
//! |---|---|---|---|
//! | `csv` (default) | delimited files | one per line | [`crate::data::ingest`] |
//! | `movielens` | a MovieLens 100K folder | one per rating, joined with user and item | [`movielens`] |
//! | `taobao` | UserBehavior CSV files | one per (user, item) pair, behaviours aggregated | [`taobao`] |
//! | `ali_ccp` | Ali-CCP CSV files with header | one per line; click/purchase funnel checked | `samples` |
//! | `aliexpress` | AliExpress CSV files with header | one per line; click/conversion funnel checked | `samples` |
//! | `interactions` | event logs `user item [behavior] [time]` | one per (user, item) pair, a label per behaviour, plus sampled negatives | [`interactions`] |
//! | `kuairand` | KuaiRand CSV files with header | one per line; columns checked | `samples` |
//!
//! Every loader honours `data.bad_rows` (a malformed line stops the run with
//! `path:line:field: ...`, or is skipped and listed in `RawTable::skipped`) and
//! `data.dedup`; nothing is dropped silently.
//!
//! ```no_run
//! use mtrec::config::RunConfig;
//! use mtrec::data::loaders::load_table;
//! let cfg = RunConfig::from_file("configs/movielens_mmoe.toml", &[]).unwrap();
//! let table = load_table(&cfg.data, "../shared/data".as_ref(), &cfg.needed_columns()).unwrap();
//! assert_eq!(table.num_rows(), 100_000);
//! print!("{}", table.skipped.report());
//! ```

pub mod interactions;
pub(crate) mod join;
mod lines;
pub mod movielens;
mod samples;
mod table;
pub mod taobao;

pub use samples::aliexpress_columns;
pub(crate) use samples::stream_checks;

use crate::config::data::Loader;
use crate::config::DataConfig;
use crate::data::ingest::{self, RawTable};
use crate::error::Result;
use std::path::{Path, PathBuf};

/// Reads the data of `cfg` with the loader `cfg.loader` (relative paths are under
/// `data_dir`), keeping the columns in `needed` (in that order; empty: all columns).
/// The side tables of `data.join` are joined into the rows (see `join.rs`).
pub fn load_table(cfg: &DataConfig, data_dir: &Path, needed: &[&str]) -> Result<RawTable> {
    if cfg.join.is_empty() {
        return load_rows(cfg, data_dir, needed);
    }
    let main_names = join::main_names(cfg, data_dir)?;
    join::read_joined(cfg, data_dir, needed, &main_names, |cols| {
        load_rows(cfg, data_dir, cols)
    })
}

/// The table of [`load_table`] for scoring rows one for one (`mtrec predict`): a side
/// table's own unreadable rows (`data.bad_rows = "skip"`) are not among the table's
/// dropped rows, which are rows of the data files only; they are left out of the side
/// table (rows with their keys are then keys the side table lacks) and named in the
/// returned notes, one per such side table.
pub fn load_table_scoring(
    cfg: &DataConfig,
    data_dir: &Path,
    needed: &[&str],
) -> Result<(RawTable, Vec<String>)> {
    if cfg.join.is_empty() {
        return Ok((load_rows(cfg, data_dir, needed)?, Vec::new()));
    }
    let main_names = join::main_names(cfg, data_dir)?;
    let joiner = join::Joiner::new(cfg, data_dir, needed, &main_names)?;
    let table = load_rows(cfg, data_dir, &joiner.main_needed())?;
    Ok((joiner.join(table, false)?, joiner.side_notes()))
}

/// The rows of `data.files` as `data.loader` reads them, without joins.
fn load_rows(cfg: &DataConfig, data_dir: &Path, needed: &[&str]) -> Result<RawTable> {
    match cfg.loader {
        Loader::Csv => ingest::read_table(cfg, data_dir, needed),
        Loader::Movielens => movielens::read(cfg, data_dir, needed),
        Loader::Taobao => taobao::read(cfg, data_dir, needed),
        Loader::AliCcp => samples::read(&samples::ALI_CCP, cfg, data_dir, needed),
        Loader::Aliexpress => samples::read(&samples::ALIEXPRESS, cfg, data_dir, needed),
        Loader::Kuairand => samples::read(&samples::KUAIRAND, cfg, data_dir, needed),
        Loader::Interactions => interactions::read(cfg, data_dir, needed),
    }
}

/// The rows of `data.files` in chunks of about `rows` rows, each chunk the table
/// [`load_table`] would hold for those rows (read by [`ingest::TableChunks`] on a thread
/// of its own; the data set's funnel rule applied per chunk; the side tables of
/// `[[data.join]]` read once and joined into each chunk; a side table's own dropped
/// rows are not among any chunk's, as in [`load_table_scoring`]:
/// [`TableStream::side_notes`]). `None` where every row is needed at once: the loaders
/// that aggregate or sample (`movielens`, `taobao`, `interactions`).
pub fn stream_table(
    cfg: &DataConfig,
    data_dir: &Path,
    needed: &[&str],
    rows: usize,
) -> Result<Option<TableStream>> {
    let schema = match cfg.loader {
        Loader::Csv => None,
        Loader::AliCcp => Some(&samples::ALI_CCP),
        Loader::Aliexpress => Some(&samples::ALIEXPRESS),
        Loader::Kuairand => Some(&samples::KUAIRAND),
        Loader::Movielens | Loader::Taobao | Loader::Interactions => return Ok(None),
    };
    let joiner = if cfg.join.is_empty() {
        None
    } else {
        let main_names: Vec<String> = match loader_columns(cfg.loader) {
            Some(cols) => cols.iter().map(|c| c.to_string()).collect(),
            None => ingest::read_header(cfg, data_dir)?,
        };
        Some(join::Joiner::new(cfg, data_dir, needed, &main_names)?)
    };
    let main_needed: Vec<&str> = match &joiner {
        Some(j) => j.main_needed(),
        None => needed.to_vec(),
    };
    let (wanted, funnel) = match schema {
        Some(s) => samples::prepare(s, cfg, data_dir, &main_needed)?,
        None => (main_needed.iter().map(|s| s.to_string()).collect(), None),
    };
    let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
    Ok(Some(TableStream {
        chunks: ingest::TableChunks::spawn(cfg, data_dir, &wanted, rows),
        funnel,
        joiner,
    }))
}

/// The chunks of [`stream_table`]; after the last, the first error if reading failed.
pub struct TableStream {
    pub chunks: ingest::TableChunks,
    funnel: Option<samples::Funnel>,
    joiner: Option<join::Joiner>,
}

impl TableStream {
    /// The side tables' own dropped rows, one line per side table (none without
    /// `[[data.join]]` or when no side row was dropped).
    pub fn side_notes(&self) -> Vec<String> {
        self.joiner
            .as_ref()
            .map_or_else(Vec::new, |j| j.side_notes())
    }
}

impl Iterator for TableStream {
    type Item = Result<RawTable>;

    fn next(&mut self) -> Option<Result<RawTable>> {
        let mut t = match self.chunks.next()? {
            Ok(t) => t,
            Err(e) => return Some(Err(e)),
        };
        if let Some(f) = &self.funnel {
            if let Err(e) = f.apply(&mut t) {
                return Some(Err(e));
            }
        }
        match &self.joiner {
            Some(j) => Some(j.join(t, false)),
            None => Some(Ok(t)),
        }
    }
}

/// The columns `loader` always produces (`movielens`, `taobao`); `None` when they
/// come from the files (`csv`, `ali_ccp`, `aliexpress`, `kuairand`).
pub fn loader_columns(loader: Loader) -> Option<&'static [&'static str]> {
    match loader {
        Loader::Movielens => Some(&movielens::COLUMNS),
        Loader::Taobao => Some(&taobao::COLUMNS),
        Loader::Csv
        | Loader::AliCcp
        | Loader::Aliexpress
        | Loader::Kuairand
        | Loader::Interactions => None,
    }
}

fn resolve(data_dir: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        data_dir.join(p)
    }
}
