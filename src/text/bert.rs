//! A BERT encoder (Devlin et al., NAACL 2019) read from `config.json` and
//! `model.safetensors`, run forward with the engine's own kernels.
//!
//! ```text
//! x = LayerNorm(E_word[id] + E_pos[t] + E_type[0])                 (B·T, D)
//! per layer l = 1..L:
//!   q, k, v = x·W_qᵀ + b_q,  x·W_kᵀ + b_k,  x·W_vᵀ + b_v            (B·T, D) each
//!   c = attention(q, k, v; H heads, key padding)                    (B·T, D)
//!   x = LayerNorm(c·W_oᵀ + b_o + x)   (residual + norm fused: norm) (B·T, D)
//!   h = GELU(x·W_1ᵀ + b_1)                                          (B·T, D_ff)
//!   x = LayerNorm(h·W_2ᵀ + b_2 + x)                                 (B·T, D)
//! ```
//!
//! Every step calls the same forward kernel as the differentiable op of the engine
//! (`gemm_accumulate`, `attention_forward`, `layer_norm_forward`; GELU is the op's
//! function through a table built from the op's erf, see [`super::gelu`]),
//! so the math that runs is the math the gradient checks test. Weights use the Hugging Face
//! `BertModel` names (`embeddings.word_embeddings.weight`, `encoder.layer.3.output.dense.bias`,
//! ...); a `bert.` prefix is accepted too. Linear weights are stored `(D_out, D_in)`.

pub use super::dense::{Dense, Linear};
use super::gelu::gelu_forward;
use super::norm::residual_layer_norm_forward;
use crate::error::{Error, Result};
use crate::ops::attention::{attention_forward, AttnDims, Qkv};
use crate::ops::layer_norm::{layer_norm_forward, LayerNormShape};
use rayon::prelude::*;
use safetensors::{Dtype, SafeTensors};
use std::path::Path;

/// The fields of a Hugging Face `config.json` that the encoder uses.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_act")]
    pub hidden_act: String,
}

fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_act() -> String {
    "gelu".into()
}

impl BertConfig {
    /// Reads and checks `config.json`.
    pub fn load(path: &Path) -> Result<BertConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: format!("cannot read the model configuration: {e}"),
        })?;
        let c: BertConfig = serde_json::from_str(&text).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: format!("not a BERT config.json ({e}); expected hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, vocab_size, max_position_embeddings"),
        })?;
        let bad = |message: String| Error::Io {
            path: path.display().to_string(),
            message,
        };
        if c.hidden_act != "gelu" {
            return Err(bad(format!(
                "hidden_act is `{}`; this encoder implements the exact (erf) `gelu` only",
                c.hidden_act
            )));
        }
        if c.num_attention_heads == 0 || !c.hidden_size.is_multiple_of(c.num_attention_heads) {
            return Err(bad(format!(
                "hidden_size {} is not divisible by num_attention_heads {}",
                c.hidden_size, c.num_attention_heads
            )));
        }
        if c.hidden_size == 0 || c.max_position_embeddings < 2 || c.type_vocab_size == 0 {
            return Err(bad("hidden_size, max_position_embeddings and type_vocab_size must be positive (max_position_embeddings ≥ 2)".into()));
        }
        Ok(c)
    }
}

/// Layer-norm parameters γ, β (D).
#[derive(Clone, Debug)]
pub struct Norm {
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
}

impl Norm {
    /// `out = γ·x̂ + β` for each row of `inp` (`ops::layer_norm`), saving the rows' mean
    /// and 1/σ in `mean` and `rstd`.
    fn apply(
        &self,
        out: &mut [f32],
        (mean, rstd): (&mut [f32], &mut [f32]),
        inp: &[f32],
        shape: LayerNormShape,
    ) {
        layer_norm_forward(out, mean, rstd, inp, &self.gamma, &self.beta, shape);
    }

    /// `x ← γ·LN(a + x) + β` row by row: the residual add and the norm fused
    /// ([`super::norm`]; its twin is the add, then [`Norm::apply`]).
    fn residual(&self, x: &mut [f32], a: &[f32], shape: LayerNormShape, parallel: bool) {
        residual_layer_norm_forward(x, a, &self.gamma, &self.beta, shape, parallel);
    }
}

