//! The data files of a run as they were at training time: `<run>/data_files.json`.
//!
//! `mtrec eval` splits the data again from the config; if a file changed since training
//! the "test" rows are other rows and the metrics describe nothing. So training records
//! every file's size and content hash, and eval compares before it splits: a changed,
//! missing or new file is an error listing each change (unless `--allow-changed-data`).
//!
//! The hash is 64-bit FNV-1a over 8-byte little-endian words (the last one zero-padded)
//! followed by the length: `h ← (h ⊕ w) · p mod 2⁶⁴` with FNV's offset basis and prime.
//! Each step is a bijection of `h` for a fixed word, so a file that differs from the
//! recorded one in a single word always gets another hash.

use crate::config::DataConfig;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The file name inside a run folder.
pub const DATA_FILES: &str = "data_files.json";

/// One data file: its name as in `data.files` (or `<folder>/<name>` for a file of a
/// folder entry), its size in bytes and its content hash (16 hex digits).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFingerprint {
    pub file: String,
    pub size: u64,
    pub fnv64: String,
}

fn io_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: message.into(),
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

/// The content hash of the module docs, fed the file's bytes in pieces of any length
/// (the streamed cache build hashes the chunks its first pass reads, in order, instead
/// of reading the file once more: `ChunkReader`). The same bytes in any cut give the
/// same hash (`tests/s10ingest_hash.rs`).
#[derive(Clone, Debug)]
pub struct ContentHash {
    h: u64,
    /// Bytes of a word not yet complete.
    pending: [u8; 8],
    n_pending: usize,
    size: u64,
}

const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Default for ContentHash {
    fn default() -> Self {
        ContentHash {
            h: 0xcbf2_9ce4_8422_2325,
            pending: [0; 8],
            n_pending: 0,
            size: 0,
        }
    }
}

impl ContentHash {
    /// Adds the next `data` of the file.
    pub fn update(&mut self, mut data: &[u8]) {
        self.size += data.len() as u64;
        if self.n_pending > 0 {
            let take = (8 - self.n_pending).min(data.len());
            self.pending[self.n_pending..self.n_pending + take].copy_from_slice(&data[..take]);
            self.n_pending += take;
            data = &data[take..];
            if self.n_pending < 8 {
                return;
            }
            self.h = (self.h ^ u64::from_le_bytes(self.pending)).wrapping_mul(FNV_PRIME);
            self.n_pending = 0;
        }
        let mut words = data.chunks_exact(8);
        let mut h = self.h;
        for w in &mut words {
            let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
            h = (h ^ w).wrapping_mul(FNV_PRIME);
        }
        self.h = h;
        let rest = words.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.n_pending = rest.len();
    }

    /// The file's size and hash: the last word zero-padded, then the length.
    pub fn finish(&self) -> (u64, u64) {
        let mut h = self.h;
        if self.n_pending > 0 {
            let mut w = [0u8; 8];
            w[..self.n_pending].copy_from_slice(&self.pending[..self.n_pending]);
            h = (h ^ u64::from_le_bytes(w)).wrapping_mul(FNV_PRIME);
        }
        (self.size, (h ^ self.size).wrapping_mul(FNV_PRIME))
    }
}

/// Size and FNV hash of the file at `path`, read in 1 MiB blocks.
fn hash_file(path: &Path) -> Result<(u64, u64)> {
    let mut f = std::fs::File::open(path)
        .map_err(|e| io_err(path, format!("cannot read the data file: {e}")))?;
    let mut hash = ContentHash::default();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match f.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err(path, format!("cannot read the data file: {e}"))),
        };
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    Ok(hash.finish())
}

/// Every file a run reads: `data.files`, then the side tables of `[[data.join]]`.
fn entries(cfg: &DataConfig) -> impl Iterator<Item = &String> {
    cfg.files.iter().chain(cfg.join.iter().map(|j| &j.file))
}

/// The fingerprints of every file of `cfg.files` and of each `[[data.join]]` side
/// table (relative ones under `data_dir`); an entry that is a folder (MovieLens)
/// contributes each regular file in it, by name.
pub fn fingerprint(cfg: &DataConfig, data_dir: &Path) -> Result<Vec<FileFingerprint>> {
    fingerprint_with(cfg, data_dir, &[])
}

