//! Text features in recommendation: each side's text columns embedded when that side is
//! encoded, with the run's encoder and the shared content-keyed text cache.
//!
//! ```text
//! catalogue (N items) ──item-side text columns: distinct texts──▶ encoder (cache) ──▶ (U_i, D_t)   at load, once
//! users (per request) ──user-side text columns: distinct texts──▶ encoder (cache) ──▶ (U_u, D_t)   per request
//! the other side's text columns ──▶ one zero row (filler, never read)
//! ```
//!
//! A (user, item) row takes each text feature from the side that owns its column, like
//! every other feature (`recommender::score`), so its vector is the one `mtrec predict`
//! embeds for the same text: the same encoder, mean pooling and normalisation, only the
//! batch the text was encoded in differs. The two-tower split reads a text feature's
//! adapted columns on its side: an item title's part of the first layer is computed
//! once per item (`two_tower.rs`).
//!
//! **Cache.** The native encoder keeps its embeddings in the shared text cache
//! (`text::cache`: `$MTREC_CACHE/text`, else `$XDG_CACHE_HOME/mtrec/text`, else
//! `~/.cache/mtrec/text`), keyed by the model files' content and the texts: a second start
//! on the same catalogue reads the catalogue's vectors instead of running the encoder
//! (stderr says which: `text cache: read …` or `text cache: embedded …`).

use super::load::Sides;
use crate::data::features::{attach_texts, Encoded, FeatureSpec, TextEnv, TextRows};
use crate::data::ingest::RawTable;
use crate::error::Result;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the encoder of a text feature is found and its vectors cached.
#[derive(Clone, Debug)]
pub struct TextSource {
    /// `--data-dir`: `<data-dir>/../models` is searched for the encoder.
    pub data_dir: PathBuf,
    /// `--models-dir`, searched first.
    pub models_dir: Option<PathBuf>,
    /// The run's `text_cache/` (used only where there is no shared cache folder).
    pub cache_dir: PathBuf,
}

impl TextSource {
    pub fn new(run_dir: &Path, data_dir: &Path, models_dir: Option<&Path>) -> TextSource {
        TextSource {
            data_dir: data_dir.to_path_buf(),
            models_dir: models_dir.map(Path::to_path_buf),
            cache_dir: crate::train::run::text_cache_dir(run_dir),
        }
    }

    /// Attaches the text features of `spec` to `enc` (the encoding of `table` with
    /// `spec`): those whose column belongs to this side (`user`) embedded, every
    /// distinct text once; the others get one zero row of width D_t that every row
    /// points at (the other side's values are never read).
    pub fn attach(
        &self,
        spec: &FeatureSpec,
        sides: &Sides,
        user: bool,
        table: &RawTable,
        enc: &mut Encoded,
    ) -> Result<()> {
        enc.text.clear();
        if spec.text.is_empty() {
            return Ok(());
        }
        let n = enc.len();
        let own: Vec<bool> = sides.text.iter().map(|&u| u == user).collect();
        let mut embedded = Vec::new().into_iter();
        if own.iter().any(|&o| o) {
            let mut mine = spec.clone();
            let mut flags = own.iter();
            mine.text
                .retain(|_| *flags.next().expect("one side per text feature"));
            let provider = crate::train::run::text::native_provider(
                &self.data_dir,
                self.models_dir.as_deref(),
            );
            let env = TextEnv {
                provider: &provider,
                cache_dir: Some(self.cache_dir.clone()),
            };
            let mut side = Encoded::default();
            attach_texts(&mut mine, table, &mut side, &env)?;
            embedded = side.text.into_iter();
        }
        for (t, &o) in spec.text.iter().zip(&own) {
            let rows = if o {
                embedded.next().expect("one embedding per own text feature")
            } else {
                TextRows {
                    dim: t.d_text,
                    table: Arc::new(vec![0.0; t.d_text]), // (1, D_t), never read
                    ids: vec![0; n],
                }
            };
            enc.text.push(rows);
        }
        Ok(())
    }
}
