//! SASRec: self-attentive sequential recommendation (Kang & McAuley, ICDM 2018), with
//! multi-task heads on the next interaction.
//!
//! ```text
//! item matrix  M = E_id + Linear(X_text)               (V+1, D)  ID, text, or both summed
//! input        x_t = M[s_t]·√D + P[t]                  (B·T, D)  learned positions, dropout
//! block (×L)   x = x + Dropout(SA(LN(x)))              causal self-attention, H heads,
//!              x = x + Dropout(FFN(LN(x)))             FFN = W₂·ReLU(W₁·x + b₁) + b₂
//! output       F = LN(x)                               (B·T, D)
//! next item    r_{t,i} = ⟨F_t, M_i⟩, i = 1..V          full softmax over the catalogue
//! heads        rating(F_t ‖ M[s_{t+1}]), like(F_t ‖ M[s_{t+1}])       MovieLens
//!              keywords(F_t) → the next item's keyword set (multi-label) Beauty
//! ```
//!
//! As in the paper the item embedding is shared between input and output (the
//! prediction layer is the dot product with the item matrix), layer norm comes before
//! each sub-layer with a residual around it, and a position attends only to itself and
//! earlier positions. Sequences are right-padded (position t of every sequence is its
//! t-th most ancient item of the window, padding after the length) and the attention op
//! reads each sequence's length, so padding never reaches a real position; no mask
//! multiply is needed. Training uses every position's next item (the paper's objective,
//! with a full softmax instead of one sampled negative; `docs/sequences.md`).
//!
//! The rating and like heads see the candidate item: they score an interaction
//! (history, next item), so they read `F_t` concatenated with the next item's row of M.
//! The keyword head reads only `F_t`: it predicts what kind of item comes next, an
//! auxiliary task that shares the encoder with next-item retrieval.

use crate::autograd::{Graph, ParamId, ParamStore, Var};
use crate::error::{Error, Result};
use crate::loss::LossOpts;
pub use crate::nn::batch::SeqInput;
use crate::nn::{Activation, Init, LayerNorm, Linear, Mlp, MlpConfig};
use crate::ops::attention::AttentionSpec;
use ndarray_rand::rand::Rng;

/// Where item vectors come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemInput {
    /// A learned embedding per item id.
    Id,
    /// Frozen text vectors through a learned linear map.
    Text,
    /// Both, summed.
    TextId,
}

impl ItemInput {
    pub fn parse(s: &str) -> Result<ItemInput> {
        match s {
            "id" => Ok(ItemInput::Id),
            "text" => Ok(ItemInput::Text),
            "text+id" | "id+text" => Ok(ItemInput::TextId),
            _ => Err(Error::Config {
                what: "model.item_input".into(),
                message: format!("unknown value `{s}`; use \"id\", \"text\" or \"text+id\""),
            }),
        }
    }

    pub fn uses_text(self) -> bool {
        self != ItemInput::Id
    }

    pub fn uses_id(self) -> bool {
        self != ItemInput::Text
    }
}

/// Sizes and heads of a [`SasRec`].
#[derive(Clone, Debug, PartialEq)]
pub struct SasRecConfig {
    /// V; item ids run 1..=V, 0 is padding.
    pub num_items: usize,
    /// Longest input window (rows of the position table).
    pub max_len: usize,
    /// D, the hidden width.
    pub dim: usize,
    /// L, the number of self-attention blocks.
    pub blocks: usize,
    /// H, attention heads (D must be a multiple of H).
    pub heads: usize,
    pub dropout: f32,
    pub item_input: ItemInput,
    /// Width of the frozen text vectors (384 for MiniLM); ignored without text.
    pub text_dim: usize,
    /// Size of the keyword vocabulary the keyword head predicts; 0: no keyword head.
    pub keywords: usize,
    /// Rating (MSE) and like (BCE) heads on the next interaction.
    pub rating_head: bool,
    pub like_head: bool,
}

/// One self-attention block: pre-LN attention and pre-LN point-wise FFN, each residual.
#[derive(Clone, Debug)]
struct Block {
    ln_attn: LayerNorm,
    wq: Linear,
    wk: Linear,
    wv: Linear,
    ln_ffn: LayerNorm,
    ffn1: Linear,
    ffn2: Linear,
}

