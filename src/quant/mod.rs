//! Post-training int8 quantisation of a trained model (`mtrec compress --int8`).
//!
//! - Dense weights `*.w` with at least two rows (every `nn::Linear`: towers, experts,
//!   gates): int8 per output column, symmetric (`ops::gemm_i8`), the scale rounded up to
//!   an f16 and stored as f16; in evaluation mode they are multiplied by the int8 kernel
//!   with activations quantised per row at run time (a layer over the input layer's
//!   embeddings takes the factorised product of `ops::embed_linear` instead).
//! - Embedding tables: int8 per row, one scale per row (`s = max_d |E_vd| / 127` rounded
//!   up to the next f16, stored as f16: a 16-wide row is 18 bytes instead of 64),
//!   dequantised to f32 once when the run is loaded, so every lookup reads the int8
//!   values' f32 image.
//! - Everything else (biases, LayerNorm, balancer weights): f32 as trained.
//!
//! [`load_weights`] is the one loading path of `eval`, `predict`, `recommend` and `serve`:
//! it fills a model's [`ParamStore`] from `model.safetensors` or, in a compressed run,
//! from `model.int8.safetensors` (attaching the int8 matrices to the store, which
//! `nn::Linear` then uses), so every command scores a compressed run like any other.

pub mod f16;
pub mod file;

use crate::autograd::{ParamKind, ParamStore};
use crate::error::{Error, Result};
use crate::ops::gemm_i8::QuantMatrix;
use file::{Tensor8, Values};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The weights of a compressed run.
pub const INT8_FILE: &str = "model.int8.safetensors";
/// What `mtrec compress` quantised and how.
pub const COMPRESS_JSON: &str = "compress.json";

/// Whether `run` is a folder written by `mtrec compress --int8`.
pub fn is_int8(run: &Path) -> bool {
    run.join(INT8_FILE).is_file()
}

/// One quantised tensor in `compress.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    pub name: String,
    pub shape: [usize; 2],
    pub scheme: &'static str,
}

/// `compress.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub format: &'static str,
    pub source: String,
    pub weights: &'static str,
    pub activations: &'static str,
    pub dense_int8: Vec<Entry>,
    pub tables_int8: Vec<Entry>,
    pub f32: Vec<String>,
    /// Bytes of the source's `model.safetensors` and of `model.int8.safetensors`.
    pub f32_bytes: u64,
    pub int8_bytes: u64,
}

const DENSE_SCHEME: &str =
    "int8 per output column, symmetric: s_j = max_k |W_kj| / 127 rounded up to f16 (stored f16)";
const TABLE_SCHEME: &str =
    "int8 per row, symmetric: s_v = max_d |E_vd| / 127 rounded up to f16 (stored f16)";

/// Whether dense parameter `name` of shape (rows, cols) is quantised: the weights of a
/// linear layer (`*.w`) with D_in ≥ 2.
fn quantised_dense(name: &str, rows: usize) -> bool {
    name.ends_with(".w") && rows >= 2
}

/// `s` rounded **up** to an f16 (as bits), so `max |x| / s16 ≤ 127` and no value is
/// clamped: the error stays within `s16 / 2`.
fn f16_up(s: f32, what: &str) -> Result<u16> {
    let h = f16::from_f32(s);
    let h = if f16::to_f32(h) < s { h + 1 } else { h }; // scales are ≥ 0: next bits = next up
    if !f16::to_f32(h).is_finite() {
        return Err(Error::Config {
            what: what.into(),
            message: format!("a scale {s} is beyond f16 (values above 8·10⁶); this tensor cannot be stored as int8, train with smaller weights (weight decay) or leave it f32"),
        });
    }
    Ok(h)
}

/// Per row of `v` (rows, cols): `(q, scales as f16 bits)`, symmetric int8 (tables).
fn quantize_per_row(v: &[f32], cols: usize) -> Result<(Vec<i8>, Vec<u16>)> {
    let mut q = Vec::with_capacity(v.len());
    let mut scales = Vec::with_capacity(v.len() / cols.max(1));
    for row in v.chunks_exact(cols) {
        let bits = f16_up(
            row.iter().fold(0f32, |m, x| m.max(x.abs())) / 127.0,
            "embedding table",
        )?;
        let s = f16::to_f32(bits);
        scales.push(bits);
        q.extend(row.iter().map(|&x| {
            if s > 0.0 {
                (x / s).round().clamp(-127.0, 127.0) as i8
            } else {
                0
            }
        }));
    }
    Ok((q, scales))
}

