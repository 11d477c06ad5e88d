//! ONNX export of the SASRec scorer of an `mtrec seq` run: a user's history window in,
//! scores over the whole catalogue out (one output per task of the run).
//!
//! ```text
//! history    int64 (B, T), T = max_len   model item ids, oldest first, right-padded with 0
//! valid      = history > 0 as float      (B, T)      L_b = Σ_t valid_bt
//! x          = M[history]·√D + P         (B, T, D)   M = item matrix, P = pos.emb
//! block (×L) a = LN(x)                                      (B, T, D)
//!            q, k, v = a·W_q + b_q, …  → (B, H, T, Dh)       heads split, Dh = D / H
//!            S = q·kᵀ / √Dh + C          (B, H, T, T)  C_ij = 0 if j ≤ i else −1e30 (causal)
//!            o = softmax_j(S)·v → (B, T, D), × valid  (padding rows 0, as ops::attention)
//!            x = x + o;  x = x + W₂·ReLU(W₁·LN(x) + b₁) + b₂
//! F          = LN_out(x[b, max(L_b, 1) − 1])             (B, D)  GatherND, batch_dims 1
//! next_item  = F · M[1..]ᵀ                               (B, V)  logits; column j = item id j + 1
//!              + β · ln(1 + c(a_b, j + 1))               a run with a transition prior
//!                                                        (`super::prior`: the score it ranks)
//! rating     = head(F ‖ M_i) for every item i            (B, V)  MovieLens runs
//! like       = σ(head(F ‖ M_i))                          (B, V)  MovieLens runs
//! keywords   = σ(F·W_kw + b_kw)                          (B, K_kw) Beauty runs with keywords
//! ```
//!
//! Why this equals `SasRec::forward` at the last real position: with right padding and
//! the causal mask, a real query i < L_b only sees keys j ≤ i < L_b, which are exactly
//! the keys `ops::attention` allows (`i < L ∧ j < L ∧ j ≤ i`); the −1e30 entries give
//! e^(S − m) = 0 in f32, so the softmax is the one over allowed keys. Padding rows differ
//! from mtrec's (which are 0) only through the attention output, which the `valid`
//! factor zeroes, so an empty history (L_b = 0, row 0 read, as `SeqBatch::eval`) gives
//! mtrec's value too.
//!
//! The pair heads see `F ‖ M_i`: their first layer `[F ‖ M_i]·W₀ + b₀` is split as
//! `F·W₀[:D] + (M_i·W₀[D:] + b₀)`, a `(B, 1, D) + (1, V, D)` broadcast, so the whole
//! catalogue is scored without building the `(B·V, 2D)` concatenation.
//!
//! Layer norm (opset 13 has no `LayerNormalization`):
//! `μ = ReduceMean(x)`, `d = x − μ`, `σ² = ReduceMean(d·d)`, `y = d / √(σ² + eps)·γ + β`,
//! the biased variance of `ops::layer_norm`.

use super::onnx::{Attr, Dim, Elem, OnnxGraph, ValueInfo};
use super::prior::{prior_nodes, PriorTable};
use crate::autograd::{Graph, ParamStore};
use crate::checkpoint::{load_params, read_safetensors};
use crate::data::sequences::IdMaps;
use crate::error::{Error, Result};
use crate::models::sasrec::{ItemInput, SasRec, SasRecConfig};
use crate::train::seq::SeqRunConfig;
use std::path::Path;

/// The additive mask of disallowed (future) keys: e^(−1e30 + s − m) is 0 in f32.
pub const MASKED: f32 = -1e30;

/// Eps of every layer norm of `SasRec` (`models::sasrec`, `LayerNorm::new(.., 1e-8)`).
pub const LN_EPS: f32 = 1e-8;