/// SASRec with optional text input and multi-task heads.
#[derive(Clone, Debug)]
pub struct SasRec {
    pub cfg: SasRecConfig,
    /// `(V+1, D)`, `item.emb`; row 0 is padding.
    item_emb: Option<ParamId>,
    /// `X_text (V+1, D_text) → (V+1, D)`, `item.text`.
    text_proj: Option<Linear>,
    /// `(max_len, D)`, `pos.emb`.
    pos_emb: ParamId,
    blocks: Vec<Block>,
    ln_out: LayerNorm,
    rating: Option<Mlp>,
    like: Option<Mlp>,
    keywords: Option<Linear>,
    /// The next-item loss runs fused with its logits (`ops::catalogue_ce`); false records
    /// the reference composition `softmax_cross_entropy(F · M[1..]ᵀ)`.
    fused_loss: bool,
}

/// What [`SasRec::forward`] gives the heads.
#[derive(Clone, Copy, Debug)]
pub struct SeqHidden {
    /// `(N, D)`: the encoder output at each target row of the batch.
    pub h: Var,
    /// `(V+1, D)`: the item matrix M of this step.
    pub items: Var,
}

impl SasRec {
    pub fn new<R: Rng + ?Sized>(
        store: &mut ParamStore,
        cfg: &SasRecConfig,
        rng: &mut R,
    ) -> Result<SasRec> {
        // Over 100 lines: every parameter is drawn here in one order, the order of the
        // random stream: split apart, the draw order would be harder to keep fixed
        // (checkpoints and seeds depend on it).
        check(cfg)?;
        let (v, dim) = (cfg.num_items + 1, cfg.dim);
        let emb_init = Init::Normal {
            std: (2.0 / (v + dim) as f32).sqrt(),
        };
        let item_emb = if cfg.item_input.uses_id() {
            Some(store.add_dense("item.emb", v, dim, emb_init.draw(rng, v, dim))?)
        } else {
            None
        };
        let text_proj = if cfg.item_input.uses_text() {
            Some(Linear::new(
                store,
                "item.text",
                cfg.text_dim,
                dim,
                Init::XavierUniform,
                rng,
            )?)
        } else {
            None
        };
        let pos_init = Init::Normal {
            std: (2.0 / (cfg.max_len + dim) as f32).sqrt(),
        };
        let pos_emb = store.add_dense(
            "pos.emb",
            cfg.max_len,
            dim,
            pos_init.draw(rng, cfg.max_len, dim),
        )?;
        let mut blocks = Vec::with_capacity(cfg.blocks);
        for l in 0..cfg.blocks {
            let lin = |store: &mut ParamStore, name: &str, rng: &mut R| {
                Linear::new(
                    store,
                    &format!("block{l}.{name}"),
                    dim,
                    dim,
                    Init::XavierUniform,
                    rng,
                )
            };
            blocks.push(Block {
                ln_attn: LayerNorm::new(store, &format!("block{l}.ln_attn"), dim, 1e-8)?,
                wq: lin(store, "wq", rng)?,
                wk: lin(store, "wk", rng)?,
                wv: lin(store, "wv", rng)?,
                ln_ffn: LayerNorm::new(store, &format!("block{l}.ln_ffn"), dim, 1e-8)?,
                ffn1: Linear::new(
                    store,
                    &format!("block{l}.ffn1"),
                    dim,
                    dim,
                    Init::KaimingUniform,
                    rng,
                )?,
                ffn2: lin(store, "ffn2", rng)?,
            });
        }
        let ln_out = LayerNorm::new(store, "ln_out", dim, 1e-8)?;
        let pair_head = |store: &mut ParamStore, name: &str, rng: &mut R| {
            let mut c = MlpConfig::new(vec![2 * dim, dim, 1], Activation::Relu);
            c.dropout = cfg.dropout;
            Mlp::new(store, name, &c, rng)
        };
        let rating = cfg
            .rating_head
            .then(|| pair_head(store, "head.rating", rng))
            .transpose()?;
        let like = cfg
            .like_head
            .then(|| pair_head(store, "head.like", rng))
            .transpose()?;
        let keywords = (cfg.keywords > 0)
            .then(|| {
                Linear::new(
                    store,
                    "head.keywords",
                    dim,
                    cfg.keywords,
                    Init::XavierUniform,
                    rng,
                )
            })
            .transpose()?;
        Ok(SasRec {
            cfg: cfg.clone(),
            item_emb,
            text_proj,
            pos_emb,
            blocks,
            ln_out,
            rating,
            like,
            keywords,
            fused_loss: true,
        })
    }