/// Per output column of `w` (rows, cols): `(q, scales as f16 bits)`, symmetric int8
/// (dense weights). The scale `max_k |W_kj| / 127` is rounded up to an f16 first and the
/// weights are quantised with that stored scale, so the file holds exactly the matrix
/// that runs (2 bytes per column instead of 4: MovieLens MMoE has ~600 columns).
fn quantize_per_column(
    name: &str,
    w: &[f32],
    rows: usize,
    cols: usize,
) -> Result<(Vec<i8>, Vec<u16>)> {
    crate::ops::gemm_i8::check_d_in(name, rows)?;
    let mut max = vec![0f32; cols];
    for row in w.chunks_exact(cols) {
        for (m, &v) in max.iter_mut().zip(row) {
            *m = m.max(v.abs());
        }
    }
    let bits = max
        .iter()
        .map(|&m| f16_up(m / 127.0, &format!("int8 layer `{name}`")))
        .collect::<Result<Vec<u16>>>()?;
    let s: Vec<f32> = bits.iter().map(|&b| f16::to_f32(b)).collect();
    let q = w
        .chunks_exact(cols)
        .flat_map(|row| {
            row.iter().zip(&s).map(|(&v, &s)| {
                if s > 0.0 {
                    (v / s).round().clamp(-127.0, 127.0) as i8
                } else {
                    0
                }
            })
        })
        .collect();
    Ok((q, bits))
}

/// The int8 file's tensors by name, then the lists of `compress.json`: dense weights and
/// tables quantised, names kept in f32.
pub type Quantised = (
    BTreeMap<String, Tensor8>,
    Vec<Entry>,
    Vec<Entry>,
    Vec<String>,
);

/// The int8 file's tensors for the weights in `store`, and the lists of `compress.json`.
pub fn quantize_store(store: &ParamStore) -> Result<Quantised> {
    let (mut out, mut dense, mut tables, mut f32s) =
        (BTreeMap::new(), Vec::new(), Vec::new(), Vec::new());
    for id in store.ids() {
        let info = store.info(id);
        let (name, rows, cols) = (info.name.clone(), info.rows, info.cols);
        let v = store.value(id);
        if v.iter().any(|x| !x.is_finite()) {
            return Err(Error::Config {
                what: format!("parameter `{name}`"),
                message: "holds NaN/inf; the run's model.safetensors is broken, train it again"
                    .into(),
            });
        }
        let (q, scales, entry) = match info.kind {
            ParamKind::Dense if quantised_dense(&name, rows) => {
                let (q, s) = quantize_per_column(&name, v, rows, cols)?;
                (q, Values::F16(s), &mut dense)
            }
            ParamKind::Table => {
                let (q, s) = quantize_per_row(v, cols)?;
                (q, Values::F16(s), &mut tables)
            }
            ParamKind::Dense => {
                let t = Tensor8 {
                    shape: vec![rows, cols],
                    values: Values::F32(v.to_vec()),
                };
                out.insert(name.clone(), t);
                f32s.push(name);
                continue;
            }
        };
        let scheme = if matches!(info.kind, ParamKind::Table) {
            TABLE_SCHEME
        } else {
            DENSE_SCHEME
        };
        let n = match &scales {
            Values::F32(s) => s.len(),
            Values::F16(s) => s.len(),
            Values::I8(s) => s.len(),
        };
        let (qt, st) = (
            Tensor8 {
                shape: vec![rows, cols],
                values: Values::I8(q),
            },
            Tensor8 {
                shape: vec![n],
                values: scales,
            },
        );
        out.insert(format!("{name}#int8"), qt);
        out.insert(format!("{name}#scale"), st);
        entry.push(Entry {
            name,
            shape: [rows, cols],
            scheme,
        });
    }
    Ok((out, dense, tables, f32s))
}

/// Writes `model.int8.safetensors` and `compress.json` of `store`'s weights into `out`.
pub fn write_int8(store: &ParamStore, out: &Path, source: &Path) -> Result<Report> {
    let (tensors, dense_int8, tables_int8, f32) = quantize_store(store)?;
    let path = out.join(INT8_FILE);
    file::write(&path, &tensors)?;
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let report = Report {
        format: "mtrec int8 v1",
        source: source.display().to_string(),
        weights: INT8_FILE,
        activations: "quantised per row at run time: 7-bit unsigned with a zero point (docs/math.md, int8 product)",
        dense_int8,
        tables_int8,
        f32,
        f32_bytes: size(&source.join("model.safetensors")),
        int8_bytes: size(&path),
    };
    let json = serde_json::to_string_pretty(&report).unwrap_or_default();
    let cj = out.join(COMPRESS_JSON);
    std::fs::write(&cj, json + "\n").map_err(|e| Error::Io {
        path: cj.display().to_string(),
        message: format!("cannot write: {e}"),
    })?;
    Ok(report)
}

