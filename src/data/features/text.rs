//! Text columns: each distinct text of a column embedded once by a frozen sentence
//! encoder, cached in the run folder, and looked up per row.
//!
//! ```text
//! column `title` (N rows, U distinct texts) ──TextEmbedder (cached)──▶ (U, D_t) table
//! row r ──▶ id = the row's text code in 0..U  ──Encoded::batch──▶ (B, D_t) per batch
//! ```
//!
//! The text of a row is side information available at prediction time (a new movie has
//! a title before anyone rates it), so the table covers the texts of every row read,
//! including held-out (cold) items; nothing about labels is involved. An item the
//! training split never saw still gets its own text vector, while its id maps to the
//! out-of-vocabulary row 0 of the id embedding.
//!
//! **Encoders.** A [`TextEmbedder`] turns texts into vectors. The run uses the native
//! MiniLM encoder (`train::run` wires it in); tests use small deterministic doubles.
//! **Cache.** [`TextEmbedder::embed_cached`] stores the `(U, D_t)` matrix under the run's
//! `text_cache/` folder, keyed by the encoder's [`TextEmbedder::key`] (model identity)
//! and a hash of the texts, so that a second run, `mtrec eval` or `mtrec predict` on the
//! same texts loads it instead of recomputing. The default implementation writes
//! `<key>-<fnv1a64 of the texts>.f32` (a `MTRECTXT` header, U, D_t as little-endian
//! u64, then U·D_t little-endian f32); encoders with their own cache override it.

use super::encoded::Encoded;
use super::spec::FeatureSpec;
use super::vocab::fnv1a64;
use crate::config::{AdaptorChoice, TextMode};
use crate::data::ingest::RawTable;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A fitted text feature (`[features.text]` of the id feature `name`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TextSpec {
    /// The id feature the text describes.
    pub name: String,
    /// The text column.
    pub column: String,
    pub mode: TextMode,
    /// The encoder as configured (a model folder).
    pub encoder: String,
    pub adaptor: AdaptorChoice,
    /// moe: number of experts.
    pub experts: usize,
    /// Output width D of the adaptor.
    pub dim: usize,
    /// Width D_t of the encoder's vectors; 0 until texts were embedded.
    pub d_text: usize,
}

/// One text feature of N encoded rows: the shared `(U, D_t)` table and each row's id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TextRows {
    /// D_t.
    pub dim: usize,
    /// `(U, D_t)` row-major, shared by every subset of the rows.
    pub table: Arc<Vec<f32>>,
    /// Row r's text is table row `ids[r]`.                   // (N,)
    pub ids: Vec<u32>,
}

/// Something that turns texts into fixed-width vectors.
pub trait TextEmbedder {
    /// Identity of the model (name and a fingerprint of its files), used in cache keys.
    fn key(&self) -> String;

    /// `texts (U) → (D_t, (U, D_t) row-major)`.
    fn embed(&self, texts: &[String]) -> Result<(usize, Vec<f32>)>;

    /// [`TextEmbedder::embed`], read from / written to `cache_dir` when given (see the
    /// module docs for the file layout).
    fn embed_cached(
        &self,
        texts: &[String],
        cache_dir: Option<&Path>,
    ) -> Result<(usize, Vec<f32>)> {
        let Some(dir) = cache_dir else {
            return self.embed(texts);
        };
        let path = cache_path(dir, &self.key(), texts);
        if let Some(hit) = read_cache(&path, texts.len())? {
            return Ok(hit);
        }
        let (width, v) = self.embed(texts)?;
        write_cache(&path, texts.len(), width, &v)?;
        Ok((width, v))
    }
}

/// Builds the embedder for a text feature (the run's encoder, or a test double).
pub type TextProvider<'a> = dyn Fn(&TextSpec) -> Result<Box<dyn TextEmbedder>> + 'a;

/// How [`attach_texts`] embeds: which encoder per feature, and where the cache lives.
pub struct TextEnv<'a> {
    pub provider: &'a TextProvider<'a>,
    /// `<run>/text_cache`; `None`: no cache (recompute).
    pub cache_dir: Option<PathBuf>,
}

/// `<dir>/<key>-<hash>.f32`; the key is reduced to file-name-safe characters.
pub fn cache_path(dir: &Path, key: &str, texts: &[String]) -> PathBuf {
    let mut bytes = Vec::new();
    for t in texts {
        bytes.extend_from_slice(t.as_bytes());
        bytes.push(0);
    }
    let safe: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{safe}-{:016x}.f32", fnv1a64(&bytes)))
}

