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

/// [`write_split`] for the sets of the data cache. When every set is in file order (as
/// the random and user splits keep them) the sets are merged while writing, so memory
/// does not grow with N; otherwise their row sources are collected and sorted.
pub fn write_split_cached(
    out: &Path,
    files: &[String],
    c: &crate::data::cache::CachedSets,
) -> Result<PathBuf> {
    use crate::data::rows::Rows;
    let sets = [
        ("train", &c.train),
        ("valid", &c.valid),
        ("test", &c.test),
        ("cold", &c.cold),
    ];
    let key = |s: RowSource| (s.file, s.line);
    let in_order = sets
        .iter()
        .all(|(_, s)| (1..s.len()).all(|r| key(s.source(r - 1)) < key(s.source(r))));
    let n: usize = sets.iter().map(|(_, s)| s.len()).sum();
    if !in_order {
        let sources = |s: &crate::data::cache::CachedSet| -> Vec<RowSource> {
            (0..s.len()).map(|r| s.source(r)).collect()
        };
        let all: Vec<(&str, Vec<RowSource>)> =
            sets.iter().map(|(name, s)| (*name, sources(s))).collect();
        let view: Vec<(&str, &[RowSource])> = all.iter().map(|(n, v)| (*n, &v[..])).collect();
        return write_split_text(out, n, split_csv_of(files, &view));
    }
    let (name, other) = if n >= GZIP_ROWS {
        ("split.csv.gz", "split.csv")
    } else {
        ("split.csv", "split.csv.gz")
    };
    let path = out.join(name);
    let tmp = tmp_path(&path);
    let file = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
    let buf = std::io::BufWriter::new(file);
    let mut w: Box<dyn Write> = if n >= GZIP_ROWS {
        Box::new(flate2::write::GzEncoder::new(
            buf,
            flate2::Compression::fast(),
        ))
    } else {
        Box::new(buf)
    };
    let names: Vec<String> = files.iter().map(|f| csv_field(f)).collect();
    let mut at = [0usize; 4];
    let put = |w: &mut Box<dyn Write>, t: &str| w.write_all(t.as_bytes());
    let written = (|| -> std::io::Result<()> {
        put(&mut w, "file,line,set\n")?;
        // a 4-way merge of sets that are each in (file, line) order
        while let Some(i) = (0..4)
            .filter(|&i| at[i] < sets[i].1.len())
            .min_by_key(|&i| key(sets[i].1.source(at[i])))
        {
            let s = sets[i].1.source(at[i]);
            let f = names.get(s.file as usize).map_or("", String::as_str);
            put(&mut w, &format!("{f},{},{}\n", s.line, sets[i].0))?;
            at[i] += 1;
        }
        w.flush()
    })();
    written.map_err(|e| io_err(&tmp, e))?;
    drop(w); // finishes the gzip stream and closes the file
    let f = std::fs::File::open(&tmp).map_err(|e| io_err(&tmp, e))?;
    f.sync_all().map_err(|e| io_err(&tmp, e))?;
    finish(out, &tmp, &path, other)
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    path.with_file_name(tmp_name)
}

/// Renames the written `tmp` to `path` and removes the other form of the file.
fn finish(out: &Path, tmp: &Path, path: &Path, other: &str) -> Result<PathBuf> {
    std::fs::rename(tmp, path).map_err(|e| io_err(path, e))?;
    match std::fs::remove_file(out.join(other)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(&out.join(other), e)),
        _ => Ok(path.to_path_buf()),
    }
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
    let tmp = tmp_path(&path);
    let mut f = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
    f.write_all(&bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| io_err(&tmp, e))?;
    finish(out, &tmp, &path, other)
}