    /// Whether [`SasRec::next_item_loss`] records the fused op (the default) or the
    /// unfused reference composition; both give the same loss and gradients up to rounding.
    pub fn set_fused_loss(&mut self, fused: bool) {
        self.fused_loss = fused;
    }

    /// `L_next`: full-softmax cross-entropy of the next item over the catalogue, ids
    /// 1..=V; `classes` are the target ids − 1. Fused (`ops::catalogue_ce`: no (N, V)
    /// logits) unless [`SasRec::set_fused_loss`] turned it off.
    pub fn next_item_loss(&self, g: &mut Graph, out: SeqHidden, classes: &[u32]) -> Result<Var> {
        if self.fused_loss {
            // the catalogue is the rows 1..=V of M (row 0 is padding)
            g.catalogue_cross_entropy(out.h, out.items, 1, classes, LossOpts::default())
        } else {
            let logits = self.next_item_logits(g, out)?; // (N, V)
            g.softmax_cross_entropy(logits, classes, LossOpts::default())
        }
    }

    /// The item matrix `M (V+1, D)`: ID rows, projected text rows, or their sum.
    /// `text` is the frozen `(V+1, D_text)` matrix, required when the model reads text.
    pub fn items(&self, g: &mut Graph, store: &ParamStore, text: Option<&[f32]>) -> Result<Var> {
        let v = self.cfg.num_items + 1;
        let id = self.item_emb.map(|e| g.param(store, e)).transpose()?; // (V+1, D)
        let tx = match (&self.text_proj, text) {
            (Some(proj), Some(t)) => {
                let x = g.input_slice(v, self.cfg.text_dim, t)?; // (V+1, D_text)
                Some(proj.forward(g, store, x)?) // (V+1, D)
            }
            (Some(_), None) => {
                return Err(Error::Config {
                    what: "SasRec::items".into(),
                    message: "the model reads item text but no text vectors were given; \
                              compute them with the text encoder (see docs/sequences.md)"
                        .into(),
                })
            }
            (None, _) => None,
        };
        match (id, tx) {
            (Some(a), Some(b)) => g.add(a, b), // (V+1, D)
            (Some(a), None) | (None, Some(a)) => Ok(a),
            (None, None) => unreachable!("check() requires an item input"),
        }
    }

    /// Encoder output at the batch's target rows, `(N, D)`, and the item matrix.
    pub fn forward(
        &self,
        g: &mut Graph,
        store: &ParamStore,
        batch: &SeqInput<'_>,
        text: Option<&[f32]>,
    ) -> Result<SeqHidden> {
        let items = self.items(g, store, text)?; // (V+1, D)
        self.encode(g, store, batch, items)
    }

    /// [`SasRec::forward`] on a given item matrix `items (V+1, D)` (the value
    /// [`SasRec::items`] gives, e.g. computed once and fed back as an input when the
    /// parameters do not change: `mtrec recommend`, `mtrec serve`).
    pub fn encode(
        &self,
        g: &mut Graph,
        store: &ParamStore,
        batch: &SeqInput<'_>,
        items: Var,
    ) -> Result<SeqHidden> {
        if batch.t > self.cfg.max_len {
            return Err(Error::Config {
                what: "SasRec::forward".into(),
                message: format!(
                    "batch length {} exceeds model.max_len {}; build batches with the model's max_len",
                    batch.t, self.cfg.max_len
                ),
            });
        }
        let dim = self.cfg.dim;
        let e = g.select_rows(items, batch.ids)?; // (B·T, D)
        let e = g.scale(e, (dim as f32).sqrt())?; // (B·T, D)
        let pos = g.param(store, self.pos_emb)?; // (max_len, D)
        let p = g.select_rows(pos, batch.pos)?; // (B·T, D)
        let mut x = g.add(e, p)?; // (B·T, D)
        x = g.dropout(x, self.cfg.dropout)?; // (B·T, D)
        for blk in &self.blocks {
            let a = blk.ln_attn.forward(g, store, x)?; // (B·T, D)
            let q = blk.wq.forward(g, store, a)?; // (B·T, H·Dh)
            let k = blk.wk.forward(g, store, a)?; // (B·T, H·Dh)
            let v = blk.wv.forward(g, store, a)?; // (B·T, H·Dh)
            let s = self.attend(g, q, k, v, batch)?; // (B·T, D)
            let s = g.dropout(s, self.cfg.dropout)?; // (B·T, D)
            x = g.add(x, s)?; // (B·T, D)
            let f = blk.ln_ffn.forward(g, store, x)?; // (B·T, D)
            let f = blk.ffn1.forward(g, store, f)?; // (B·T, D)
            let f = g.relu(f)?; // (B·T, D)
            let f = g.dropout(f, self.cfg.dropout)?; // (B·T, D)
            let f = blk.ffn2.forward(g, store, f)?; // (B·T, D)
            let f = g.dropout(f, self.cfg.dropout)?; // (B·T, D)
            x = g.add(x, f)?; // (B·T, D)
        }
        let x = g.select_rows(x, batch.rows)?; // (N, D): only rows with a target
        let h = self.ln_out.forward(g, store, x)?; // (N, D)
        Ok(SeqHidden { h, items })
    }