/// A loaded `mtrec seq` run, ready to export.
pub struct LoadedSeqRun {
    pub cfg: SeqRunConfig,
    pub model: SasRec,
    pub store: ParamStore,
    /// Original item ids by model id (index 0 is `<pad>`), from `ids.json`.
    pub item_keys: Vec<String>,
    /// The item matrix `M (V+1, D)`: `item.emb`, plus the projected text vectors for
    /// `item_input = "text"` / `"text+id"` (then computed here, exported as a constant).
    pub items: Vec<f32>,
    /// The run's transition prior (its chosen β and the training split's counts), added
    /// to `next_item` in the graph; `None`: the model's logits alone. [`load_seq_run`]
    /// leaves it `None`; `mtrec export` rebuilds it from the run's data
    /// ([`super::prior::run_prior`]).
    pub prior: Option<PriorTable>,
}

fn bad(run: &Path, message: String) -> Error {
    Error::Config {
        what: format!("mtrec export --run {}", run.display()),
        message,
    }
}

/// The model configuration of a seq run from its config and checkpoint shapes, without
/// reading the data: V from `ids.json` (or `item.emb`), D_text from `item.text.w`.
pub fn model_config_of(run: &Path, cfg: &SeqRunConfig) -> Result<(SasRecConfig, Vec<String>)> {
    let ckpt = read_safetensors(&run.join("model.safetensors"))?;
    let item_input = ItemInput::parse(&cfg.model.item_input)?;
    let keys = match IdMaps::read(run)? {
        Some(ids) => ids.items,
        None => return Err(bad(run, "has no ids.json (written by mtrec seq since issue #15): the export needs the run's item ids; train the run again with this mtrec".into())),
    };
    if keys.len() < 2 {
        return Err(bad(
            run,
            "ids.json lists no items; the run folder is damaged".into(),
        ));
    }
    let text_dim = if item_input.uses_text() {
        ckpt.get("item.text.w")
            .map(|t| t.shape[0])
            .ok_or_else(|| bad(run, "reads item text but its checkpoint has no `item.text.w`; the run folder is damaged".into()))?
    } else {
        0
    };
    let mcfg = SasRecConfig {
        num_items: keys.len() - 1,
        max_len: cfg.data.max_len,
        dim: cfg.model.dim,
        blocks: cfg.model.blocks,
        heads: cfg.model.heads,
        dropout: cfg.model.dropout,
        item_input,
        text_dim,
        keywords: cfg.model.keywords,
        rating_head: cfg.model.rating_head,
        like_head: cfg.model.like_head,
    };
    Ok((mcfg, keys))
}

/// Reads `config.toml`, `ids.json` and `model.safetensors` of an `mtrec seq` run.
/// `item_text`: the frozen `(V+1, D_text)` item text vectors, required when the run
/// reads item text (the caller embeds them as `mtrec seq` does).
pub fn load_seq_run(run: &Path, item_text: Option<&[f32]>) -> Result<LoadedSeqRun> {
    let cfg = SeqRunConfig::from_file(&run.join("config.toml"), &[])?;
    let (mcfg, item_keys) = model_config_of(run, &cfg)?;
    let mut store = ParamStore::new();
    let mut rng =
        <ndarray_rand::rand::rngs::StdRng as ndarray_rand::rand::SeedableRng>::seed_from_u64(0);
    let model = SasRec::new(&mut store, &mcfg, &mut rng)?;
    load_params(run.join("model.safetensors"), &mut store)?;
    let text = if mcfg.item_input.uses_text() {
        item_text
    } else {
        None
    };
    let mut g = Graph::new(0);
    g.set_training(false);
    let m = model.items(&mut g, &store, text)?; // (V+1, D)
    let items = g.value(m).to_vec();
    Ok(LoadedSeqRun {
        cfg,
        model,
        store,
        item_keys,
        items,
        prior: None,
    })
}

/// Adds parameter `name` of `store` as an initializer (once) and returns its name.
fn param(og: &mut OnnxGraph, store: &ParamStore, name: &str) -> Result<String> {
    if og.initializers.iter().any(|t| t.name == name) {
        return Ok(name.to_string());
    }
    let id = store.find(name).ok_or_else(|| Error::Config {
        what: "mtrec export".into(),
        message: format!("the SASRec model has no parameter `{name}`; please report this"),
    })?;
    let info = store.info(id);
    Ok(og.const_f32(
        name,
        &[info.rows as i64, info.cols as i64],
        store.value(id).to_vec(),
    ))
}

