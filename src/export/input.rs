//! The feature layer of an exported model: one graph input per feature column, the
//! same embedding lookups and concatenation as [`crate::nn::FeatureInput::forward`].
//!
//! ```text
//! <cat column>    int64 (B)            encoded id, 0 = out of vocabulary → Gather(table) (B, dim)
//! <bag column>    int64 (B, L)         encoded ids padded with −1 → mean of the valid rows (B, dim)
//! <numeric col.>  float (B, 1)         the value after the run's scaling (`<model>.inputs.json`)
//! <text column>   float (B, D_t)       the row's text embedded by the run's sentence encoder
//!                                      (MiniLM: D_t = 384) → the learned adaptor (B, dim_t)
//! x = Concat(cat…, bags…, numerics…, texts…)   (B, D_in), the column order of FeatureInput
//! ```
//!
//! Bag mean with padding: with m = (ids ≥ 0) as float (B, L) and E = Gather(T, max(ids, 0))
//! (B, L, dim): `mean = Σ_l m_l E_l / max(Σ_l m_l, 1)`, zeros for an empty bag, as
//! `ops::embedding_bag`.

use super::onnx::{Attr, Dim, Elem, OnnxGraph, ValueInfo};
use crate::autograd::{Graph, ParamStore};
use crate::data::features::FeatureSpec;
use crate::error::Result;
use crate::nn::FeatureInput;

fn batch() -> Dim {
    Dim::Named("batch".into())
}

/// Adds the graph inputs and the feature layer; returns the name of `x (B, D_in)`.
pub fn feature_layer(
    og: &mut OnnxGraph,
    spec: &FeatureSpec,
    input: &FeatureInput,
    store: &ParamStore,
) -> Result<String> {
    let mut parts = Vec::new();
    for t in &input.categorical {
        og.inputs.push(ValueInfo {
            name: t.feature.clone(),
            elem: Elem::I64,
            dims: vec![batch()],
        });
        let table = table(og, store, t.table);
        parts.push(og.op(
            "Gather",
            &[&table, &t.feature],
            vec![("axis", Attr::Int(0))],
        )); // (B, dim)
    }
    for t in &input.multi_hot {
        og.inputs.push(ValueInfo {
            name: t.feature.clone(),
            elem: Elem::I64,
            dims: vec![batch(), Dim::Named(format!("{}_len", t.feature))],
        });
        let table = table(og, store, t.table);
        let zero = og.const_i64(&[0]);
        let valid = og.op("GreaterOrEqual", &[&t.feature, &zero], vec![]); // (B, L) bool
        let m = og.op("Cast", &[&valid], vec![("to", Attr::Int(Elem::F32.code()))]); // (B, L)
        let ids = og.op("Max", &[&t.feature, &zero], vec![]); // (B, L) padding → row 0
        let e = og.op("Gather", &[&table, &ids], vec![("axis", Attr::Int(0))]); // (B, L, dim)
        let ax2 = og.const_i64(&[2]);
        let m3 = og.op("Unsqueeze", &[&m, &ax2], vec![]); // (B, L, 1)
        let me = og.op("Mul", &[&e, &m3], vec![]); // (B, L, dim)
        let ax1 = og.const_i64(&[1]);
        let s = og.op("ReduceSum", &[&me, &ax1], vec![("keepdims", Attr::Int(0))]); // (B, dim)
        let n = og.op("ReduceSum", &[&m, &ax1], vec![("keepdims", Attr::Int(1))]); // (B, 1)
        let one = og.scalar_f32(1.0);
        let n1 = og.op("Max", &[&n, &one], vec![]); // (B, 1)
        parts.push(og.op("Div", &[&s, &n1], vec![])); // (B, dim)
    }
    for n in &spec.numeric {
        og.inputs.push(ValueInfo {
            name: n.name.clone(),
            elem: Elem::F32,
            dims: vec![batch(), Dim::Fixed(1)],
        });
        parts.push(n.name.clone()); // (B, 1)
    }
    for t in &input.text {
        let name = text_input_name(spec, &t.feature);
        og.inputs.push(ValueInfo {
            name: name.clone(),
            elem: Elem::F32,
            dims: vec![batch(), Dim::Fixed(t.d_text as i64)],
        });
        // the adaptor (linear or UniSRec's MoE) recorded on its own tape and lowered
        let mut g = Graph::new(0);
        g.set_training(false);
        let x = g.input_slice(2, t.d_text, &vec![0.0; 2 * t.d_text])?; // (B, D_t)
        let y = t.adaptor.forward(&mut g, store, x)?; // (B, dim_t)
        let out = super::lower::lower_tape(&g, store, x, &name, &[y], og)?;
        parts.push(out[0].clone()); // (B, dim_t)
    }
    Ok(if parts.len() == 1 {
        og.op("Identity", &[&parts[0]], vec![])
    } else {
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        og.op("Concat", &refs, vec![("axis", Attr::Int(1))]) // (B, D_in)
    })
}

fn table(og: &mut OnnxGraph, store: &ParamStore, id: crate::autograd::ParamId) -> String {
    let info = store.info(id);
    og.const_f32(
        &info.name,
        &[info.rows as i64, info.cols as i64],
        store.value(id).to_vec(),
    )
}

/// The graph input of the text feature of id feature `feature`: named after its text
/// column (`title`), or `<column>_text` when a feature column of that name exists.
pub fn text_input_name(spec: &FeatureSpec, feature: &str) -> String {
    let column = spec
        .text
        .iter()
        .find(|s| s.name == feature)
        .map_or(feature, |s| s.column.as_str());
    let taken = spec.categorical.iter().any(|c| c.name == column)
        || spec.multi_hot.iter().any(|b| b.name == column)
        || spec.numeric.iter().any(|n| n.name == column);
    if taken {
        format!("{column}_text")
    } else {
        column.to_string()
    }
}