const MAGIC: &[u8; 8] = b"MTRECTXT";

fn io_err(path: &Path, message: String) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message,
    }
}

fn read_cache(path: &Path, n: usize) -> Result<Option<(usize, Vec<f32>)>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(_) => return Ok(None),
    };
    let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
    if bytes.len() < 24 || &bytes[..8] != MAGIC || u64_at(8) as usize != n {
        return Err(io_err(
            path,
            "is not a text cache for these texts; delete it to recompute".into(),
        ));
    }
    let width = u64_at(16) as usize;
    if bytes.len() != 24 + 4 * n * width {
        return Err(io_err(path, "is cut off; delete it to recompute".into()));
    }
    let v = bytes[24..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect();
    Ok(Some((width, v)))
}

fn write_cache(path: &Path, n: usize, width: usize, v: &[f32]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| io_err(dir, format!("cannot create the text cache folder: {e}")))?;
    }
    let mut bytes = Vec::with_capacity(24 + 4 * v.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&(n as u64).to_le_bytes());
    bytes.extend_from_slice(&(width as u64).to_le_bytes());
    for x in v {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    let tmp = path.with_extension("f32.tmp");
    std::fs::write(&tmp, &bytes)
        .map_err(|e| io_err(&tmp, format!("cannot write the text cache: {e}")))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| io_err(path, format!("cannot write the text cache: {e}")))
}

/// Embeds the distinct texts of every text feature of `spec` that uses its text and
/// attaches them to `enc` (the encoding of `table`, same rows). Sets `d_text` in `spec`;
/// a spec that already has one (read from a run folder) must get the same width.
pub fn attach_texts(
    spec: &mut FeatureSpec,
    table: &RawTable,
    enc: &mut Encoded,
    env: &TextEnv<'_>,
) -> Result<()> {
    enc.text.clear();
    for t in spec.text.iter_mut() {
        let col = table.column(&t.column).ok_or_else(|| Error::Config {
            what: format!("text column `{}` of feature `{}`", t.column, t.name),
            message: format!(
                "was not read (columns: {}); add it to the data",
                table.names.join(", ")
            ),
        })?;
        let (width, values) = embed_dict(t, &col.dict, env)?;
        enc.text.push(TextRows {
            dim: width,
            table: values,
            ids: col.values.clone(),
        });
    }
    Ok(())
}

/// The vectors of the texts `dict` (a text column's dictionary, trimmed here) for the
/// text feature `t`: `(D_t, (U, D_t) row-major)`, through the encoder and cache of
/// `env`, checked (width, finite values, the width the run was trained with); sets
/// `t.d_text`. [`attach_texts`] embeds a table's dictionary with it; `mtrec predict`
/// the dictionary of its whole input, gathered chunk by chunk.
pub fn embed_dict(
    t: &mut TextSpec,
    dict: &[String],
    env: &TextEnv<'_>,
) -> Result<(usize, Arc<Vec<f32>>)> {
    let texts: Vec<String> = dict.iter().map(|s| s.trim().to_string()).collect();
    let embedder = (env.provider)(t)?;
    let (width, values) = embedder.embed_cached(&texts, env.cache_dir.as_deref())?;
    if values.len() != texts.len() * width || width == 0 {
        return Err(Error::Length {
            op: "attach_texts",
            what: format!(
                "vectors of {} texts of width {width} from encoder `{}`",
                texts.len(),
                t.encoder
            ),
            len: values.len(),
            expected: texts.len() * width,
        });
    }
    if let Some(p) = values.iter().position(|v| !v.is_finite()) {
        return Err(Error::Value {
            op: "attach_texts",
            what: format!(
                "vector of text {:?} (column `{}`)",
                texts[p / width],
                t.column
            ),
            position: p % width,
            value: values[p] as f64,
            expected: "finite numbers from the text encoder".into(),
        });
    }
    if t.d_text != 0 && t.d_text != width {
        return Err(Error::Config {
            what: format!("text feature `{}`", t.name),
            message: format!(
                "was trained on vectors of width {}, but encoder `{}` gives width {width}; use the encoder the run was trained with",
                t.d_text, t.encoder
            ),
        });
    }
    t.d_text = width;
    Ok((width, Arc::new(values)))
}