/// `x·W + b` over the last axis of `x`, for the parameters `<name>.w`, `<name>.b`.
fn linear(og: &mut OnnxGraph, store: &ParamStore, x: &str, name: &str) -> Result<String> {
    let w = param(og, store, &format!("{name}.w"))?; // (D_in, D_out)
    let b = param(og, store, &format!("{name}.b"))?; // (1, D_out)
    let xw = og.op("MatMul", &[x, &w], vec![]); // (…, D_out)
    Ok(og.op("Add", &[&xw, &b], vec![]))
}

/// Layer norm over the last axis with `<name>.gamma`, `<name>.beta` (see the module docs).
fn layer_norm(og: &mut OnnxGraph, store: &ParamStore, x: &str, name: &str) -> Result<String> {
    let last = || vec![("axes", Attr::Ints(vec![-1])), ("keepdims", Attr::Int(1))];
    let mu = og.op("ReduceMean", &[x], last()); // (…, 1)
    let d = og.op("Sub", &[x, &mu], vec![]); // (…, D)
    let d2 = og.op("Mul", &[&d, &d], vec![]); // (…, D)
    let var = og.op("ReduceMean", &[&d2], last()); // (…, 1)
    let eps = og.scalar_f32(LN_EPS);
    let ve = og.op("Add", &[&var, &eps], vec![]); // (…, 1)
    let sd = og.op("Sqrt", &[&ve], vec![]); // (…, 1)
    let y = og.op("Div", &[&d, &sd], vec![]); // (…, D)
    let gamma = param(og, store, &format!("{name}.gamma"))?; // (1, D)
    let beta = param(og, store, &format!("{name}.beta"))?; // (1, D)
    let yg = og.op("Mul", &[&y, &gamma], vec![]);
    Ok(og.op("Add", &[&yg, &beta], vec![]))
}

/// `(B, T, H·Dh) → (B, H, T, Dh)`, or `(B, H, Dh, T)` with `keys`.
fn split_heads(og: &mut OnnxGraph, x: &str, heads: usize, dh: usize, keys: bool) -> String {
    let shape = og.const_i64(&[0, 0, heads as i64, dh as i64]);
    let r = og.op("Reshape", &[x, &shape], vec![]); // (B, T, H, Dh)
    let perm = if keys {
        vec![0, 2, 3, 1]
    } else {
        vec![0, 2, 1, 3]
    };
    og.op("Transpose", &[&r], vec![("perm", Attr::Ints(perm))])
}

/// The causal mask `C (T, T)`: 0 where key j ≤ query i, [`MASKED`] after.
pub fn causal_mask(t: usize) -> Vec<f32> {
    let mut c = vec![0.0; t * t];
    for i in 0..t {
        for j in i + 1..t {
            c[i * t + j] = MASKED;
        }
    }
    c
}

/// The ONNX graph of a loaded seq run (see the module docs).
pub fn build_seq_graph(run: &LoadedSeqRun) -> Result<OnnxGraph> {
    seq_graph_with_prior(&run.model.cfg, &run.store, &run.items, run.prior.as_ref())
}

/// The graph of a SASRec model with configuration `cfg`, parameters `store` and item
/// matrix `items (V+1, D)`, without a transition prior.
pub fn seq_graph(cfg: &SasRecConfig, store: &ParamStore, items: &[f32]) -> Result<OnnxGraph> {
    seq_graph_with_prior(cfg, store, items, None)
}

