//! `split.csv` of a run folder: the set every row of the data went to.
//!
//! One line per row that training read (rows skipped by `data.bad_rows = "skip"` or
//! `dedup` are in `bad_rows.txt`, not here): `file,line,set`, where `file` is the data
//! file as the run read it, `line` its 1-based line (the header is line 1), and `set` one
//! of `train`, `valid`, `test`, `cold` (`split.kind = "item_holdout"` only). Lines are in
//! file order, then line order, whatever order the split keeps its sets in (a temporal
//! split keeps time order). Above [`GZIP_ROWS`] rows the file is gzip-compressed
//! (`split.csv.gz`). Written atomically: a kill leaves the old file or the whole new one.

use crate::data::features::Prepared;
use crate::data::ingest::RowSource;
use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// From this many rows on, the split is written as `split.csv.gz`.
pub const GZIP_ROWS: usize = 1_000_000;

fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// The text of `split.csv` for `prepared` (see the module doc).
pub fn split_csv(prepared: &Prepared) -> String {
    let sets = [
        ("train", &prepared.train.source[..]),
        ("valid", &prepared.valid.source[..]),
        ("test", &prepared.test.source[..]),
        ("cold", &prepared.cold.source[..]),
    ];
    split_csv_of(&prepared.files, &sets)
}

/// The text of `split.csv` for the rows of each named set (`files`: the data files
/// that `RowSource::file` indexes).
pub fn split_csv_of(files: &[String], sets: &[(&str, &[RowSource])]) -> String {
    let mut rows: Vec<(u32, u64, &str)> = sets
        .iter()
        .flat_map(|(name, e)| e.iter().map(move |s| (s.file, s.line, *name)))
        .collect();
    rows.sort_unstable_by_key(|r| (r.0, r.1));
    let mut out = String::from("file,line,set\n");
    for (file, line, set) in rows {
        let name = files
            .get(file as usize)
            .map_or(String::new(), |f| csv_field(f));
        out.push_str(&format!("{name},{line},{set}\n"));
    }
    out
}

/// A CSV field, quoted when it holds a comma, quote or line break.
fn csv_field(f: &str) -> String {
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}

/// Writes `split.csv` (or `split.csv.gz` from [`GZIP_ROWS`] rows on) into `out`, removing
/// the other of the two; returns the path written.
pub fn write_split(out: &Path, prepared: &Prepared) -> Result<PathBuf> {
    let n = prepared.train.len() + prepared.valid.len() + prepared.test.len() + prepared.cold.len();
    write_split_text(out, n, split_csv(prepared))
}

/// [`write_split`] for the sets of the data cache (their row sources read from the map).
pub fn write_split_cached(
    out: &Path,
    files: &[String],
    c: &crate::data::cache::CachedSets,
) -> Result<PathBuf> {
    use crate::data::rows::Rows;
    let sources = |s: &crate::data::cache::CachedSet| -> Vec<RowSource> {
        (0..s.len()).map(|r| s.source(r)).collect()
    };
    let (tr, va, te, co) = (
        sources(&c.train),
        sources(&c.valid),
        sources(&c.test),
        sources(&c.cold),
    );
    let n = tr.len() + va.len() + te.len() + co.len();
    let sets = [
        ("train", &tr[..]),
        ("valid", &va[..]),
        ("test", &te[..]),
        ("cold", &co[..]),
    ];
    write_split_text(out, n, split_csv_of(files, &sets))
}

fn write_split_text(out: &Path, n: usize, text: String) -> Result<PathBuf> {
    let (name, other) = if n >= GZIP_ROWS {
        ("split.csv.gz", "split.csv")
    } else {
        ("split.csv", "split.csv.gz")
    };
    let path = out.join(name);
    let bytes = if n >= GZIP_ROWS {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes())
            .and_then(|()| gz.finish())
            .map_err(|e| io_err(&path, e))?
    } else {
        text.into_bytes()
    };
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let mut f = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
    f.write_all(&bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| io_err(&path, e))?;
    match std::fs::remove_file(out.join(other)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(&out.join(other), e)),
        _ => Ok(path),
    }
}
