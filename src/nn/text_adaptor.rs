//! Text features: a frozen table of pretrained text vectors and a small learned adaptor
//! that maps them to the width the model wants.
//!
//! A text column (a movie title, a product description) is embedded once by a pretrained
//! sentence encoder (MiniLM, D_t = 384) into a [`FrozenTable`] `(N_texts, D_t)`. The table
//! is data, not a parameter: it gets no gradient and is never written by the optimiser.
//! Rows of the table are looked up per batch and fed through a [`TextAdaptor`]:
//!
//! ```text
//! linear:  y = x·W + b                                         W: (D_t, D), b: (1, D)
//! moe:     h_e = (x − b_e)·W_e        e = 1..E                 b_e: (1, D_t), W_e: (D_t, D)
//!          g   = softmax(x·G)                                   G: (D_t, E)
//!          y   = Σ_e g_e · h_e                                  y: (B, D)
//! ```
//!
//! `moe` is the MoE-enhanced adaptor of UniSRec (Y. Hou, S. Mu, W. X. Zhao, Y. Li, B. Ding,
//! J.-R. Wen, "Towards Universal Sequence Representation Learning for Recommender
//! Systems", KDD 2022, §3.1.2): each expert is a *parametric whitening* `(x − b_e)·W_e`
//! (a learned centre and projection of the frozen space, which is anisotropic), and a
//! softmax gate on the raw text vector mixes the experts. As in UniSRec's code the centres
//! b_e and the gate start at zero (uniform mixture) and there is no bias after W_e.
//!
//! The experts are computed with one matrix product: `W = [W_1 | … | W_E]` is stored as
//! one `(D_t, E·D)` matrix and `(x − b_e)·W_e = x·W_e − b_e·W_e`, so
//!
//! ```text
//! H = x·W − [b_1·W_1 | … | b_E·W_E]      (B, E·D) − (1, E·D) broadcast over rows
//! y = gate_combine(H, x·G)               (B, D)
//! ```
//!
//! which is the same function (and the same gradients for b_e, W_e, G) as E separate
//! whitening layers, built from existing graph ops (`mm`, `slice_cols`, `concat_cols`,
//! `sub`, `gate_combine`), each of which has its gradient check in `tests/gradcheck.rs`.
//!
//! Parameter names (the prefix `<name>` is chosen by the caller, e.g.
//! `input.text_adaptor.item_id`): linear `<name>.linear.w`, `<name>.linear.b`; moe
//! `<name>.whiten.w` `(D_t, E·D)`, `<name>.whiten.<e>.b` `(1, D_t)`, `<name>.gating.w`
//! `(D_t, E)` (named `gating`, not `gate`, so that freezing a model's `gate` group does not
//! catch it). Freezing the group `text_adaptor` (see `checkpoint::transfer`) freezes every
//! adaptor whose prefix contains that segment.

use super::init::Init;
use super::linear::Linear;
use crate::autograd::{Graph, ParamId, ParamStore, Var};
use crate::error::{Error, Result};
use ndarray_rand::rand::Rng;

/// A frozen `(N, D_t)` table of text vectors, row-major (not a parameter).
#[derive(Clone, Debug, PartialEq)]
pub struct FrozenTable {
    pub rows: usize,
    pub dim: usize,
    /// `(N, D_t)` row-major.
    pub values: Vec<f32>,
}

impl FrozenTable {
    /// A table of `rows` vectors of width `dim`; `values.len()` must be `rows·dim`.
    pub fn new(rows: usize, dim: usize, values: Vec<f32>) -> Result<FrozenTable> {
        if values.len() != rows * dim || dim == 0 {
            return Err(Error::Length {
                op: "FrozenTable::new",
                what: format!("text vectors of a ({rows}, {dim}) table (width must be ≥ 1)"),
                len: values.len(),
                expected: rows * dim,
            });
        }
        if let Some(p) = values.iter().position(|v| !v.is_finite()) {
            return Err(Error::Value {
                op: "FrozenTable::new",
                what: format!("text vector element (row {}, column {})", p / dim, p % dim),
                position: p,
                value: values[p] as f64,
                expected: "finite numbers; the text encoder produced a NaN or infinity".into(),
            });
        }
        Ok(FrozenTable { rows, dim, values })
    }

    /// Row `r` of the table.
    pub fn row(&self, r: usize) -> &[f32] {
        &self.values[r * self.dim..(r + 1) * self.dim]
    }

    /// Copies rows `idx` into `out` (resized to `(B, D_t)`); an index ≥ N is an error.
    pub fn gather_into(&self, idx: &[u32], out: &mut Vec<f32>) -> Result<()> {
        out.clear();
        out.reserve(idx.len() * self.dim);
        for (p, &i) in idx.iter().enumerate() {
            if i as usize >= self.rows {
                return Err(Error::Index {
                    op: "FrozenTable::gather_into",
                    position: p,
                    index: i as u64,
                    bound: self.rows,
                });
            }
            out.extend_from_slice(self.row(i as usize)); // (1, D_t)
        }
        Ok(())
    }

    /// `idx (B) → (B, D_t)` as a graph input (no gradient flows into the table).
    pub fn forward(&self, g: &mut Graph, idx: &[u32]) -> Result<Var> {
        let mut buf = Vec::new();
        self.gather_into(idx, &mut buf)?; // (B, D_t)
        g.input_slice(idx.len(), self.dim, &buf)
    }
}

/// Which adaptor maps a text vector to the model's width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdaptorKind {
    /// One affine map `x·W + b`.
    Linear,
    /// UniSRec's parametric whitening experts with a softmax gate.
    Moe { experts: usize },
}