/// [`seq_graph`] with `prior` (when given, and β ≠ 0) added to `next_item`.
pub fn seq_graph_with_prior(
    cfg: &SasRecConfig,
    store: &ParamStore,
    items: &[f32],
    prior: Option<&PriorTable>,
) -> Result<OnnxGraph> {
    // Over 100 lines: the forward pass of the module docs, line by line, with the shape
    // of every value; split, its lines would lose the order they are read in.
    let (v, t, dim, heads) = (cfg.num_items, cfg.max_len, cfg.dim, cfg.heads);
    let dh = dim / heads;
    if items.len() != (v + 1) * dim {
        return Err(Error::Length {
            op: "export::seq_graph",
            what: format!("item matrix (V+1, D) = ({}, {dim})", v + 1),
            len: items.len(),
            expected: (v + 1) * dim,
        });
    }
    let mut og = OnnxGraph::new("mtrec_sasrec");
    og.doc = "mtrec SASRec scorer: input `history` = model item ids (ids.json `items` index), oldest first, right-padded with 0 to max_len; outputs over the catalogue, column j = item id j + 1".into();
    let batch = || Dim::Named("batch".into());
    og.inputs.push(ValueInfo {
        name: "history".into(),
        elem: Elem::I64,
        dims: vec![batch(), Dim::Fixed(t as i64)],
    });
    let m = if cfg.item_input == ItemInput::Id {
        param(&mut og, store, "item.emb")? // (V+1, D)
    } else {
        og.const_f32("item.matrix", &[(v + 1) as i64, dim as i64], items.to_vec())
    };
    let zero = og.const_i64(&[0]);
    let gt = og.op("Greater", &["history", &zero], vec![]); // (B, T) bool
    let valid = og.op("Cast", &[&gt], vec![("to", Attr::Int(Elem::F32.code()))]); // (B, T)
    let ax2 = og.const_i64(&[2]);
    let valid3 = og.op("Unsqueeze", &[&valid, &ax2], vec![]); // (B, T, 1)
    let e = og.op("Gather", &[&m, "history"], vec![("axis", Attr::Int(0))]); // (B, T, D)
    let sqrt_d = og.scalar_f32((dim as f32).sqrt());
    let e = og.op("Mul", &[&e, &sqrt_d], vec![]); // (B, T, D)
    let pos = param(&mut og, store, "pos.emb")?; // (T, D)
    let mut x = og.op("Add", &[&e, &pos], vec![]); // (B, T, D)
    let causal = og.const_f32("causal_mask", &[t as i64, t as i64], causal_mask(t)); // (T, T)
    let inv_sqrt_dh = og.scalar_f32(1.0 / (dh as f32).sqrt());
    for l in 0..cfg.blocks {
        let a = layer_norm(&mut og, store, &x, &format!("block{l}.ln_attn"))?; // (B, T, D)
        let q = linear(&mut og, store, &a, &format!("block{l}.wq"))?; // (B, T, D)
        let k = linear(&mut og, store, &a, &format!("block{l}.wk"))?; // (B, T, D)
        let vv = linear(&mut og, store, &a, &format!("block{l}.wv"))?; // (B, T, D)
        let qh = split_heads(&mut og, &q, heads, dh, false); // (B, H, T, Dh)
        let kh = split_heads(&mut og, &k, heads, dh, true); // (B, H, Dh, T)
        let vh = split_heads(&mut og, &vv, heads, dh, false); // (B, H, T, Dh)
        let s = og.op("MatMul", &[&qh, &kh], vec![]); // (B, H, T, T)
        let s = og.op("Mul", &[&s, &inv_sqrt_dh], vec![]); // (B, H, T, T)
        let s = og.op("Add", &[&s, &causal], vec![]); // (B, H, T, T)
        let p = og.op("Softmax", &[&s], vec![("axis", Attr::Int(-1))]); // (B, H, T, T)
        let o = og.op("MatMul", &[&p, &vh], vec![]); // (B, H, T, Dh)
        let o = og.op(
            "Transpose",
            &[&o],
            vec![("perm", Attr::Ints(vec![0, 2, 1, 3]))],
        ); // (B, T, H, Dh)
        let shape = og.const_i64(&[0, 0, dim as i64]);
        let o = og.op("Reshape", &[&o, &shape], vec![]); // (B, T, D)
        let o = og.op("Mul", &[&o, &valid3], vec![]); // (B, T, D), padding rows 0
        x = og.op("Add", &[&x, &o], vec![]); // (B, T, D)
        let f = layer_norm(&mut og, store, &x, &format!("block{l}.ln_ffn"))?; // (B, T, D)
        let f = linear(&mut og, store, &f, &format!("block{l}.ffn1"))?; // (B, T, D)
        let f = og.op("Relu", &[&f], vec![]); // (B, T, D)
        let f = linear(&mut og, store, &f, &format!("block{l}.ffn2"))?; // (B, T, D)
        x = og.op("Add", &[&x, &f], vec![]); // (B, T, D)
    }
    // the last real position: max(L_b, 1) − 1
    let ax1 = og.const_i64(&[1]);
    let len = og.op(
        "ReduceSum",
        &[&valid, &ax1],
        vec![("keepdims", Attr::Int(1))],
    ); // (B, 1)
    let one = og.scalar_f32(1.0);
    let len1 = og.op("Max", &[&len, &one], vec![]); // (B, 1)
    let last = og.op("Sub", &[&len1, &one], vec![]); // (B, 1)
    let last = og.op("Cast", &[&last], vec![("to", Attr::Int(Elem::I64.code()))]); // (B, 1)
    let xl = og.op("GatherND", &[&x, &last], vec![("batch_dims", Attr::Int(1))]); // (B, D)
    let h = layer_norm(&mut og, store, &xl, "ln_out")?; // (B, D) = F
    let (r0, r1, r2) = (
        og.const_i64(&[1]),
        og.const_i64(&[(v + 1) as i64]),
        og.const_i64(&[0]),
    );
    let cat = og.op("Slice", &[&m, &r0, &r1, &r2], vec![]); // (V, D) = M[1..]
    let mut outputs = Vec::new();
    match prior.filter(|p| p.weight != 0.0) {
        None => og.op_named(
            "Gemm",
            &[&h, &cat],
            vec![("transB", Attr::Int(1))],
            "next_item",
        ), // (B, V)
        Some(p) => {
            if p.num_items != v {
                return Err(Error::Length {
                    op: "export::seq_graph",
                    what: format!("transition prior of V = {} items", p.num_items),
                    len: p.num_items,
                    expected: v,
                });
            }
            let s = og.op("Gemm", &[&h, &cat], vec![("transB", Attr::Int(1))]); // (B, V)
            prior_nodes(&mut og, p, &s, "history", &last, "next_item"); // (B, V)
        }
    }
    outputs.push(("next_item", v));
    for (on, name) in [(cfg.rating_head, "rating"), (cfg.like_head, "like")] {
        if !on {
            continue;
        }
        let z = pair_head(&mut og, store, &h, &cat, &format!("head.{name}"), dim)?; // (B, V)
        let op = if name == "like" {
            "Sigmoid"
        } else {
            "Identity"
        };
        og.op_named(op, &[&z], vec![], name);
        outputs.push((name, v));
    }
    if cfg.keywords > 0 {
        let z = linear(&mut og, store, &h, "head.keywords")?; // (B, K_kw)
        og.op_named("Sigmoid", &[&z], vec![], "keywords");
        outputs.push(("keywords", cfg.keywords));
    }
    for (name, width) in outputs {
        og.outputs.push(ValueInfo {
            name: name.into(),
            elem: Elem::F32,
            dims: vec![batch(), Dim::Fixed(width as i64)],
        });
    }
    Ok(og)
}

