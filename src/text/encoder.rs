//! Sentence embeddings: tokenize, run the BERT encoder on batches of similar length,
//! mean-pool each text's valid tokens and L2-normalise (sentence-transformers'
//! `Transformer → Pooling(mean) → Normalize`).

use super::bert::Bert;
use super::tokenizer::Tokenizer;
use crate::error::{Error, Result};
use crate::ops::pooling::{l2_normalize_forward, masked_mean_forward};
use ndarray::Array2;
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

    /// [`Encoder::encode`], calling `progress(done, total)` after each batch.
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
        let enc: Vec<Vec<u32>> = texts.iter().map(|t| self.tokenizer.encode(t).ids).collect();
        // Batches of similar length cut padding: sort by length, longest first.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(enc[i].len()));
        let mut out = Array2::<f32>::zeros((n, hidden));
        let mut done = 0;
        while done < n {
            let t = enc[order[done]].len();
            let fit = (MAX_PROBS / (h * t * t)).max(1);
            let bsz = batch_size.min(fit).min(n - done);
            let batch = &order[done..done + bsz];
            let mut ids = vec![self.tokenizer.pad; bsz * t]; // (B·T)
            let lengths: Vec<usize> = batch.iter().map(|&i| enc[i].len()).collect(); // (B)
            for (r, &i) in batch.iter().enumerate() {
                ids[r * t..r * t + enc[i].len()].copy_from_slice(&enc[i]);
            }
            let states = self.bert.forward(&ids, &lengths, t)?; // (B·T, D)
            let mut pooled = vec![0f32; bsz * hidden]; // (B, D)
            masked_mean_forward(&mut pooled, &states, &lengths, t, hidden);
            let mut unit = vec![0f32; bsz * hidden]; // (B, D)
            let mut norms = vec![0f32; bsz]; // (B)
            l2_normalize_forward(&mut unit, &mut norms, &pooled, bsz, hidden);
            for (r, &i) in batch.iter().enumerate() {
                out.row_mut(i)
                    .iter_mut()
                    .zip(&unit[r * hidden..(r + 1) * hidden])
                    .for_each(|(o, &u)| *o = u);
            }
            done += bsz;
            progress(done, n);
        }
        Ok(out)
    }
}