/// One encoder layer. The layers that run are [`Linear`]s: their weights are packed for
/// the GEMM once, at load.
#[derive(Clone, Debug)]
pub struct Layer {
    pub query: Dense,
    pub key: Dense,
    pub value: Dense,
    /// query, key and value fused: `(3D, D)`, one product per layer ([`Dense::concat`]).
    pub qkv: Linear,
    pub attn_out: Linear,
    pub attn_norm: Norm,
    pub inter: Linear,
    pub out: Linear,
    pub out_norm: Norm,
}

/// The weights of a BERT encoder.
#[derive(Clone, Debug)]
pub struct Bert {
    pub config: BertConfig,
    pub word: Vec<f32>,       // (V, D)
    pub position: Vec<f32>,   // (P, D)
    pub token_type: Vec<f32>, // (2, D)
    pub emb_norm: Norm,
    pub layers: Vec<Layer>,
}

/// Reads named f32 tensors and checks their shapes, naming the tensor in every error.
struct Reader<'a> {
    st: SafeTensors<'a>,
    prefix: &'static str,
    path: String,
    /// Names read so far: what is left over at the end is refused.
    used: std::cell::RefCell<std::collections::BTreeSet<String>>,
}

/// Tensors of Hugging Face BERT checkpoints that a sentence encoder does not use and
/// that are not weights of the layers (the pooler of the [CLS] classifier, the integer
/// position buffer); every other unused tensor is refused.
const KNOWN_UNUSED: [&str; 3] = [
    "embeddings.position_ids",
    "pooler.dense.weight",
    "pooler.dense.bias",
];

impl Reader<'_> {
    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let full = format!("{}{name}", self.prefix);
        self.used.borrow_mut().insert(full.clone());
        let t = self.st.tensor(&full).map_err(|_| Error::Io {
            path: self.path.clone(),
            message: format!("tensor `{full}` is missing; expected a BERT checkpoint with Hugging Face BertModel names and config.json's sizes"),
        })?;
        if t.dtype() != Dtype::F32 {
            return Err(Error::Io {
                path: self.path.clone(),
                message: format!("tensor `{full}` has dtype {:?}; expected F32 (convert the checkpoint to float32)", t.dtype()),
            });
        }
        if t.shape() != shape {
            return Err(Error::Io {
                path: self.path.clone(),
                message: format!(
                    "tensor `{full}` has shape {:?}; expected {shape:?} from config.json",
                    t.shape()
                ),
            });
        }
        let values: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if let Some(i) = values.iter().position(|x| !x.is_finite()) {
            return Err(Error::Io {
                path: self.path.clone(),
                message: format!(
                    "the checkpoint holds NaN/inf: tensor `{full}` has {} at flat index {i}; download the model again",
                    values[i]
                ),
            });
        }
        Ok(values)
    }

    /// The number of layers the file holds (`encoder.layer.<n>.` prefixes) and the
    /// tensors that were never read, less [`KNOWN_UNUSED`]: both must agree with
    /// config.json, or the encoder would run with other weights than the file's.
    fn check_complete(&self, layers: usize) -> Result<()> {
        let layer_prefix = format!("{}encoder.layer.", self.prefix);
        let in_file: std::collections::BTreeSet<usize> = self
            .st
            .names()
            .iter()
            .filter_map(|n| {
                n.strip_prefix(&layer_prefix)?
                    .split('.')
                    .next()?
                    .parse()
                    .ok()
            })
            .collect();
        if in_file.len() != layers || in_file.iter().any(|&l| l >= layers) {
            return Err(Error::Io {
                path: self.path.clone(),
                message: format!(
                    "holds the weights of {} encoder layers ({:?}) but config.json says num_hidden_layers = {layers}; use the config.json that came with these weights",
                    in_file.len(),
                    in_file
                ),
            });
        }
        let used = self.used.borrow();
        let unused: Vec<String> = self
            .st
            .names()
            .into_iter()
            .filter(|n| {
                !used.contains(*n)
                    && !KNOWN_UNUSED
                        .iter()
                        .any(|k| n.strip_prefix(self.prefix) == Some(*k) || *n == k)
            })
            .map(|n| format!("`{n}`"))
            .collect();
        if !unused.is_empty() {
            return Err(Error::Io {
                path: self.path.clone(),
                message: format!(
                    "holds {} tensors that a BERT encoder with config.json's sizes does not use: {}; is it another architecture, or does config.json belong to another model?",
                    unused.len(),
                    unused.join(", ")
                ),
            });
        }
        Ok(())
    }

    fn dense(&self, name: &str, d_in: usize, d_out: usize) -> Result<Dense> {
        Ok(Dense {
            w: self.get(&format!("{name}.weight"), &[d_out, d_in])?,
            b: self.get(&format!("{name}.bias"), &[d_out])?,
            d_in,
            d_out,
        })
    }

    fn norm(&self, name: &str, hidden: usize) -> Result<Norm> {
        Ok(Norm {
            gamma: self.get(&format!("{name}.weight"), &[hidden])?,
            beta: self.get(&format!("{name}.bias"), &[hidden])?,
        })
    }
}