/// A pair head `Mlp([2D, D, …, 1], ReLU)` on `F_b ‖ M_i` for every (b, i): `(B, V)`.
fn pair_head(
    og: &mut OnnxGraph,
    store: &ParamStore,
    h: &str,
    cat: &str,
    name: &str,
    dim: usize,
) -> Result<String> {
    let w0 = param(og, store, &format!("{name}.0.w"))?; // (2D, D_1)
    let b0 = param(og, store, &format!("{name}.0.b"))?; // (1, D_1)
    let ax0 = og.const_i64(&[0]);
    let (s0, s1, s2) = (
        og.const_i64(&[0]),
        og.const_i64(&[dim as i64]),
        og.const_i64(&[2 * dim as i64]),
    );
    let w_f = og.op("Slice", &[&w0, &s0, &s1, &ax0], vec![]); // (D, D_1): rows of F
    let w_m = og.op("Slice", &[&w0, &s1, &s2, &ax0], vec![]); // (D, D_1): rows of M_i
    let hf = og.op("MatMul", &[h, &w_f], vec![]); // (B, D_1)
    let hm = og.op("MatMul", &[cat, &w_m], vec![]); // (V, D_1)
    let hm = og.op("Add", &[&hm, &b0], vec![]); // (V, D_1)
    let ax1 = og.const_i64(&[1]);
    let hf3 = og.op("Unsqueeze", &[&hf, &ax1], vec![]); // (B, 1, D_1)
    let mut z = og.op("Add", &[&hf3, &hm], vec![]); // (B, V, D_1)
    let mut layer = 1;
    while store.find(&format!("{name}.{layer}.w")).is_some() {
        z = og.op("Relu", &[&z], vec![]); // (B, V, D_l)
        z = linear(og, store, &z, &format!("{name}.{layer}"))?; // (B, V, D_{l+1})
        layer += 1;
    }
    let ax2 = og.const_i64(&[2]);
    Ok(og.op("Squeeze", &[&z, &ax2], vec![])) // (B, V)
}

