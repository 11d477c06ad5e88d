//! An on-disk cache of sentence embeddings, so experiments that embed the same item
//! texts (MovieLens titles, product names) encode them once.
//!
//! [`embed_cached`]`(model_dir, texts, cache_dir)` returns the `(N, D)` embeddings. The file
//! is `cache_dir/emb-<model key>-<texts key>.safetensors` with one F32 tensor
//! `embeddings` `(N, D)`:
//!
//! - **model key**: FNV-1a 64 of the *content* of `config.json`, `vocab.txt`,
//!   `tokenizer_config.json`, `sentence_bert_config.json` (those present) and
//!   `model.safetensors` (≈ 0.1 s for MiniLM's 90 MB). Content rather than size + mtime:
//!   a copied or re-downloaded model still hits, a changed one never does;
//! - **texts key**: FNV-1a 64 of the texts in order, each prefixed by its byte length.
//!
//! A second call with the same model and texts loads the file instead of running the
//! encoder. A cache file that cannot be read, has the wrong shape, or holds a row that is
//! all zeros or not finite (an encoder's output is L2-normalised, so neither can be an
//! embedding: the file was damaged or written by something else) is recomputed and
//! overwritten, with a note on stderr. Files are written to a temporary name and renamed into place.
//!
//! **One cache for every command.** [`shared_dir`] is where `mtrec train`, `eval`,
//! `predict` (the native encoder), `seq` and `embed` keep these files, so a text embedded
//! by one command is read by the others and by later runs: `$MTREC_CACHE/text` when
//! `MTREC_CACHE` is set, else `$XDG_CACHE_HOME/mtrec/text`, else `~/.cache/mtrec/text`.
//! Each call says on stderr whether it read the cache or ran the encoder (and stored).

use super::encoder::Encoder;
use crate::error::{Error, Result};
use ndarray::Array2;
use safetensors::{Dtype, SafeTensors, View};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// The shared embedding cache (see the module docs); `None` when neither `MTREC_CACHE`,
/// `XDG_CACHE_HOME` nor `HOME` is set.
pub fn shared_dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(root) = var("MTREC_CACHE") {
        return Some(root.join("text"));
    }
    // XDG: a relative XDG_CACHE_HOME is invalid and ignored
    if let Some(xdg) = var("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        return Some(xdg.join("mtrec").join("text"));
    }
    var("HOME").map(|h| h.join(".cache").join("mtrec").join("text"))
}

/// Texts per forward pass when the cache has to compute.
pub const CACHE_BATCH: usize = 64;

/// 64-bit FNV-1a.
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= x as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// The model key: content hash of the model folder's files (see the module docs).
pub fn model_key(model_dir: &Path) -> Result<u64> {
    let mut h = Fnv::new();
    for name in [
        "config.json",
        "vocab.txt",
        "tokenizer_config.json",
        "sentence_bert_config.json",
        "model.safetensors",
    ] {
        let path = model_dir.join(name);
        if !path.exists() {
            continue;
        }
        // a FIFO would block the read below: refuse anything but a regular file
        crate::checkpoint::safetensors_io::check_regular_file(&path, "model file")?;
        let bytes = std::fs::read(&path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: format!("cannot read the model file to key the embedding cache: {e}"),
        })?;
        h.bytes(name.as_bytes());
        h.bytes(&(bytes.len() as u64).to_le_bytes());
        h.bytes(&bytes);
    }
    Ok(h.0)
}

/// The texts key: hash of the texts in order, each prefixed by its length.
pub fn texts_key<S: AsRef<str>>(texts: &[S]) -> u64 {
    let mut h = Fnv::new();
    for t in texts {
        let t = t.as_ref().as_bytes();
        h.bytes(&(t.len() as u64).to_le_bytes());
        h.bytes(t);
    }
    h.0
}

/// Where [`embed_cached`] keeps the embeddings of `texts` under `model_dir`'s model.
pub fn cache_path<S: AsRef<str>>(
    model_dir: &Path,
    texts: &[S],
    cache_dir: &Path,
) -> Result<PathBuf> {
    let key = model_key(model_dir)?;
    Ok(cache_dir.join(format!(
        "emb-{key:016x}-{:016x}.safetensors",
        texts_key(texts)
    )))
}

/// The `(N, D)` embeddings of `texts` by the model in `model_dir`, loaded from `cache_dir`
/// if computed before, else computed and stored there.
pub fn embed_cached<S: AsRef<str>>(
    model_dir: &Path,
    texts: &[S],
    cache_dir: &Path,
) -> Result<Array2<f32>> {
    let path = cache_path(model_dir, texts, cache_dir)?;
    match read_cache(&path, texts.len()) {
        Some(Ok(m)) => {
            eprintln!(
                "text cache: read {} embeddings from {}",
                texts.len(),
                path.display()
            );
            return Ok(m);
        }
        Some(Err(row)) => eprintln!(
            "note: {}: cached embedding row {row} is all zeros or not finite; the cache is damaged, embedding the texts again",
            path.display()
        ),
        None => {}
    }
    let enc = Encoder::load(model_dir)?;
    let refs: Vec<&str> = texts.iter().map(|t| t.as_ref()).collect();
    let (m, secs) = super::progress::encode_with_bar(&enc, &refs, CACHE_BATCH)?;
    write_embeddings(&path, &m)?;
    eprintln!(
        "text cache: embedded {} texts in {secs:.2} s ({:.1} texts/s), stored in {}",
        texts.len(),
        texts.len() as f64 / secs.max(1e-9),
        path.display()
    );
    Ok(m)
}

/// The cached matrix if `path` holds an `embeddings` tensor of `n` rows; `Err(row)` when
/// a row is all zeros or holds a NaN/inf (not an embedding); `None` when there is no
/// usable file.
pub fn read_cache(path: &Path, n: usize) -> Option<std::result::Result<Array2<f32>, usize>> {
    let bytes = std::fs::read(path).ok()?;
    let st = SafeTensors::deserialize(&bytes).ok()?;
    let t = st.tensor("embeddings").ok()?;
    if t.dtype() != Dtype::F32 || t.shape().len() != 2 || t.shape()[0] != n {
        return None;
    }
    let data: Vec<f32> = t
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let width = t.shape()[1];
    if width > 0 {
        let bad = data
            .chunks(width)
            .position(|r| r.iter().all(|&x| x == 0.0) || r.iter().any(|x| !x.is_finite()));
        if let Some(row) = bad {
            return Some(Err(row));
        }
    }
    Array2::from_shape_vec((n, width), data).ok().map(Ok)
}

struct F32View {
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &F32View {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// Writes `m` `(N, D)` as the F32 tensor `embeddings` of a safetensors file, atomically
/// (temporary file in the same folder, then rename); creates the folder if needed.
pub fn write_embeddings(path: &Path, m: &Array2<f32>) -> Result<()> {
    let io = |p: &Path, e: String| Error::Io {
        path: p.display().to_string(),
        message: e,
    };
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)
                .map_err(|e| io(dir, format!("cannot create the folder: {e}")))?;
        }
    }
    let view = F32View {
        shape: vec![m.nrows(), m.ncols()],
        bytes: m.iter().flat_map(|x| x.to_le_bytes()).collect(),
    };
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    safetensors::serialize_to_file([("embeddings", &view)], &None, &tmp)
        .map_err(|e| io(&tmp, format!("cannot write the embeddings: {e}")))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| io(path, format!("cannot move the embeddings into place: {e}")))
}
