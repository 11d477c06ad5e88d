//! A tiny ONNX interpreter for the tests of `mtrec export`: runs an in-memory
//! [`OnnxGraph`] (the graph the exporter writes) in f64 with the semantics of the ONNX
//! operator specification (opset 13) for the operators the exporter emits, so that a test
//! can compare an exported graph with the mtrec model it came from without Python.
//!
//! Tensors are `(shape, data)` with every element as f64 (int64 ids and booleans too:
//! ids stay exact below 2^53). Elementwise operators broadcast numpy-style; `MatMul`
//! broadcasts its batch dimensions.

#![allow(dead_code)]

use mtrec::export::onnx::{Attr, Data, Node, OnnxGraph};
use std::collections::HashMap;

mod decode;
mod scatter;
pub mod seq_run;
#[allow(unused_imports)]
pub use decode::decode_model;

#[derive(Clone, Debug, PartialEq)]
pub struct T {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl T {
    pub fn new(shape: Vec<usize>, data: Vec<f64>) -> T {
        assert_eq!(shape.iter().product::<usize>(), data.len(), "{shape:?}");
        T { shape, data }
    }
}

fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

fn broadcast_shape(a: &[usize], b: &[usize]) -> Vec<usize> {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| {
            let x = if i + a.len() >= n {
                a[i + a.len() - n]
            } else {
                1
            };
            let y = if i + b.len() >= n {
                b[i + b.len() - n]
            } else {
                1
            };
            assert!(x == y || x == 1 || y == 1, "broadcast {a:?} {b:?}");
            x.max(y)
        })
        .collect()
}

/// Index of `out_idx` (a multi-index into `out`) in a tensor of `shape` broadcast to it.
fn bcast_index(out_idx: &[usize], shape: &[usize]) -> usize {
    let st = strides(shape);
    let off = out_idx.len() - shape.len();
    (0..shape.len())
        .map(|i| {
            if shape[i] == 1 {
                0
            } else {
                out_idx[off + i] * st[i]
            }
        })
        .sum()
}

fn unravel(mut k: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for i in (0..shape.len()).rev() {
        idx[i] = k % shape[i];
        k /= shape[i];
    }
    idx
}

fn binary(a: &T, b: &T, f: impl Fn(f64, f64) -> f64) -> T {
    let shape = broadcast_shape(&a.shape, &b.shape);
    let n = shape.iter().product();
    let data = (0..n)
        .map(|k| {
            let idx = unravel(k, &shape);
            f(
                a.data[bcast_index(&idx, &a.shape)],
                b.data[bcast_index(&idx, &b.shape)],
            )
        })
        .collect();
    T::new(shape, data)
}

fn map(a: &T, f: impl Fn(f64) -> f64) -> T {
    T::new(a.shape.clone(), a.data.iter().map(|&x| f(x)).collect())
}

fn axis(a: i64, rank: usize) -> usize {
    if a < 0 {
        (a + rank as i64) as usize
    } else {
        a as usize
    }
}

fn reduce(a: &T, axes: &[usize], keep: bool, mean: bool) -> T {
    let kept: Vec<usize> = a
        .shape
        .iter()
        .enumerate()
        .map(|(i, &d)| if axes.contains(&i) { 1 } else { d })
        .collect();
    let mut out = vec![0.0; kept.iter().product()];
    for k in 0..a.data.len() {
        let idx = unravel(k, &a.shape);
        let o: Vec<usize> = idx
            .iter()
            .enumerate()
            .map(|(i, &x)| if axes.contains(&i) { 0 } else { x })
            .collect();
        out[bcast_index(&o, &kept)] += a.data[k];
    }
    let count: usize = axes.iter().map(|&i| a.shape[i]).product();
    if mean {
        out.iter_mut().for_each(|x| *x /= count as f64);
    }
    let shape = if keep {
        kept
    } else {
        a.shape
            .iter()
            .enumerate()
            .filter(|(i, _)| !axes.contains(i))
            .map(|(_, &d)| d)
            .collect()
    };
    T::new(shape, out)
}

