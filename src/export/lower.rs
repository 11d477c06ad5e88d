//! Lowering of a recorded forward pass (the autograd tape of one evaluation-mode step)
//! to ONNX nodes. Every architecture of `mtrec train` is a composition of the tape ops
//! below, so one translation covers them all; an op without a translation is refused
//! with its name.
//!
//! | tape op | ONNX |
//! |---|---|
//! | `Param(p)` | initializer named after the parameter (`mmoe.gate.0.w`) |
//! | `LinearAct{x, w, b, f}` = f(x·W + b) | `Gemm(x, W, b)` then f |
//! | `MatMul{a, b, ta, tb}` | `Gemm(a, b)` with `transA`, `transB` |
//! | `Add` / `Sub` / `Mul` (b broadcast) | `Add` / `Sub` / `Mul` (numpy broadcasting) |
//! | `Scale{c}` | `Mul(a, c)` |
//! | `Sum` / `Mean` over rows, columns, all | `ReduceSum` / `ReduceMean`, keepdims = 1 (`(1, 1)` for all) |
//! | `Unary` exp, log, relu, sigmoid, tanh | `Exp`, `Log`, `Relu`, `Sigmoid`, `Tanh` |
//! | `Unary` gelu = x·½(1 + erf(x/√2)) | `Div`, `Erf`, `Add`, `Mul`, `Mul` (exact GELU, as `ops::unary`) |
//! | `Softmax` / `LogSoftmax` (per row) | `Softmax` / `LogSoftmax`, axis 1 |
//! | `ConcatCols` / `SliceCols` | `Concat` axis 1 / `Slice` axis 1 |
//! | `GateCombine{X (B, E·D), z (B, E)}` = Σ_e softmax(z)_e X_e | `Softmax` → `Unsqueeze` (B, E, 1); `Reshape` X → (B, E, D); `Mul`; `ReduceSum` axis 1 → (B, D) |
//! | `LogitProduct{a, b}` = −ln(e^(−a) + e^(−b) + e^(−a−b)) | with m = max(−a, −b, −a−b): −(m + ln Σ e^(u − m)), never overflowing |
//! | `Dropout` | never recorded in evaluation mode (the identity) |

use super::onnx::{Attr, OnnxGraph};
use crate::autograd::{Axis, Graph, Op, ParamStore, UnaryFn, Var};
use crate::error::{Error, Result};
use std::collections::HashMap;

fn refuse(what: &str) -> Error {
    Error::Config {
        what: "mtrec export".into(),
        message: format!(
            "the model's forward pass uses `{what}`, which has no ONNX translation yet (supported: linear layers, elementwise ops, softmax gates, concat/slice, ESMM's logit product); export a run of another architecture or report this"
        ),
    }
}

