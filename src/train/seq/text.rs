//! The frozen item-text vectors of a seq run that reads text (`model.item_input = "text"`
//! or `"text+id"`): every item's text embedded by the run's sentence encoder through the
//! shared content-keyed text cache (`text::cache`), so `mtrec seq`, `recommend`, `serve`,
//! `eval` and `predict` read the same vectors and only the first of them embeds.
//!
//! ```text
//! item texts (V)  ──encoder (cache)──▶  (V, D_text)  ──padding row 0 prepended──▶  X_text (V+1, D_text)
//! ```

use crate::data::sequences::SeqData;
use crate::error::{Error, Result};
use crate::text::cache::embed_cached;
use std::path::{Path, PathBuf};

/// `model.text_cache`, or (empty) the cache every command shares.
pub fn text_cache_dir(configured: &str) -> PathBuf {
    if configured.is_empty() {
        crate::text::cache::shared_dir().unwrap_or_else(|| PathBuf::from("runs/text-cache"))
    } else {
        PathBuf::from(configured)
    }
}

/// Frozen text vectors of every item, `(V+1, D_text)`, row 0 (padding) zero: the item
/// texts embedded by the sentence encoder in `model_dir`, cached under `cache_dir`.
/// Returns the vectors and `D_text`.
pub fn item_text_vectors(
    data: &SeqData,
    model_dir: &Path,
    cache_dir: &Path,
) -> Result<(Vec<f32>, usize)> {
    let texts = &data.item_text[1..];
    if texts.iter().all(|t| t.is_empty()) {
        return Err(Error::Config {
            what: "model.item_input".into(),
            message: format!("{} has no item text; use item_input = \"id\"", data.name),
        });
    }
    let t0 = std::time::Instant::now();
    let m = embed_cached(model_dir, texts, cache_dir)?; // (V, D_text)
    let width = m.ncols();
    let mut out = vec![0.0; width]; // padding row
    out.extend(m.iter().copied());
    eprintln!(
        "item text vectors: {} × {width} in {:.0}s (cache {})",
        texts.len(),
        t0.elapsed().as_secs_f64(),
        cache_dir.display()
    );
    Ok((out, width))
}