/// [`fingerprint`], taking the size and hash of a file listed in `known` (its path as
/// resolved under `data_dir`) from there instead of reading it: the hashes the streamed
/// cache build computed while reading the files.
pub fn fingerprint_with(
    cfg: &DataConfig,
    data_dir: &Path,
    known: &[(PathBuf, u64, u64)],
) -> Result<Vec<FileFingerprint>> {
    let mut out = Vec::new();
    for (file, p) in data_files(cfg, data_dir)? {
        let (size, h) = match known.iter().find(|k| k.0 == p) {
            Some(&(_, size, h)) => (size, h),
            None => hash_file(&p)?,
        };
        out.push(FileFingerprint {
            file,
            size,
            fnv64: format!("{h:016x}"),
        });
    }
    Ok(out)
}

/// Every file [`fingerprint`] hashes, in its order: its name as listed there and its
/// path.
pub fn data_files(cfg: &DataConfig, data_dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for entry in entries(cfg) {
        let path = resolve(data_dir, entry);
        if path.is_dir() {
            let mut files: Vec<(String, PathBuf)> = Vec::new();
            let rd = std::fs::read_dir(&path)
                .map_err(|e| io_err(&path, format!("cannot list the data folder: {e}")))?;
            for e in rd.flatten() {
                if e.path().is_file() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    files.push((format!("{entry}/{name}"), e.path()));
                }
            }
            files.sort();
            out.extend(files);
        } else {
            out.push((entry.clone(), path));
        }
    }
    Ok(out)
}

/// Writes `<out>/data_files.json` for the files of `cfg` (called when a run starts).
pub fn write_data_files(out: &Path, cfg: &DataConfig, data_dir: &Path) -> Result<()> {
    let fp = fingerprint(cfg, data_dir)?;
    let path = out.join(DATA_FILES);
    let text = serde_json::to_string_pretty(&fp).map_err(|e| io_err(&path, e.to_string()))?;
    let tmp = out.join(format!("{DATA_FILES}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, text + "\n").map_err(|e| io_err(&tmp, e.to_string()))?;
    std::fs::rename(&tmp, &path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_err(&path, e.to_string())
    })
}

/// What changed between the files recorded in `<run>/data_files.json` and the files of
/// `cfg` now, one sentence per change (empty: nothing changed). `Ok(None)` when the run
/// folder has no record (written by an older mtrec).
pub fn changes_since_training(
    run_dir: &Path,
    cfg: &DataConfig,
    data_dir: &Path,
) -> Result<Option<Vec<String>>> {
    let path = run_dir.join(DATA_FILES);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(&path, e.to_string())),
    };
    let then: Vec<FileFingerprint> = serde_json::from_str(&text).map_err(|e| {
        io_err(
            &path,
            format!("is not the list of data files mtrec writes ({e}); was it edited?"),
        )
    })?;
    let mut now = Vec::new();
    let mut changes = Vec::new();
    for entry in entries(cfg) {
        // a file that cannot be read now is a change, not an I/O error of eval
        let one = DataConfig {
            files: vec![entry.clone()],
            join: Vec::new(),
            ..cfg.clone()
        };
        match fingerprint(&one, data_dir) {
            Ok(fp) => now.extend(fp),
            Err(_) => changes.push(format!(
                "`{entry}` cannot be read now (missing or unreadable under {})",
                data_dir.display()
            )),
        }
    }
    for t in &then {
        match now.iter().find(|n| n.file == t.file) {
            None if changes.iter().any(|c| c.contains(&format!("`{}`", t.file))) => {}
            None => changes.push(format!("`{}` was read at training time but not now", t.file)),
            Some(n) if n.size != t.size => changes.push(format!(
                "`{}` has {} bytes now but had {} at training time",
                t.file, n.size, t.size
            )),
            Some(n) if n.fnv64 != t.fnv64 => changes.push(format!(
                "`{}` has the same size but other contents than at training time (hash {} now, {} then)",
                t.file, n.fnv64, t.fnv64
            )),
            Some(_) => {}
        }
    }
    for n in &now {
        if !then.iter().any(|t| t.file == n.file) {
            changes.push(format!("`{}` was not there at training time", n.file));
        }
    }
    Ok(Some(changes))
}