/// Adds the nodes computing `outputs` from the tape of `g`, whose only data input is the
/// node `x` (named `x_name` in `og`). Returns the ONNX name of each output.
pub fn lower_tape(
    g: &Graph,
    store: &ParamStore,
    x: Var,
    x_name: &str,
    outputs: &[Var],
    og: &mut OnnxGraph,
) -> Result<Vec<String>> {
    // Over 100 lines: one pass over the tape with one arm per op kind that has an ONNX
    // translation: the arms share the name and parameter maps, and each reads best next to
    // the others.
    let mut names: Vec<Option<String>> = vec![None; g.len];
    let mut params: HashMap<usize, String> = HashMap::new();
    names[x.index()] = Some(x_name.to_string());
    for slot in 0..g.len {
        if slot == x.index() {
            continue;
        }
        let node = &g.nodes[slot];
        let name = |v: &Var| -> Result<String> {
            names[v.index()].clone().ok_or_else(|| {
                refuse("an input other than the feature layer's output (node without a name)")
            })
        };
        let out = match node.op {
            Op::Input => {
                // Data the model does not use for its outputs (e.g. labels) stays unnamed;
                // a consumer of it fails above.
                continue;
            }
            Op::Param(id) => {
                if let Some(n) = params.get(&id.index()) {
                    n.clone()
                } else {
                    let info = store.info(id);
                    let n = og.const_f32(
                        &info.name,
                        &[info.rows as i64, info.cols as i64],
                        store.value(id).to_vec(),
                    );
                    params.insert(id.index(), n.clone());
                    n
                }
            }
            Op::LinearAct { x, w, b, f } => {
                let (x, w, b) = (name(&x)?, name(&w)?, name(&b)?);
                let z = og.op("Gemm", &[&x, &w, &b], vec![]); // (B, D_out)
                match f {
                    Some(f) => unary(og, &z, f),
                    None => z,
                }
            }
            Op::MatMul { a, b, ta, tb } => {
                let (a, b) = (name(&a)?, name(&b)?);
                og.op(
                    "Gemm",
                    &[&a, &b],
                    vec![
                        ("transA", Attr::Int(i64::from(ta))),
                        ("transB", Attr::Int(i64::from(tb))),
                    ],
                )
            }
            Op::Add { a, b } => og.op("Add", &[&name(&a)?, &name(&b)?], vec![]),
            Op::Sub { a, b } => og.op("Sub", &[&name(&a)?, &name(&b)?], vec![]),
            Op::Mul { a, b } => og.op("Mul", &[&name(&a)?, &name(&b)?], vec![]),
            Op::Scale { a, c } => {
                let c = og.scalar_f32(c);
                og.op("Mul", &[&name(&a)?, &c], vec![])
            }
            Op::Sum { a, axis } => {
                let axes = og.const_i64(axes_of(axis));
                og.op(
                    "ReduceSum",
                    &[&name(&a)?, &axes],
                    vec![("keepdims", Attr::Int(1))],
                )
            }
            Op::Mean { a, axis } => og.op(
                "ReduceMean",
                &[&name(&a)?],
                vec![
                    ("axes", Attr::Ints(axes_of(axis).to_vec())),
                    ("keepdims", Attr::Int(1)),
                ],
            ),
            Op::Unary { a, f } => unary(og, &name(&a)?, f),
            Op::Softmax { a } => og.op("Softmax", &[&name(&a)?], vec![("axis", Attr::Int(1))]),
            Op::LogSoftmax { a } => {
                og.op("LogSoftmax", &[&name(&a)?], vec![("axis", Attr::Int(1))])
            }
            Op::ConcatCols => {
                let ins = node
                    .idx
                    .iter()
                    .map(|&s| name(&Var::slot(s)))
                    .collect::<Result<Vec<_>>>()?;
                let refs: Vec<&str> = ins.iter().map(String::as_str).collect();
                og.op("Concat", &refs, vec![("axis", Attr::Int(1))])
            }
            Op::SliceCols { a, start } => {
                let (s, e) = (start as i64, (start + node.cols) as i64);
                let (starts, ends, axes) =
                    (og.const_i64(&[s]), og.const_i64(&[e]), og.const_i64(&[1]));
                og.op("Slice", &[&name(&a)?, &starts, &ends, &axes], vec![])
            }
            Op::GateCombine { experts, gate, e } => {
                let width = node.cols as i64; // D
                let w = og.op("Softmax", &[&name(&gate)?], vec![("axis", Attr::Int(1))]); // (B, E)
                let ax2 = og.const_i64(&[2]);
                let w3 = og.op("Unsqueeze", &[&w, &ax2], vec![]); // (B, E, 1)
                let shape = og.const_i64(&[-1, e as i64, width]);
                let x3 = og.op("Reshape", &[&name(&experts)?, &shape], vec![]); // (B, E, D)
                let wx = og.op("Mul", &[&x3, &w3], vec![]); // (B, E, D)
                let ax1 = og.const_i64(&[1]);
                og.op("ReduceSum", &[&wx, &ax1], vec![("keepdims", Attr::Int(0))])
                // (B, D)
            }
            Op::LogitProduct { a, b } => logit_product(og, &name(&a)?, &name(&b)?),
            Op::Dropout { .. } => {
                return Err(refuse("dropout in training mode (please report this)"))
            }
            Op::Gather { .. } | Op::EmbeddingBag { .. } | Op::EmbedLinear { .. } => {
                return Err(refuse("an embedding lookup inside the model"))
            }
            Op::LayerNorm { .. } => return Err(refuse("layer_norm")),
            Op::Attention { .. } => return Err(refuse("attention")),
            Op::MaskedMean { .. } => return Err(refuse("masked_mean")),
            Op::L2Normalize { .. } => return Err(refuse("l2_normalize")),
            Op::SelectRows { .. } => return Err(refuse("select_rows")),
            Op::Mse { .. }
            | Op::BceLogits { .. }
            | Op::SoftmaxCe { .. }
            | Op::CatalogueCe { .. }
            | Op::DistillBce { .. }
            | Op::WeightedSum => return Err(refuse("a loss")),
            #[cfg(test)]
            Op::Cube { .. } => return Err(refuse("example_cube")),
        };
        names[slot] = Some(out);
    }
    outputs
        .iter()
        .map(|v| {
            names[v.index()]
                .clone()
                .ok_or_else(|| refuse("an output that is not computed from the features"))
        })
        .collect()
}

