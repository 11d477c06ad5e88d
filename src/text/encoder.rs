//! Sentence embeddings: tokenize, run the BERT encoder on batches of equal length,
//! mean-pool each text's valid tokens and L2-normalise (sentence-transformers'
//! `Transformer → Pooling(mean) → Normalize`).

use super::bert::Bert;
use super::tokenizer::Tokenizer;
use crate::error::{Error, Result};
use crate::ops::pooling::{l2_normalize_forward, masked_mean_forward};
use ndarray::Array2;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Upper bound on the attention probabilities held for one batch, B·H·T² floats (128 MiB):
/// batches of long texts are split to stay under it.
const MAX_PROBS: usize = 32 << 20;

/// A sentence encoder loaded from a sentence-transformers model folder.
#[derive(Clone, Debug)]
pub struct Encoder {
    pub tokenizer: Tokenizer,
    pub bert: Bert,
    pub dir: PathBuf,
    /// How batches use the threads ([`Spread::Auto`] after [`Encoder::load`]).
    pub spread: Spread,
}

fn read_json(path: &Path) -> Result<Option<serde_json::Value>> {
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: format!("cannot read: {e}"),
    })?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: format!("not valid JSON: {e}"),
        })
}

impl Encoder {
    /// Loads `config.json`, `model.safetensors` and `vocab.txt` from `dir`; reads
    /// `do_lower_case` from `tokenizer_config.json` (default true) and the maximum
    /// sequence length from `sentence_bert_config.json`'s `max_seq_length` (default: the
    /// model's `max_position_embeddings`).
    pub fn load(dir: &Path) -> Result<Encoder> {
        let need = "a folder with config.json, model.safetensors and vocab.txt (e.g. ../shared/models/all-MiniLM-L6-v2)";
        if !dir.is_dir() {
            return Err(Error::Io {
                path: dir.display().to_string(),
                message: format!("not a model folder; expected {need}"),
            });
        }
        if let Some(f) = ["config.json", "model.safetensors", "vocab.txt"]
            .into_iter()
            .find(|f| !dir.join(f).is_file())
        {
            return Err(Error::Io {
                path: dir.display().to_string(),
                message: format!("not a model folder: {f} is missing; expected {need}"),
            });
        }
        let bert = Bert::load(dir)?;
        let lowercase = read_json(&dir.join("tokenizer_config.json"))?
            .and_then(|v| v.get("do_lower_case").and_then(|x| x.as_bool()))
            .unwrap_or(true);
        let max_pos = bert.config.max_position_embeddings;
        let max_len = read_json(&dir.join("sentence_bert_config.json"))?
            .and_then(|v| v.get("max_seq_length").and_then(|x| x.as_u64()))
            .map(|x| (x as usize).min(max_pos))
            .unwrap_or(max_pos);
        let tokenizer = Tokenizer::from_vocab_file(&dir.join("vocab.txt"), lowercase, max_len)?;
        if tokenizer.vocab_size() != bert.config.vocab_size {
            return Err(Error::Io {
                path: dir.join("vocab.txt").display().to_string(),
                message: format!(
                    "has {} tokens but config.json says vocab_size {}; use the vocab.txt that came with the model",
                    tokenizer.vocab_size(),
                    bert.config.vocab_size
                ),
            });
        }
        Ok(Encoder {
            tokenizer,
            bert,
            dir: dir.to_path_buf(),
            spread: Spread::from_env()?,
        })
    }

    /// Width D of an embedding.
    pub fn dim(&self) -> usize {
        self.bert.config.hidden_size
    }

    /// `(N, D)` unit-length embeddings of `texts`, `batch_size` texts per forward pass.
    pub fn encode(&self, texts: &[&str], batch_size: usize) -> Result<Array2<f32>> {
        self.encode_with_progress(texts, batch_size, &mut |_, _| {})
    }