/// Fills `store` from `model.int8.safetensors` at `path`: int8 dense weights are attached
/// to the store (and their dequantised values written into it), tables dequantised per
/// row, f32 tensors copied. Every parameter must be present with its shape.
pub fn load_int8(path: &Path, store: &mut ParamStore) -> Result<()> {
    let mut t = file::read(path)?;
    let err = |m: String| Error::Io {
        path: path.display().to_string(),
        message: m,
    };
    let ids: Vec<_> = store.ids().collect();
    for id in ids {
        let info = store.info(id).clone();
        let (name, rows, cols) = (info.name.as_str(), info.rows, info.cols);
        let shape_err = |what: &str, got: &[usize]| {
            err(format!(
                "tensor `{name}{what}` has shape {got:?}, the run's model needs ({rows}, {cols}); the folder's config.toml and weights disagree, compress the run again"
            ))
        };
        if let Some(q) = t.remove(&format!("{name}#int8")) {
            let s = t.remove(&format!("{name}#scale"));
            let (Values::I8(q), Some(s)) = (q.values, s.and_then(|s| s.values.to_f32())) else {
                return Err(err(format!(
                    "`{name}#int8` must be I8 with an F16 or F32 `{name}#scale`; compress the run again"
                )));
            };
            if q.len() != rows * cols {
                return Err(shape_err("#int8", &[q.len()]));
            }
            match info.kind {
                ParamKind::Dense => {
                    let m = QuantMatrix::from_parts(name, q, s, rows, cols)?;
                    store.value_mut(id).copy_from_slice(&m.dequantize());
                    store.set_int8(id, m);
                }
                ParamKind::Table => {
                    if s.len() != rows || s.iter().any(|x| !x.is_finite()) {
                        return Err(shape_err("#scale", &[s.len()]));
                    }
                    let v = store.value_mut(id);
                    for ((dst, src), sc) in
                        v.chunks_exact_mut(cols).zip(q.chunks_exact(cols)).zip(&s)
                    {
                        for (o, &x) in dst.iter_mut().zip(src) {
                            *o = x as f32 * sc;
                        }
                    }
                }
            }
        } else if let Some(v) = t.remove(name) {
            match v.values {
                Values::F32(x) if v.shape == [rows, cols] && x.iter().all(|a| a.is_finite()) => {
                    store.value_mut(id).copy_from_slice(&x)
                }
                _ => return Err(shape_err("", &v.shape)),
            }
        } else {
            return Err(err(format!(
                "has no tensor `{name}` (nor `{name}#int8`) that the run's model needs; the folder's config.toml and weights disagree, compress the run again"
            )));
        }
    }
    if let Some(extra) = t.keys().next() {
        return Err(err(format!(
            "holds tensor `{extra}` that the run's model does not have; the folder's config.toml and weights disagree, compress the run again"
        )));
    }
    Ok(())
}

/// Loads the weights of run folder `run` into `store`: `model.int8.safetensors` in a
/// folder written by `mtrec compress --int8`, else `model.safetensors`.
pub fn load_weights(run: &Path, store: &mut ParamStore) -> Result<()> {
    if is_int8(run) {
        return load_int8(&run.join(INT8_FILE), store);
    }
    let model_path = run.join("model.safetensors");
    if !model_path.exists() {
        // (a folder or FIFO in its place is refused by load_params with its own message)
        return Err(Error::Io {
            path: model_path.display().to_string(),
            message: "missing: the run has not finished an epoch yet (or the folder is not a run folder of mtrec train / mtrec compress)".into(),
        });
    }
    crate::checkpoint::load_params(&model_path, store)?;
    Ok(())
}

/// Quantises `store` in memory as `mtrec compress --int8` followed by a load would: dense
/// weights `*.w` get int8 versions (and their dequantised values), tables are replaced by
/// their per-row int8 image. For benches and tests that have a model but no run folder.
pub fn quantize_in_place(store: &mut ParamStore) -> Result<()> {
    let (tensors, ..) = quantize_store(store)?;
    let ids: Vec<_> = store.ids().collect();
    for id in ids {
        let info = store.info(id).clone();
        let (Some(q), Some(s)) = (
            tensors.get(&format!("{}#int8", info.name)),
            tensors.get(&format!("{}#scale", info.name)),
        ) else {
            continue;
        };
        let (Values::I8(q), Some(s)) = (&q.values, s.values.to_f32()) else {
            continue;
        };
        match info.kind {
            ParamKind::Dense => {
                let m = QuantMatrix::from_parts(&info.name, q.clone(), s, info.rows, info.cols)?;
                store.value_mut(id).copy_from_slice(&m.dequantize());
                store.set_int8(id, m);
            }
            ParamKind::Table => {
                let cols = info.cols;
                for (k, v) in store.value_mut(id).iter_mut().enumerate() {
                    *v = q[k] as f32 * s[k / cols];
                }
            }
        }
    }
    Ok(())
}
