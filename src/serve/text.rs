//! Text inputs of `/infer`: a text feature's column (e.g. a movie title) arrives as a
//! `BYTES` input, one string per row; each distinct text of a request is embedded by the
//! run's encoder (found as `mtrec predict` finds it: `$MTREC_MODELS`,
//! `<$MTREC_DATA or data>/../models`, the working directory, or the absolute path the
//! run names) and fed to the model through the run's adaptor, as `mtrec predict` does.
//!
//! ```text
//! request column `title` (N rows, U distinct texts) ──memo──▶ hits
//!                                                  └──misses──▶ encoder (loaded once) ──▶ memo
//! (U, D_t) table + each row's text id ──▶ Encoded::text, as attach_texts builds it
//! ```
//!
//! **Cache.** One [`TextMemo`] per encoder folder for the whole process (every model, every
//! thread, every reload): the encoder is loaded at the first text that needs it and
//! kept, and every text embedded is kept in memory (at most [`MEMO_TEXTS`]; the memo
//! starts over when full), so a text that comes again is not embedded again.

use super::errors::{from_lib, ApiError};
use crate::data::features::{Encoded, FeatureSpec, TextRows};
use crate::data::ingest::RawTable;
use crate::error::{Error, Result};
use crate::text::Encoder;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Texts kept per encoder before the memo starts over (384 floats each for MiniLM:
/// ~150 MB at most).
pub const MEMO_TEXTS: usize = 100_000;

/// The embeddings of one encoder folder: the encoder once loaded, and every text it
/// embedded.
pub struct TextMemo {
    pub dir: PathBuf,
    encoder: Mutex<Option<Arc<Encoder>>>,
    /// text → its vector (D_t,).
    memo: Mutex<HashMap<String, Arc<[f32]>>>,
}

impl std::fmt::Debug for TextMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TextMemo({})", self.dir.display())
    }
}

/// The process's memo of the encoder in `dir`.
pub fn memo(dir: &Path) -> Arc<TextMemo> {
    static MEMOS: OnceLock<Mutex<HashMap<PathBuf, Arc<TextMemo>>>> = OnceLock::new();
    let mut all = MEMOS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    all.entry(dir.to_path_buf())
        .or_insert_with(|| {
            Arc::new(TextMemo {
                dir: dir.to_path_buf(),
                encoder: Mutex::new(None),
                memo: Mutex::new(HashMap::new()),
            })
        })
        .clone()
}

/// The encoder folders of `spec`'s text features, resolved as `mtrec predict` does
/// without `--models-dir`.
pub fn memos(spec: &FeatureSpec) -> Result<Vec<Arc<TextMemo>>> {
    let data_dir = std::env::var_os("MTREC_DATA")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("data"), PathBuf::from);
    spec.text
        .iter()
        .map(|t| {
            let dir = crate::train::run::text::resolve_encoder(&t.encoder, &data_dir, None)?;
            Ok(memo(&dir))
        })
        .collect()
}

impl TextMemo {
    /// `(D_t, (U, D_t))`: the vectors of `texts` (distinct), from the memo or embedded.
    pub fn embed(&self, texts: &[String]) -> Result<(usize, Vec<f32>)> {
        let mut memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        let missing: Vec<&str> = texts
            .iter()
            .filter(|t| !memo.contains_key(t.as_str()))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            let enc = self.encoder()?;
            let m = enc.encode(&missing, crate::text::cache::CACHE_BATCH)?; // (U_miss, D_t)
            if memo.len() + missing.len() > MEMO_TEXTS {
                memo.clear();
            }
            for (t, row) in missing.iter().zip(m.rows()) {
                memo.insert(t.to_string(), row.iter().copied().collect());
            }
        }
        let width = texts.first().map_or(0, |t| memo[t.as_str()].len());
        let mut out = Vec::with_capacity(texts.len() * width);
        for t in texts {
            out.extend_from_slice(&memo[t.as_str()]);
        }
        Ok((width, out))
    }

    fn encoder(&self) -> Result<Arc<Encoder>> {
        let mut e = self.encoder.lock().unwrap_or_else(|p| p.into_inner());
        if e.is_none() {
            *e = Some(Arc::new(Encoder::load(&self.dir)?));
        }
        Ok(e.clone().expect("loaded"))
    }
}

/// Attaches the text features of `spec` to `enc` (its encoding of `table`): each
/// distinct text of a text column embedded once, through `memos` (one per feature).
pub fn attach(
    spec: &FeatureSpec,
    memos: &[Arc<TextMemo>],
    table: &RawTable,
    enc: &mut Encoded,
) -> std::result::Result<(), ApiError> {
    enc.text.clear();
    for (t, memo) in spec.text.iter().zip(memos) {
        let col = table.column(&t.column).ok_or_else(|| {
            ApiError::bad_request(format!(
                "missing input `{}` (a text feature: one string per row)",
                t.column
            ))
        })?;
        let texts: Vec<String> = col.dict.iter().map(|s| s.trim().to_string()).collect();
        let (width, values) = memo.embed(&texts).map_err(from_lib)?;
        if width != t.d_text {
            return Err(from_lib(Error::Config {
                what: format!("text feature `{}`", t.name),
                message: format!(
                    "was trained on vectors of width {}, but encoder {} gives width {width}; serve the encoder the run was trained with",
                    t.d_text,
                    memo.dir.display()
                ),
            }));
        }
        enc.text.push(TextRows {
            dim: width,
            table: Arc::new(values),
            ids: col.values.clone(),
        });
    }
    Ok(())
}

/// The text features of `parts` (encodings of consecutive requests) one after the
/// other: the tables stacked, each part's ids shifted past the rows before it.
pub fn concat(parts: &[Encoded]) -> Vec<TextRows> {
    let n_text = parts.first().map_or(0, |p| p.text.len());
    (0..n_text)
        .map(|f| {
            let dim = parts[0].text[f].dim;
            let mut table = Vec::new();
            let mut ids = Vec::new();
            for p in parts {
                let t = &p.text[f];
                let base = (table.len() / dim.max(1)) as u32;
                ids.extend(t.ids.iter().map(|&i| i + base));
                table.extend_from_slice(&t.table);
            }
            TextRows {
                dim,
                table: Arc::new(table),
                ids,
            }
        })
        .collect()
}