fn axes_of(axis: Axis) -> &'static [i64] {
    match axis {
        Axis::All => &[0, 1],
        Axis::Rows => &[1],
        Axis::Cols => &[0],
    }
}

/// `f(a)` elementwise.
pub fn unary(og: &mut OnnxGraph, a: &str, f: UnaryFn) -> String {
    match f {
        UnaryFn::Exp => og.op("Exp", &[a], vec![]),
        UnaryFn::Log => og.op("Log", &[a], vec![]),
        UnaryFn::Relu => og.op("Relu", &[a], vec![]),
        UnaryFn::Sigmoid => og.op("Sigmoid", &[a], vec![]),
        UnaryFn::Tanh => og.op("Tanh", &[a], vec![]),
        UnaryFn::Gelu => {
            // x · ½ (1 + erf(x / √2))
            let r2 = og.scalar_f32(std::f32::consts::SQRT_2);
            let u = og.op("Div", &[a, &r2], vec![]);
            let e = og.op("Erf", &[&u], vec![]);
            let one = og.scalar_f32(1.0);
            let s = og.op("Add", &[&e, &one], vec![]);
            let half = og.scalar_f32(0.5);
            let h = og.op("Mul", &[&s, &half], vec![]);
            og.op("Mul", &[a, &h], vec![])
        }
    }
}

/// `logit(σ(a)·σ(b)) = −ln(e^(−a) + e^(−b) + e^(−a−b))`, as `−(m + ln Σ_u e^(u − m))`
/// over u ∈ {−a, −b, −a−b} with m their maximum.
fn logit_product(og: &mut OnnxGraph, a: &str, b: &str) -> String {
    let na = og.op("Neg", &[a], vec![]);
    let nb = og.op("Neg", &[b], vec![]);
    let nab = og.op("Add", &[&na, &nb], vec![]);
    let m = og.op("Max", &[&na, &nb, &nab], vec![]);
    let terms: Vec<String> = [&na, &nb, &nab]
        .iter()
        .map(|u| {
            let shifted = og.op("Sub", &[u, &m], vec![]);
            og.op("Exp", &[&shifted], vec![])
        })
        .collect();
    let s = og.op("Sum", &[&terms[0], &terms[1], &terms[2]], vec![]);
    let l = og.op("Log", &[&s], vec![]);
    let t = og.op("Add", &[&m, &l], vec![]);
    og.op("Neg", &[&t], vec![])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An op without a translation is refused by name; the supported ones lower.
    #[test]
    fn untranslated_ops_are_refused_by_name() {
        let mut store = ParamStore::new();
        let gamma = store.add_dense("ln.g", 1, 3, vec![1.0; 3]).unwrap();
        let beta = store.add_dense("ln.b", 1, 3, vec![0.0; 3]).unwrap();
        let mut g = Graph::new(0);
        g.set_training(false);
        let x = g
            .input_slice(2, 3, &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
            .unwrap();
        let r = g.relu(x).unwrap();
        let mut og = OnnxGraph::new("t");
        let ok = lower_tape(&g, &store, x, "x", &[r], &mut og).unwrap();
        assert_eq!(og.nodes.last().unwrap().op, "Relu");
        assert_eq!(ok, vec![og.nodes.last().unwrap().outputs[0].clone()]);
        let (gv, bv) = (
            g.param(&store, gamma).unwrap(),
            g.param(&store, beta).unwrap(),
        );
        let y = g.layer_norm(r, gv, bv, 1e-5).unwrap();
        let err = lower_tape(&g, &store, x, "x", &[y], &mut OnnxGraph::new("t")).unwrap_err();
        assert!(format!("{err}").contains("layer_norm"), "{err}");
    }
}