fn matmul(a: &T, b: &T) -> T {
    let (ra, rb) = (a.shape.len(), b.shape.len());
    let (m, k) = (a.shape[ra - 2], a.shape[ra - 1]);
    let (k2, n) = (b.shape[rb - 2], b.shape[rb - 1]);
    assert_eq!(k, k2, "MatMul {:?} {:?}", a.shape, b.shape);
    let batch = broadcast_shape(&a.shape[..ra - 2], &b.shape[..rb - 2]);
    let nb: usize = batch.iter().product();
    let mut data = Vec::with_capacity(nb * m * n);
    for bi in 0..nb {
        let idx = unravel(bi, &batch);
        let oa = bcast_index(&idx, &a.shape[..ra - 2]) * m * k;
        let ob = bcast_index(&idx, &b.shape[..rb - 2]) * k * n;
        for i in 0..m {
            for j in 0..n {
                data.push(
                    (0..k)
                        .map(|l| a.data[oa + i * k + l] * b.data[ob + l * n + j])
                        .sum(),
                );
            }
        }
    }
    let mut shape = batch;
    shape.extend([m, n]);
    T::new(shape, data)
}

fn transpose(a: &T, perm: &[usize]) -> T {
    let shape: Vec<usize> = perm.iter().map(|&p| a.shape[p]).collect();
    let st = strides(&a.shape);
    let n = a.data.len();
    let data = (0..n)
        .map(|k| {
            let idx = unravel(k, &shape);
            (0..perm.len()).map(|i| idx[i] * st[perm[i]]).sum::<usize>()
        })
        .map(|src| a.data[src])
        .collect();
    T::new(shape, data)
}

fn ints(t: &T) -> Vec<i64> {
    t.data.iter().map(|&x| x as i64).collect()
}

fn attr<'a>(n: &'a Node, name: &str) -> Option<&'a Attr> {
    n.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

fn attr_int(n: &Node, name: &str, default: i64) -> i64 {
    match attr(n, name) {
        Some(Attr::Int(i)) => *i,
        None => default,
        other => panic!("{}: attribute {name} {other:?}", n.op),
    }
}

fn attr_ints(n: &Node, name: &str) -> Option<Vec<i64>> {
    match attr(n, name) {
        Some(Attr::Ints(v)) => Some(v.clone()),
        None => None,
        other => panic!("{}: attribute {name} {other:?}", n.op),
    }
}

/// Runs `og` on `feeds` (graph inputs by name); returns every graph output by name.
pub fn run(og: &OnnxGraph, feeds: &[(&str, T)]) -> HashMap<String, T> {
    let mut env: HashMap<String, T> = HashMap::new();
    for init in &og.initializers {
        let shape: Vec<usize> = init.dims.iter().map(|&d| d as usize).collect();
        let data = match &init.data {
            Data::F32(v) => v.iter().map(|&x| x as f64).collect(),
            Data::I64(v) => v.iter().map(|&x| x as f64).collect(),
        };
        env.insert(init.name.clone(), T::new(shape, data));
    }
    for (name, t) in feeds {
        assert!(og.inputs.iter().any(|v| v.name == *name), "no input {name}");
        env.insert(name.to_string(), t.clone());
    }
    for n in &og.nodes {
        let x: Vec<&T> = n
            .inputs
            .iter()
            .map(|i| {
                env.get(i)
                    .unwrap_or_else(|| panic!("{}: `{i}` undefined", n.op))
            })
            .collect();
        let out = eval(n, &x);
        env.insert(n.outputs[0].clone(), out);
    }
    og.outputs
        .iter()
        .map(|o| (o.name.clone(), env[&o.name].clone()))
        .collect()
}