impl Bert {
    /// Loads `config.json` and `model.safetensors` from a model folder.
    pub fn load(dir: &Path) -> Result<Bert> {
        let config = BertConfig::load(&dir.join("config.json"))?;
        let path = dir.join("model.safetensors");
        crate::checkpoint::safetensors_io::check_regular_file(&path, "model weights file")?;
        let bytes = std::fs::read(&path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: format!("cannot read the model weights: {e}"),
        })?;
        let st = SafeTensors::deserialize(&bytes).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: crate::checkpoint::safetensors_io::explain(&e),
        })?;
        let prefix = if st.tensor("embeddings.word_embeddings.weight").is_err()
            && st.tensor("bert.embeddings.word_embeddings.weight").is_ok()
        {
            "bert."
        } else {
            ""
        };
        let r = Reader {
            st,
            prefix,
            path: path.display().to_string(),
            used: Default::default(),
        };
        let c = &config;
        let (hidden, f) = (c.hidden_size, c.intermediate_size);
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for l in 0..c.num_hidden_layers {
            let p = format!("encoder.layer.{l}");
            let query = r.dense(&format!("{p}.attention.self.query"), hidden, hidden)?;
            let key = r.dense(&format!("{p}.attention.self.key"), hidden, hidden)?;
            let value = r.dense(&format!("{p}.attention.self.value"), hidden, hidden)?;
            layers.push(Layer {
                qkv: Linear::new(Dense::concat(&[&query, &key, &value])),
                query,
                key,
                value,
                attn_out: Linear::new(r.dense(
                    &format!("{p}.attention.output.dense"),
                    hidden,
                    hidden,
                )?),
                attn_norm: r.norm(&format!("{p}.attention.output.LayerNorm"), hidden)?,
                inter: Linear::new(r.dense(&format!("{p}.intermediate.dense"), hidden, f)?),
                out: Linear::new(r.dense(&format!("{p}.output.dense"), f, hidden)?),
                out_norm: r.norm(&format!("{p}.output.LayerNorm"), hidden)?,
            });
        }
        let bert = Bert {
            word: r.get("embeddings.word_embeddings.weight", &[c.vocab_size, hidden])?,
            position: r.get(
                "embeddings.position_embeddings.weight",
                &[c.max_position_embeddings, hidden],
            )?,
            token_type: r.get(
                "embeddings.token_type_embeddings.weight",
                &[c.type_vocab_size, hidden],
            )?,
            emb_norm: r.norm("embeddings.LayerNorm", hidden)?,
            layers,
            config: config.clone(),
        };
        r.check_complete(config.num_hidden_layers)?;
        Ok(bert)
    }

    /// Token states `(B·T, D)` of B sequences padded to T: `ids` (B·T) row-major, the
    /// first `lengths[b]` ids of each sequence valid. Rows past a sequence's length hold
    /// finite values that mean nothing (pool with the lengths). The products and attention
    /// are split among rayon threads.
    pub fn forward(&self, ids: &[u32], lengths: &[usize], t: usize) -> Result<Vec<f32>> {
        self.forward_with(ids, lengths, t, true)
    }

    /// [`Bert::forward`]; with `parallel` false the dense products run on the calling
    /// thread (for callers that run several batches at once, one per thread). The same
    /// bits either way.
    pub fn forward_with(
        &self,
        ids: &[u32],
        lengths: &[usize],
        t: usize,
        parallel: bool,
    ) -> Result<Vec<f32>> {
        let c = &self.config;
        let (b, hidden, f, h) = (
            lengths.len(),
            c.hidden_size,
            c.intermediate_size,
            c.num_attention_heads,
        );
        let m = b * t;
        if ids.len() != m || t > c.max_position_embeddings {
            return Err(Error::Shape {
                op: "bert forward",
                shapes: vec![crate::error::Dims(ids.len(), 1)],
                expected: format!(
                    "{m} ids ({b} sequences of {t}) with T ≤ {} positions",
                    c.max_position_embeddings
                ),
            });
        }
        if let Some(i) = ids.iter().position(|&id| id as usize >= c.vocab_size) {
            return Err(Error::Index {
                op: "bert forward",
                position: i,
                index: ids[i] as u64,
                bound: c.vocab_size,
            });
        }
        let eps = c.layer_norm_eps as f32;
        let mut x = vec![0f32; m * hidden]; // (B·T, D)
        let mut tmp = vec![0f32; m * hidden]; // (B·T, D)
                                              // Embeddings: word + position + token type 0.
        for (r, row) in tmp.chunks_mut(hidden).enumerate() {
            let (id, pos) = (ids[r] as usize, r % t);
            let (w, p) = (
                &self.word[id * hidden..(id + 1) * hidden],
                &self.position[pos * hidden..(pos + 1) * hidden],
            );
            for j in 0..hidden {
                row[j] = w[j] + p[j] + self.token_type[j];
            }
        }
        let (mut mean, mut rstd) = (vec![0f32; m], vec![0f32; m]); // (B·T)
        let norm_shape = LayerNormShape {
            rows: m,
            cols: hidden,
            eps,
        };
        self.emb_norm
            .apply(&mut x, (&mut mean, &mut rstd), &tmp, norm_shape);

        let (mut q, mut k, mut v) = (
            vec![0f32; m * hidden],
            vec![0f32; m * hidden],
            vec![0f32; m * hidden],
        ); // (B·T, D)
        let mut ctx = vec![0f32; m * hidden]; // (B·T, D)
        let mut p = vec![0f32; b * h * t * t]; // (B, H, T, T)
        let mut qkv = vec![0f32; m * 3 * hidden]; // (B·T, 3D)
        let mut inter = vec![0f32; m * f]; // (B·T, D_ff)
        let mut act = vec![0f32; m * f]; // (B·T, D_ff)
        let dims = AttnDims {
            b,
            t,
            h,
            dh: hidden / h,
            causal: false,
        };
        for l in &self.layers {
            // q, k, v = x·W_qᵀ + b_q, …: one product with the fused (3D, D) weight, then
            // the three column blocks of each row (the separate products are the twin).
            l.qkv.forward(&mut qkv, &x, m, parallel);
            for (r, row) in qkv.chunks_exact(3 * hidden).enumerate() {
                q[r * hidden..(r + 1) * hidden].copy_from_slice(&row[..hidden]);
                k[r * hidden..(r + 1) * hidden].copy_from_slice(&row[hidden..2 * hidden]);
                v[r * hidden..(r + 1) * hidden].copy_from_slice(&row[2 * hidden..]);
            }
            let qkv = Qkv {
                q: &q,
                k: &k,
                v: &v,
            };
            attention_forward(&mut ctx, &mut p, qkv, lengths, dims);
            l.attn_out.forward(&mut tmp, &ctx, m, parallel);
            l.attn_norm.residual(&mut x, &tmp, norm_shape, parallel); // x = LN(tmp + x)
            l.inter.forward(&mut inter, &x, m, parallel);
            // GELU (the op's function, tabulated: see text::gelu), split across threads.
            if parallel {
                act.par_chunks_mut(4096)
                    .zip(inter.par_chunks(4096))
                    .for_each(|(y, z)| gelu_forward(y, z));
            } else {
                gelu_forward(&mut act, &inter);
            }
            l.out.forward(&mut tmp, &act, m, parallel);
            l.out_norm.residual(&mut x, &tmp, norm_shape, parallel); // x = LN(tmp + x)
        }
        Ok(x)
    }
}
