//! The run's text encoder: where `[features.text] encoder` is found, and the embedder
//! that `mtrec train`, `eval` and `predict` use for it.
//!
//! `encoder` names a model folder. An absolute path is used as it is; a relative one is
//! looked up, in this order, under `--models-dir` (when given), under `$MTREC_MODELS`
//! (when set), under `<data-dir>/../models` (the layout `shared/data` + `shared/models`),
//! and under the working directory. The first folder that exists wins; if none does, the
//! error lists every place tried. `mtrec train`, `eval`, `predict` and `seq` all look up
//! their encoder this way.

use crate::data::features::{TextEmbedder, TextSpec};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The model folder of `encoder` (see the module docs); `models_dir` is `--models-dir`.
pub fn resolve_encoder(
    encoder: &str,
    data_dir: &Path,
    models_dir: Option<&Path>,
) -> Result<PathBuf> {
    let p = Path::new(encoder);
    let mut tried = Vec::new();
    if p.is_absolute() {
        tried.push(p.to_path_buf());
    } else {
        if let Some(m) = models_dir {
            tried.push(m.join(p));
        }
        if let Some(m) = std::env::var_os("MTREC_MODELS") {
            tried.push(PathBuf::from(m).join(p));
        }
        tried.push(data_dir.join("..").join("models").join(p));
        tried.push(p.to_path_buf());
    }
    if let Some(found) = tried.iter().find(|dir| dir.is_dir()) {
        return Ok(found.clone());
    }
    Err(Error::Config {
        what: format!("text encoder `{encoder}`"),
        message: format!(
            "is not a model folder; tried {}: pass --models-dir (or set MTREC_MODELS) to the folder holding the model, or give an absolute path",
            tried
                .iter()
                .map(|dir| dir.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// The native sentence encoder in a model folder (MiniLM, `crate::text`), cached by
/// `text::cache::embed_cached` (file `emb-<model content hash>-<texts hash>.safetensors`).
pub struct NativeEncoder {
    pub dir: PathBuf,
}

impl TextEmbedder for NativeEncoder {
    fn key(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "encoder".into())
    }

    fn embed(&self, texts: &[String]) -> Result<(usize, Vec<f32>)> {
        native_embed(&self.dir, texts, None)
    }

    fn embed_cached(
        &self,
        texts: &[String],
        cache_dir: Option<&Path>,
    ) -> Result<(usize, Vec<f32>)> {
        native_embed(&self.dir, texts, cache_dir)
    }
}

fn native_embed(
    dir: &Path,
    texts: &[String],
    cache_dir: Option<&Path>,
) -> Result<(usize, Vec<f32>)> {
    let m = match cache_dir {
        // Keyed by the model files' content and the texts (see `text::cache`): the shared
        // cache of every command; `cache` (the run's `text_cache/`) only when there is
        // no shared folder, or for a run of an older version that cached there.
        Some(cache) => match crate::text::cache::shared_dir() {
            Some(shared) => {
                let old = crate::text::cache::cache_path(dir, texts, cache)?;
                let new = crate::text::cache::cache_path(dir, texts, &shared)?;
                match crate::text::cache::read_cache(&old, texts.len()) {
                    Some(Ok(m)) if !new.exists() => {
                        crate::text::cache::write_embeddings(&new, &m)?;
                        m
                    }
                    _ => crate::text::cache::embed_cached(dir, texts, &shared)?,
                }
            }
            None => crate::text::cache::embed_cached(dir, texts, cache)?,
        },
        None => {
            let enc = crate::text::encoder::Encoder::load(dir)?;
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            enc.encode(&refs, crate::text::cache::CACHE_BATCH)?
        }
    };
    let width = m.ncols();
    Ok((width, m.iter().copied().collect())) // (U, D_t) row-major
}

/// The embedder for `spec`, its encoder resolved against `models_dir` and `data_dir`.
pub fn native_provider<'a>(
    data_dir: &'a Path,
    models_dir: Option<&'a Path>,
) -> impl Fn(&TextSpec) -> Result<Box<dyn TextEmbedder>> + 'a {
    move |spec: &TextSpec| {
        let dir = resolve_encoder(&spec.encoder, data_dir, models_dir)?;
        Ok(Box::new(NativeEncoder { dir }) as Box<dyn TextEmbedder>)
    }
}

#[cfg(test)]
mod lookup_tests {
    use super::resolve_encoder;

    /// `--models-dir` is searched before `<data-dir>/../models`; a missing encoder's
    /// error names every folder tried.
    #[test]
    fn models_dir_comes_first_and_the_error_lists_every_place() {
        let root =
            std::env::temp_dir().join(format!("mtrec-encoder-lookup-{}", std::process::id()));
        let (flag, data) = (root.join("flag"), root.join("shared").join("data"));
        let name = "mtrec-lookup-test-encoder";
        for dir in [
            flag.join(name),
            root.join("shared").join("models").join(name),
            data.clone(),
        ] {
            std::fs::create_dir_all(dir).unwrap();
        }
        assert_eq!(
            resolve_encoder(name, &data, Some(&flag)).unwrap(),
            flag.join(name)
        );
        let via_data = resolve_encoder(name, &data, None).unwrap();
        assert_eq!(via_data, data.join("..").join("models").join(name));
        let e = resolve_encoder("no-such-encoder", &data, Some(&flag))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&flag.join("no-such-encoder").display().to_string()),
            "{e}"
        );
        assert!(e.contains("--models-dir"), "{e}");
        let _ = std::fs::remove_dir_all(&root);
    }
}