fn eval(n: &Node, x: &[&T]) -> T {
    // Over 100 lines: one arm per ONNX operator the exporter emits, each a few lines of
    // the operator specification; they read best side by side.
    let rank = x[0].shape.len();
    match n.op.as_str() {
        "Identity" => x[0].clone(),
        "Add" => binary(x[0], x[1], |a, b| a + b),
        "Sub" => binary(x[0], x[1], |a, b| a - b),
        "Mul" => binary(x[0], x[1], |a, b| a * b),
        "Div" => binary(x[0], x[1], |a, b| a / b),
        "Greater" => binary(x[0], x[1], |a, b| f64::from(u8::from(a > b))),
        "GreaterOrEqual" => binary(x[0], x[1], |a, b| f64::from(u8::from(a >= b))),
        "Max" => x[1..]
            .iter()
            .fold(x[0].clone(), |acc, y| binary(&acc, y, f64::max)),
        "Sum" => x[1..]
            .iter()
            .fold(x[0].clone(), |acc, y| binary(&acc, y, |a, b| a + b)),
        "Cast" => match attr_int(n, "to", 1) {
            7 => map(x[0], |v| v.trunc()),
            _ => map(x[0], |v| v as f32 as f64),
        },
        "Sqrt" => map(x[0], f64::sqrt),
        "Exp" => map(x[0], f64::exp),
        "Log" => map(x[0], f64::ln),
        "Neg" => map(x[0], |v| -v),
        "Relu" => map(x[0], |v| v.max(0.0)),
        "Sigmoid" => map(x[0], |v| 1.0 / (1.0 + (-v).exp())),
        "Tanh" => map(x[0], f64::tanh),
        "ReduceMean" => {
            let axes: Vec<usize> = attr_ints(n, "axes")
                .expect("ReduceMean axes")
                .iter()
                .map(|&a| axis(a, rank))
                .collect();
            reduce(x[0], &axes, attr_int(n, "keepdims", 1) == 1, true)
        }
        "ReduceSum" => {
            let axes: Vec<usize> = ints(x[1]).iter().map(|&a| axis(a, rank)).collect();
            reduce(x[0], &axes, attr_int(n, "keepdims", 1) == 1, false)
        }
        "MatMul" => matmul(x[0], x[1]),
        "Gemm" => {
            let a = if attr_int(n, "transA", 0) == 1 {
                transpose(x[0], &[1, 0])
            } else {
                x[0].clone()
            };
            let b = if attr_int(n, "transB", 0) == 1 {
                transpose(x[1], &[1, 0])
            } else {
                x[1].clone()
            };
            let y = matmul(&a, &b);
            match x.get(2) {
                Some(c) => binary(&y, c, |a, b| a + b),
                None => y,
            }
        }
        "Transpose" => {
            let perm: Vec<usize> = attr_ints(n, "perm")
                .expect("perm")
                .iter()
                .map(|&p| p as usize)
                .collect();
            transpose(x[0], &perm)
        }
        "Reshape" => {
            let want = ints(x[1]);
            let mut shape: Vec<i64> = want
                .iter()
                .enumerate()
                .map(|(i, &d)| if d == 0 { x[0].shape[i] as i64 } else { d })
                .collect();
            if let Some(p) = shape.iter().position(|&d| d == -1) {
                let known: i64 = shape.iter().filter(|&&d| d != -1).product();
                shape[p] = x[0].data.len() as i64 / known;
            }
            T::new(
                shape.iter().map(|&d| d as usize).collect(),
                x[0].data.clone(),
            )
        }
        "Unsqueeze" | "Squeeze" => {
            let out_rank = if n.op == "Unsqueeze" {
                rank + x[1].data.len()
            } else {
                rank
            };
            let mut axes: Vec<usize> = ints(x[1]).iter().map(|&a| axis(a, out_rank)).collect();
            axes.sort_unstable();
            let mut shape = x[0].shape.clone();
            if n.op == "Unsqueeze" {
                for a in axes {
                    shape.insert(a, 1);
                }
            } else {
                for a in axes.into_iter().rev() {
                    assert_eq!(shape[a], 1, "Squeeze of a dimension {}", shape[a]);
                    shape.remove(a);
                }
            }
            T::new(shape, x[0].data.clone())
        }
        "Softmax" | "LogSoftmax" => {
            let ax = axis(attr_int(n, "axis", -1), rank);
            assert_eq!(ax, rank - 1, "softmax over the last axis only");
            let w = x[0].shape[ax];
            let mut data = x[0].data.clone();
            for row in data.chunks_mut(w) {
                let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = row.iter().map(|v| (v - m).exp()).sum();
                for v in row.iter_mut() {
                    *v = if n.op == "Softmax" {
                        (*v - m).exp() / z
                    } else {
                        *v - m - z.ln()
                    };
                }
            }
            T::new(x[0].shape.clone(), data)
        }
        "Gather" => {
            assert_eq!(attr_int(n, "axis", 0), 0, "Gather on axis 0 only");
            let row: usize = x[0].shape[1..].iter().product();
            let mut data = Vec::new();
            for &i in &x[1].data {
                let i = i as usize;
                assert!(i < x[0].shape[0], "Gather index {i} out of range");
                data.extend_from_slice(&x[0].data[i * row..(i + 1) * row]);
            }
            let mut shape = x[1].shape.clone();
            shape.extend_from_slice(&x[0].shape[1..]);
            T::new(shape, data)
        }
        "GatherND" => {
            // batch_dims = 1, indices (B, 1): out[b] = data[b, idx[b]]
            assert_eq!(attr_int(n, "batch_dims", 0), 1);
            assert_eq!(x[1].shape[1..], [1]);
            let (b, t) = (x[0].shape[0], x[0].shape[1]);
            let row: usize = x[0].shape[2..].iter().product();
            let mut data = Vec::new();
            for bi in 0..b {
                let i = x[1].data[bi] as usize;
                assert!(i < t);
                let at = (bi * t + i) * row;
                data.extend_from_slice(&x[0].data[at..at + row]);
            }
            let mut shape = vec![b];
            shape.extend_from_slice(&x[0].shape[2..]);
            T::new(shape, data)
        }
        "Slice" => {
            let (starts, ends, axes) = (ints(x[1]), ints(x[2]), ints(x[3]));
            let mut lo = vec![0; rank];
            let mut shape = x[0].shape.clone();
            for ((&s, &e), &a) in starts.iter().zip(&ends).zip(&axes) {
                let a = axis(a, rank);
                let e = (e as usize).min(x[0].shape[a]);
                lo[a] = s as usize;
                shape[a] = e - s as usize;
            }
            let st = strides(&x[0].shape);
            let data = (0..shape.iter().product())
                .map(|k| {
                    let idx = unravel(k, &shape);
                    x[0].data[(0..rank).map(|i| (idx[i] + lo[i]) * st[i]).sum::<usize>()]
                })
                .collect();
            T::new(shape, data)
        }
        "Concat" => {
            let ax = axis(attr_int(n, "axis", 0), rank);
            let outer: usize = x[0].shape[..ax].iter().product();
            let mut shape = x[0].shape.clone();
            shape[ax] = x.iter().map(|t| t.shape[ax]).sum();
            let mut data = Vec::new();
            for o in 0..outer {
                for t in x {
                    let inner: usize = t.shape[ax..].iter().product();
                    data.extend_from_slice(&t.data[o * inner..(o + 1) * inner]);
                }
            }
            T::new(shape, data)
        }
        "Erf" => map(x[0], erf),
        "Pad" => scatter::pad(x[0], &ints(x[1]), x.get(2).map_or(0.0, |v| v.data[0])),
        "GatherElements" => {
            assert_eq!(attr_int(n, "axis", 0), 1, "GatherElements on axis 1 only");
            scatter::gather_elements(x[0], x[1])
        }
        "ScatterElements" => {
            assert_eq!(attr_int(n, "axis", 0), 1, "ScatterElements on axis 1 only");
            scatter::scatter_elements(x[0], x[1], x[2])
        }
        other => panic!("the test interpreter has no operator {other}"),
    }
}

/// erf to ~1e-12 (Abramowitz-Stegun 7.1.26 is too coarse; a series / continued fraction).
fn erf(x: f64) -> f64 {
    if x.abs() < 3.0 {
        // Taylor series: erf x = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
        let mut sum = 0.0;
        let mut term = x;
        for k in 0..200 {
            let t = term / (2 * k + 1) as f64;
            sum += t;
            term *= -x * x / (k + 1) as f64;
            if t.abs() < 1e-17 {
                break;
            }
        }
        2.0 / std::f64::consts::PI.sqrt() * sum
    } else {
        x.signum() * (1.0 - erfc_large(x.abs()))
    }
}

fn erfc_large(x: f64) -> f64 {
    // continued fraction (Lentz), x ≥ 3
    let mut f = x;
    for k in (1..60).rev() {
        f = x + (k as f64 / 2.0) / f;
    }
    (-x * x).exp() / (f * std::f64::consts::PI.sqrt())
}