    /// [`Encoder::encode`], calling `progress(done, total)` after each batch (or wave
    /// of batches run side by side).
    pub fn encode_with_progress(
        &self,
        texts: &[&str],
        batch_size: usize,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Array2<f32>> {
        if batch_size == 0 {
            return Err(Error::Config {
                what: "batch size".into(),
                message: "must be at least 1".into(),
            });
        }
        let (n, hidden, h) = (
            texts.len(),
            self.dim(),
            self.bert.config.num_attention_heads,
        );
        // Tokenized on all threads (each text on its own, so the order is kept).
        let enc: Vec<Vec<u32>> = texts
            .par_iter()
            .map(|t| self.tokenizer.encode(t).ids)
            .collect();
        let lengths: Vec<usize> = enc.iter().map(Vec::len).collect();
        let batches = plan_batches(&lengths, batch_size, h);
        let threads = rayon::current_num_threads();
        let spread = match self.spread {
            Spread::Auto => auto_spread(&batches, &lengths, threads),
            s => s,
        };
        let mut out = Array2::<f32>::zeros((n, hidden));
        let mut done = 0;
        let mut write = |batch: &[usize], unit: &[f32]| {
            for (r, &i) in batch.iter().enumerate() {
                out.row_mut(i)
                    .iter_mut()
                    .zip(&unit[r * hidden..(r + 1) * hidden])
                    .for_each(|(o, &u)| *o = u);
            }
            batch.len()
        };
        if spread == Spread::Batches && threads > 1 {
            // Whole batches side by side, one per thread, each on its thread only; waves of
            // a few batches per thread so that progress is reported as it goes.
            for wave in batches.chunks(4 * threads) {
                let units: Vec<Result<Vec<f32>>> = wave
                    .par_iter()
                    .with_max_len(1)
                    .map(|b| self.embed_batch(b, &enc, false))
                    .collect();
                for (b, unit) in wave.iter().zip(units) {
                    done += write(b, &unit?);
                }
                progress(done, n);
            }
        } else {
            for b in &batches {
                let unit = self.embed_batch(b, &enc, true)?;
                done += write(b, &unit);
                progress(done, n);
            }
        }
        Ok(out)
    }

    /// Unit embeddings `(B, D)` of the texts `batch` (indices into `enc`, the token ids of
    /// every text), padded to the batch's longest text (none when the lengths are equal,
    /// as [`plan_batches`] makes them).
    fn embed_batch(&self, batch: &[usize], enc: &[Vec<u32>], parallel: bool) -> Result<Vec<f32>> {
        let (bsz, hidden) = (batch.len(), self.dim());
        let t = batch.iter().map(|&i| enc[i].len()).max().unwrap_or(0);
        let mut ids = vec![self.tokenizer.pad; bsz * t]; // (B·T)
        let lengths: Vec<usize> = batch.iter().map(|&i| enc[i].len()).collect(); // (B)
        for (r, &i) in batch.iter().enumerate() {
            ids[r * t..r * t + enc[i].len()].copy_from_slice(&enc[i]);
        }
        let states = self.bert.forward_with(&ids, &lengths, t, parallel)?; // (B·T, D)
        let mut pooled = vec![0f32; bsz * hidden]; // (B, D)
        masked_mean_forward(&mut pooled, &states, &lengths, t, hidden);
        let mut unit = vec![0f32; bsz * hidden]; // (B, D)
        let mut norms = vec![0f32; bsz]; // (B)
        l2_normalize_forward(&mut unit, &mut norms, &pooled, bsz, hidden);
        Ok(unit)
    }
}

/// How [`Encoder::encode`] uses rayon's threads (the embeddings are the same bits
/// whichever is chosen: every product and head is computed the same way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spread {
    /// One batch at a time, its products and attention heads split among the threads.
    Inside,
    /// Whole batches side by side, one per thread, each running on its thread only.
    Batches,
    /// [`Spread::Batches`] when there are enough batches to keep every thread busy and
    /// they are small (see `auto_spread`), else [`Spread::Inside`].
    Auto,
}

impl Spread {
    /// `MTREC_EMBED_SPREAD` = `inside`, `batches` or `auto` (the default when unset): how
    /// the encoder uses the threads, for comparing the two in benchmarks.
    pub fn from_env() -> Result<Spread> {
        match std::env::var("MTREC_EMBED_SPREAD").as_deref() {
            Err(_) | Ok("auto") | Ok("") => Ok(Spread::Auto),
            Ok("inside") => Ok(Spread::Inside),
            Ok("batches") => Ok(Spread::Batches),
            Ok(other) => Err(Error::Config {
                what: "MTREC_EMBED_SPREAD".into(),
                message: format!(
                    "is `{other}`; expected `inside`, `batches` or `auto` (or unset it)"
                ),
            }),
        }
    }
}

/// Fewest tokens of a batch (B·T) from which splitting its products beats running
/// batches side by side.
const INSIDE_MIN_TOKENS: usize = 4096;

/// The choice of [`Spread::Auto`]: side by side when there are at least two batches per
/// thread and the median batch is under `INSIDE_MIN_TOKENS` tokens.
fn auto_spread(batches: &[Vec<usize>], lengths: &[usize], threads: usize) -> Spread {
    if threads < 2 || batches.len() < 2 * threads {
        return Spread::Inside;
    }
    let mut tokens: Vec<usize> = batches
        .iter()
        .map(|b| b.iter().map(|&i| lengths[i]).sum())
        .collect();
    tokens.sort_unstable();
    if tokens[tokens.len() / 2] < INSIDE_MIN_TOKENS {
        Spread::Batches
    } else {
        Spread::Inside
    }
}

/// Padding-free batches: the text indices grouped by token length, longest first (input
/// order within a length), each group cut into batches of at most `batch_size` texts and
/// at most `MAX_PROBS` attention probabilities (B·H·T²). Every batch holds texts of one
/// length, so no product or attention head works on padding.
pub fn plan_batches(lengths: &[usize], batch_size: usize, heads: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(lengths[i])); // stable: input order within
    let mut batches = Vec::new();
    for group in order.chunk_by(|&a, &b| lengths[a] == lengths[b]) {
        let t = lengths[group[0]].max(1);
        let fit = (MAX_PROBS / (heads.max(1) * t * t)).max(1);
        batches.extend(
            group
                .chunks(batch_size.min(fit).max(1))
                .map(<[usize]>::to_vec),
        );
    }
    batches
}