/// The learned part of a text feature: `(B, D_t) → (B, D)`.
#[derive(Clone, Debug)]
pub enum TextAdaptor {
    Linear(Linear),
    Moe {
        /// `[W_1 | … | W_E]`: `(D_t, E·D)`.
        w: ParamId,
        /// Whitening centres b_e: E × `(1, D_t)`.
        centres: Vec<ParamId>,
        /// Gate `(D_t, E)`.
        gate: ParamId,
        d_text: usize,
        d_out: usize,
    },
}

impl TextAdaptor {
    /// Adds the adaptor's parameters under `name` (see the module docs) to `store`.
    pub fn new<R: Rng + ?Sized>(
        store: &mut ParamStore,
        name: &str,
        d_text: usize,
        d_out: usize,
        kind: AdaptorKind,
        rng: &mut R,
    ) -> Result<TextAdaptor> {
        if d_text == 0 || d_out == 0 {
            return Err(Error::Config {
                what: format!("text adaptor `{name}`"),
                message: format!(
                    "widths must be positive, got D_text = {d_text}, D = {d_out}; set the feature's text dim ≥ 1"
                ),
            });
        }
        match kind {
            AdaptorKind::Linear => Ok(TextAdaptor::Linear(Linear::new(
                store,
                &format!("{name}.linear"),
                d_text,
                d_out,
                Init::XavierUniform,
                rng,
            )?)),
            AdaptorKind::Moe { experts } => {
                if experts == 0 {
                    return Err(Error::Config {
                        what: format!("text adaptor `{name}`"),
                        message: "a moe adaptor needs at least one expert; set experts ≥ 1 (UniSRec uses 8)".into(),
                    });
                }
                // Each expert's W_e drawn as its own (D_t, D) block.
                let mut w = vec![0f32; d_text * experts * d_out]; // (D_t, E·D)
                for e in 0..experts {
                    let block = Init::XavierUniform.draw(rng, d_text, d_out); // (D_t, D)
                    for i in 0..d_text {
                        let dst = i * experts * d_out + e * d_out;
                        w[dst..dst + d_out].copy_from_slice(&block[i * d_out..(i + 1) * d_out]);
                    }
                }
                let w = store.add_dense(&format!("{name}.whiten.w"), d_text, experts * d_out, w)?;
                let centres = (0..experts)
                    .map(|e| {
                        store.add_dense(
                            &format!("{name}.whiten.{e}.b"),
                            1,
                            d_text,
                            vec![0.0; d_text],
                        )
                    })
                    .collect::<Result<Vec<_>>>()?;
                let gate = store.add_dense(
                    &format!("{name}.gating.w"),
                    d_text,
                    experts,
                    vec![0.0; d_text * experts],
                )?;
                Ok(TextAdaptor::Moe {
                    w,
                    centres,
                    gate,
                    d_text,
                    d_out,
                })
            }
        }
    }

    /// Output width D.
    pub fn d_out(&self) -> usize {
        match self {
            TextAdaptor::Linear(l) => l.d_out,
            TextAdaptor::Moe { d_out, .. } => *d_out,
        }
    }

    /// Input width D_t.
    pub fn d_text(&self) -> usize {
        match self {
            TextAdaptor::Linear(l) => l.d_in,
            TextAdaptor::Moe { d_text, .. } => *d_text,
        }
    }

    /// Every parameter of the adaptor.
    pub fn params(&self) -> Vec<ParamId> {
        match self {
            TextAdaptor::Linear(l) => l.params(),
            TextAdaptor::Moe {
                w, centres, gate, ..
            } => {
                let mut p = vec![*w, *gate];
                p.extend(centres);
                p
            }
        }
    }

    /// `x (B, D_t) → (B, D)`, the formulas of the module docs.
    pub fn forward(&self, g: &mut Graph, store: &ParamStore, x: Var) -> Result<Var> {
        match self {
            TextAdaptor::Linear(l) => l.forward(g, store, x), // (B, D)
            TextAdaptor::Moe {
                w,
                centres,
                gate,
                d_out,
                ..
            } => {
                let wv = g.param(store, *w)?; // (D_t, E·D)
                let xw = g.mm(x, wv)?; // (B, E·D)
                let mut shifts = Vec::with_capacity(centres.len());
                for (e, &c) in centres.iter().enumerate() {
                    let we = g.slice_cols(wv, e * d_out, *d_out)?; // (D_t, D)
                    let be = g.param(store, c)?; // (1, D_t)
                    shifts.push(g.mm(be, we)?); // (1, D): b_e·W_e
                }
                let shift = if shifts.len() == 1 {
                    shifts[0]
                } else {
                    g.concat_cols(&shifts)? // (1, E·D)
                };
                let h = g.sub(xw, shift)?; // (B, E·D): expert e is (x − b_e)·W_e
                let gv = g.param(store, *gate)?; // (D_t, E)
                let z = g.mm(x, gv)?; // (B, E) gate logits
                g.gate_combine(h, z) // (B, D)
            }
        }
    }

    /// `idx (B)` rows of `table` through the adaptor: `(B, D)`.
    pub fn forward_rows(
        &self,
        g: &mut Graph,
        store: &ParamStore,
        table: &FrozenTable,
        idx: &[u32],
    ) -> Result<Var> {
        if table.dim != self.d_text() {
            return Err(Error::Config {
                what: "text adaptor".into(),
                message: format!(
                    "was built for text vectors of width {}, but the table has width {}; use the encoder the run was trained with",
                    self.d_text(),
                    table.dim
                ),
            });
        }
        let x = table.forward(g, idx)?; // (B, D_t)
        self.forward(g, store, x) // (B, D)
    }
}