/// `<model>.inputs.json` of a seq export: the input, the id mapping, the outputs.
pub fn seq_inputs_json(run: &LoadedSeqRun) -> serde_json::Value {
    use serde_json::json;
    let c = &run.model.cfg;
    let prior = run.prior.as_ref().filter(|p| p.weight != 0.0);
    let value = match prior {
        None => "next-item logit S_bj of item id j + 1 (what mtrec recommend ranks by; softmax over the row = P(next = item), mtrec predict's next_item)",
        Some(_) => "next-item score R_bj = S_bj + β · ln(1 + c(a_b, j + 1)) of item id j + 1: the model's logit plus the run's transition prior after the last history item a_b (what mtrec recommend ranks by and mtrec predict's `score`; softmax over the row = P(next = item), mtrec predict's next_item)",
    };
    let mut outputs = vec![json!({
        "name": "next_item", "dtype": "float32", "shape": ["batch", c.num_items], "value": value,
    })];
    if c.rating_head {
        outputs.push(json!({"name": "rating", "dtype": "float32", "shape": ["batch", c.num_items], "value": "predicted rating of item id j + 1 as the next interaction"}));
    }
    if c.like_head {
        outputs.push(json!({"name": "like", "dtype": "float32", "shape": ["batch", c.num_items], "value": "probability that the user likes item id j + 1 (rating ≥ 4)"}));
    }
    if c.keywords > 0 {
        outputs.push(json!({"name": "keywords", "dtype": "float32", "shape": ["batch", c.keywords], "value": "probability of each keyword of the run's keyword vocabulary on the next item"}));
    }
    json!({
        "format": "mtrec onnx export 1",
        "model": "sasrec",
        "item_input": run.cfg.model.item_input,
        "inputs": [{
            "name": "history", "dtype": "int64", "shape": ["batch", c.max_len],
            "encoding": "the user's last max_len items, oldest first, as model item ids (the index of the original id in `items`, 1..=V), right-padded with 0; items not in `items` are left out (as mtrec predict does)",
        }],
        "outputs": outputs,
        "transition_prior": prior.map(|p| json!({
            "weight": p.weight,
            "row_length": p.k,
            "rule": "next_item = F·M_j + weight · ln(1 + c(a, j)), c counted on the run's training split, a = the last history item (the constants prior.cols, prior.vals, prior.beta)",
        })),
        "items": run.item_keys,
    })
}
