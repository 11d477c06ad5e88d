//! The feature layer of an exported model: one graph input per feature column, the
//! same embedding lookups and concatenation as [`crate::nn::FeatureInput::forward`].
//!
//! ```text
//! <cat column>    int64 (B)            encoded id, 0 = out of vocabulary → Gather(table) (B, dim)
//! <bag column>    int64 (B, L)         encoded ids padded with −1 → mean of the valid rows (B, dim)
//! <numeric col.>  float (B, 1)         the value after the run's scaling (`<model>.inputs.json`)
//! x = Concat(cat…, bags…, numerics…)   (B, D_in), the column order of FeatureInput
//! ```
//!
//! Bag mean with padding: with m = (ids ≥ 0) as float (B, L) and E = Gather(T, max(ids, 0))
//! (B, L, dim): `mean = Σ_l m_l E_l / max(Σ_l m_l, 1)`, zeros for an empty bag, as
//! `ops::embedding_bag`.

use super::onnx::{Attr, Dim, Elem, OnnxGraph, ValueInfo};
use crate::autograd::ParamStore;
use crate::data::features::FeatureSpec;
use crate::error::{Error, Result};
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
    if !input.text.is_empty() {
        return Err(Error::Config {
            what: "mtrec export".into(),
            message: format!(
                "the run has text features ({}); their frozen sentence vectors come from a BERT encoder outside the model, which the export does not include yet: train without [features.text] to export",
                input.text.iter().map(|t| t.feature.as_str()).collect::<Vec<_>>().join(", ")
            ),
        });
    }
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