    /// Next-item logits over the catalogue, `(N, V)`: column j is item id j + 1.
    pub fn next_item_logits(&self, g: &mut Graph, out: SeqHidden) -> Result<Var> {
        let ids: Vec<u32> = (1..=self.cfg.num_items as u32).collect();
        let cat = g.select_rows(out.items, &ids)?; // (V, D) without the padding row
        g.matmul(out.h, cat, false, true) // (N, V) = F · Mᵀ
    }

    /// `F_t ‖ M[target]`, the input of the pair heads, `(N, 2D)`.
    fn pair(&self, g: &mut Graph, out: SeqHidden, targets: &[u32]) -> Result<Var> {
        let m = g.select_rows(out.items, targets)?; // (N, D)
        g.concat_cols(&[out.h, m]) // (N, 2D)
    }

    /// Predicted rating of each (history, next item) pair, `(N, 1)`; `None` without the head.
    pub fn rating(
        &self,
        g: &mut Graph,
        store: &ParamStore,
        out: SeqHidden,
        targets: &[u32],
    ) -> Result<Option<Var>> {
        let Some(head) = &self.rating else {
            return Ok(None);
        };
        let x = self.pair(g, out, targets)?; // (N, 2D)
        head.forward(g, store, x).map(Some) // (N, 1)
    }

    /// Like logit of each (history, next item) pair, `(N, 1)`; `None` without the head.
    pub fn like(
        &self,
        g: &mut Graph,
        store: &ParamStore,
        out: SeqHidden,
        targets: &[u32],
    ) -> Result<Option<Var>> {
        let Some(head) = &self.like else {
            return Ok(None);
        };
        let x = self.pair(g, out, targets)?; // (N, 2D)
        head.forward(g, store, x).map(Some) // (N, 1)
    }

    /// Keyword logits of the next item, `(N, keywords)`; `None` without the head.
    pub fn keywords(
        &self,
        g: &mut Graph,
        store: &ParamStore,
        out: SeqHidden,
    ) -> Result<Option<Var>> {
        let Some(head) = &self.keywords else {
            return Ok(None);
        };
        head.forward(g, store, out.h).map(Some) // (N, keywords)
    }

    /// Causal multi-head self-attention over each sequence's real positions.
    fn attend(&self, g: &mut Graph, q: Var, k: Var, v: Var, batch: &SeqInput<'_>) -> Result<Var> {
        let spec = AttentionSpec {
            batch: batch.b,
            seq_len: batch.t,
            heads: self.cfg.heads,
            lengths: batch.lens.to_vec(),
            causal: true,
        };
        g.attention(q, k, v, &spec) // (B·T, H·Dh), padding rows 0
    }
}

fn check(cfg: &SasRecConfig) -> Result<()> {
    let bad = |what: &str, message: String| {
        Err(Error::Config {
            what: format!("sasrec {what}"),
            message,
        })
    };
    if cfg.num_items == 0 || cfg.max_len == 0 || cfg.dim == 0 || cfg.blocks == 0 {
        return bad(
            "sizes",
            format!(
                "num_items, max_len, dim and blocks must be positive, got {}, {}, {}, {}",
                cfg.num_items, cfg.max_len, cfg.dim, cfg.blocks
            ),
        );
    }
    if cfg.heads == 0 || !cfg.dim.is_multiple_of(cfg.heads) {
        return bad(
            "heads",
            format!(
                "dim {} must be a positive multiple of heads {}",
                cfg.dim, cfg.heads
            ),
        );
    }
    if !(0.0..1.0).contains(&cfg.dropout) {
        return bad("dropout", format!("must be in [0, 1), got {}", cfg.dropout));
    }
    if cfg.item_input.uses_text() && cfg.text_dim == 0 {
        return bad(
            "text_dim",
            "a model that reads item text needs text_dim > 0 (384 for MiniLM)".into(),
        );
    }
    Ok(())
}
