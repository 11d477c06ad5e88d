//! Memory budget of a run, estimated from the configuration before anything is
//! allocated (issue #13, item 13): a `dim`, `num_experts` or `hash_buckets` of 10⁹ is
//! refused with the key and the estimate instead of aborting the process in the
//! allocator.
//!
//! # Estimate
//!
//! All counts are f32 scalars (4 bytes), in saturating `u128` arithmetic so that no
//! product overflows.
//!
//! * **Input width** `D = Σ_numeric 1 + Σ_embedded dim + Σ_text out_dim`.
//! * **Embedding tables**: `(V + 1) × dim` per categorical / multi-hot feature, where
//!   `V = hash_buckets` when hashing; a fitted vocabulary is unknown before the data is
//!   read, so the configuration-time check counts one row (the out-of-vocabulary row)
//!   and [`check_model_memory`] repeats the check with the fitted `V`.
//! * **Text adaptors**: `E_in × out + out` (linear) or `experts × (E_in × out + out) +
//!   E_in × experts` (moe), with `E_in = 384` (all-MiniLM-L6-v2, the narrowest encoder).
//! * **MLP** `d_0 → d_1 → … → d_n`: `Σ_i (d_{i−1} × d_i + d_i)` parameters, `Σ_i d_i`
//!   activations per row. Each architecture is a sum of MLPs and gates
//!   ([`model_terms`]), e.g. MMoE: `E × mlp(D, expert) + K × (D × E + E) + K ×
//!   mlp(expert_last, tower ++ [1])`.
//! * **Bytes** of each term `= 4 B × (P × (2 + s) + A × B_batch × 4)`: every parameter
//!   has a value and a gradient plus `s` optimiser slots (Adam 2, SGD with momentum 1,
//!   else 0); every activation of the `B_batch` rows is held with its gradient and the
//!   pre-activation pair (factor 4). The error names the key of the largest term.
//!
//! # Limit
//!
//! The first that is set: `MTREC_MAX_MEMORY` (environment), `train.max_memory`
//! (configuration), else `MemAvailable` of `/proc/meminfo`; with none of them only
//! estimates beyond `isize::MAX` bytes (never allocatable) are refused. Sizes read
//! `8G`, `512M`, `1.5T`, `4096` (bytes; binary units).

use super::data::FeatureKind;
use super::model::Arch;
use super::train::OptimizerKind;
use super::{AdaptorChoice, RunConfig};
use crate::error::{Error, Result};

/// Most entries of one width list (`model.expert`, ...) and most `model.levels`.
pub const MAX_LAYERS: usize = 1024;
/// Width of the narrowest supported sentence encoder (all-MiniLM-L6-v2).
const TEXT_WIDTH: u128 = 384;
/// Bytes per scalar (f32).
const SCALAR: u128 = 4;
/// Activation values held per output unit and row (value, gradient, pre-activation pair).
const ACT_FACTOR: u128 = 4;

/// One term of the estimate: the configuration key that drives it, in words, and its
/// size.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    /// The key(s) that set this term, e.g. `model.num_experts × model.expert`.
    pub key: String,
    /// What it is, e.g. `8 experts of widths [64] on d_in = 120`.
    pub what: String,
    pub bytes: u128,
}

/// The memory a run needs, by term.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// Parameter scalars.
    pub params: u128,
    /// Bytes, all terms.
    pub bytes: u128,
    pub parts: Vec<Part>,
    /// The input width D and the feature key contributing most to it.
    pub d_in: u128,
    pub d_in_from: Option<String>,
}

/// A memory limit and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Limit {
    pub bytes: u128,
    pub source: String,
}

/// `a × b`, saturating.
fn mul(a: u128, b: u128) -> u128 {
    a.saturating_mul(b)
}

/// Parameters and per-row activations of an MLP `d_0 → widths…`.
fn mlp(d_in: u128, widths: &[usize]) -> (u128, u128) {
    let (mut params, mut acts, mut prev) = (0u128, 0u128, d_in);
    for &w in widths {
        let w = w as u128;
        params = params.saturating_add(mul(prev, w).saturating_add(w));
        acts = acts.saturating_add(w);
        prev = w;
    }
    (params, acts)
}

/// One model term: key, description, parameters, per-row activations.
pub type Term = (String, String, u128, u128);

/// The terms of `cfg.model` on input width `d_in` for `k` tasks.
pub fn model_terms(cfg: &RunConfig, d_in: u128) -> Vec<Term> {
    // Over 100 lines: one arm per architecture, each listing that model's parameter terms
    // as the model file builds them.
    let m = &cfg.model;
    let k = cfg.tasks.len() as u128;
    let last = |w: &[usize], or: u128| w.last().map_or(or, |&x| x as u128);
    let head = [&m.tower[..], &[1]].concat();
    let towers = |d_tower: u128| {
        let (p, a) = mlp(d_tower, &head);
        (
            "model.tower".to_string(),
            format!("{k} towers of widths {:?}", m.tower),
            mul(k, p),
            mul(k, a),
        )
    };
    let experts = |key: &str, n: u128, d_e: u128| {
        let (p, a) = mlp(d_e, &m.expert);
        (
            key.to_string(),
            format!("{n} experts of widths {:?} on {d_e} inputs", m.expert),
            mul(n, p),
            mul(n, a),
        )
    };
    let gates = |key: &str, n: u128, d_g: u128, e: u128| {
        (
            key.to_string(),
            format!("{n} gates over {e} experts on {d_g} inputs"),
            mul(n, mul(d_g, e).saturating_add(e)),
            mul(n, e),
        )
    };
    match m.arch {
        Arch::SingleTask => {
            let (p, a) = mlp(d_in, &[&m.bottom[..], &head].concat());
            vec![(
                "model.bottom × model.tower".into(),
                format!("{k} networks of widths {:?} ++ {:?}", m.bottom, m.tower),
                mul(k, p),
                mul(k, a),
            )]
        }
        Arch::SharedBottom => {
            let (p, a) = mlp(d_in, &m.bottom);
            vec![
                (
                    "model.bottom".into(),
                    format!("bottom of widths {:?}", m.bottom),
                    p,
                    a,
                ),
                towers(last(&m.bottom, d_in)),
            ]
        }
        Arch::Omoe | Arch::Mmoe => {
            let e = m.num_experts as u128;
            let n_gates = if m.arch == Arch::Omoe { 1 } else { k };
            vec![
                experts("model.num_experts × model.expert", e, d_in),
                gates("model.num_experts", n_gates, d_in, e),
                towers(last(&m.expert, d_in)),
            ]
        }
        Arch::Cgc | Arch::Ple => {
            let levels = if m.arch == Arch::Cgc { 1 } else { m.levels } as u128;
            let (s, t) = (m.shared_experts as u128, m.task_experts as u128);
            let n = s.saturating_add(mul(k, t));
            let d_out = last(&m.expert, d_in);
            // level 0 reads D, the others the experts' output width
            let one = |d_l: u128| {
                let (p, a) = mlp(d_l, &m.expert);
                let gate = mul(k, mul(d_l, s + t).saturating_add(s + t));
                let shared_gate = mul(d_l, n).saturating_add(n);
                (
                    mul(n, p).saturating_add(gate).saturating_add(shared_gate),
                    mul(n, a).saturating_add(mul(k + 1, n)),
                )
            };
            let (p0, a0) = one(d_in);
            let (pl, al) = one(d_out);
            let rest = levels.saturating_sub(1);
            vec![
                (
                    "model.levels × model.shared_experts, model.task_experts × model.expert".into(),
                    format!(
                        "{levels} levels of {n} experts of widths {:?} and their gates",
                        m.expert
                    ),
                    p0.saturating_add(mul(rest, pl)),
                    a0.saturating_add(mul(rest, al)),
                ),
                towers(d_out),
            ]
        }
        Arch::Esmm => {
            let (p, a) = mlp(d_in, &head);
            vec![(
                "model.tower".into(),
                format!("2 towers of widths {:?}", m.tower),
                mul(2, p),
                mul(2, a),
            )]
        }
        Arch::Aitm => {
            let (p, a) = mlp(d_in, &m.bottom);
            let q = last(&m.bottom, d_in);
            // transfer q×q per task after the first, attention h1..h3 q×q per task
            let attn = mul(mul(4, k), mul(q, q).saturating_add(q));
            vec![
                (
                    "model.bottom".into(),
                    format!("{k} bottoms of widths {:?} and their attention", m.bottom),
                    mul(k, p).saturating_add(attn),
                    mul(k, a).saturating_add(mul(mul(6, k), q)),
                ),
                towers(q),
            ]
        }
    }
}

/// The estimate of `cfg` with the fitted vocabulary sizes `vocab` (feature name, V =
/// ids 1..=V); features not listed count `hash_buckets` or else one row.
pub fn estimate(cfg: &RunConfig, vocab: &[(&str, usize)]) -> Estimate {
    let mut parts = Vec::new();
    let mut d_in: u128 = 0;
    let mut d_from: Option<(u128, String)> = None;
    let mut note = |w: u128, key: String| {
        if d_from.as_ref().is_none_or(|(best, _)| w > *best) {
            d_from = Some((w, key));
        }
    };
    let mut params: u128 = 0;
    let slots: u128 = match cfg.train.optimizer {
        OptimizerKind::Adam | OptimizerKind::Adamw => 2,
        OptimizerKind::Sgd if cfg.train.momentum > 0.0 => 1,
        OptimizerKind::Sgd => 0,
    };
    // value + gradient + optimiser slots, 4 bytes each
    let per_param = mul(SCALAR, 2 + slots);
    let batch = cfg.train.batch_size as u128;
    let per_act = mul(mul(batch, SCALAR), ACT_FACTOR);
    for (i, f) in cfg.features.iter().enumerate() {
        let key = |k: &str| format!("features[{i}].{k} (feature `{}`)", f.name);
        match f.kind {
            FeatureKind::Numeric => d_in = d_in.saturating_add(1),
            FeatureKind::Categorical | FeatureKind::MultiHot => {
                let uses_id = f.text.as_ref().is_none_or(|t| t.mode.uses_id());
                if uses_id {
                    let dim = f.dim as u128;
                    d_in = d_in.saturating_add(dim);
                    note(dim, key("dim"));
                    let fitted = vocab.iter().find(|(n, _)| *n == f.name).map(|v| v.1);
                    let (v, source) = match fitted {
                        Some(v) => (v as u128, format!("{v} values in the vocabulary")),
                        None if f.hash_buckets > 0 => (
                            f.hash_buckets as u128,
                            format!("{} hash buckets", f.hash_buckets),
                        ),
                        None => (0, "vocabulary not read yet".into()),
                    };
                    let table = mul(v + 1, dim);
                    params = params.saturating_add(table);
                    let k = if fitted.is_none() && f.hash_buckets > 0 {
                        format!("{} × dim", key("hash_buckets"))
                    } else {
                        key("dim")
                    };
                    parts.push(Part {
                        key: k,
                        what: format!("embedding table of {} rows × {dim} ({source})", v + 1),
                        bytes: mul(table, per_param),
                    });
                }
                if let Some(t) = f.text.as_ref().filter(|t| t.mode.uses_text()) {
                    let out = if t.dim > 0 { t.dim } else { f.dim } as u128;
                    d_in = d_in.saturating_add(out);
                    note(out, key("text.dim"));
                    let one = mul(TEXT_WIDTH, out).saturating_add(out);
                    let p = match t.adaptor {
                        AdaptorChoice::Linear => one,
                        AdaptorChoice::Moe => {
                            let e = t.experts as u128;
                            mul(e, one).saturating_add(mul(TEXT_WIDTH, e))
                        }
                    };
                    params = params.saturating_add(p);
                    parts.push(Part {
                        key: key("text.experts × text.dim"),
                        what: format!("text adaptor to width {out}"),
                        bytes: mul(p, per_param),
                    });
                }
            }
        }
    }
    // the input's width comes from the features: name the widest
    let input_key = d_from
        .as_ref()
        .map_or("train.batch_size".into(), |(_, k)| k.clone());
    parts.push(Part {
        key: input_key,
        what: format!("input activations: train.batch_size = {batch} rows × d_in = {d_in}"),
        bytes: mul(d_in, per_act),
    });
    for (key, what, p, a) in model_terms(cfg, d_in) {
        params = params.saturating_add(p);
        parts.push(Part {
            key,
            what: format!("{what}: {p} parameters, {a} activations per row"),
            bytes: mul(p, per_param).saturating_add(mul(a, per_act)),
        });
    }
    let bytes = parts.iter().map(|p| p.bytes).fold(0, u128::saturating_add);
    Estimate {
        params,
        bytes,
        parts,
        d_in,
        d_in_from: d_from.map(|(w, k)| format!("{k} = {w}")),
    }
}

/// `8G`, `512M`, `1.5T`, `4096`: bytes (binary units; a trailing `B` or `iB` is allowed).
pub fn parse_size(text: &str) -> Option<u128> {
    let t = text.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (num, unit) = match t.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_uppercase()),
        _ => (t, ' '),
    };
    let shift = match unit {
        ' ' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        'T' => 40,
        'P' => 50,
        _ => return None,
    };
    let x: f64 = num.trim().parse().ok()?;
    let bytes = x * (1u128 << shift) as f64;
    (1.0..1e30).contains(&bytes).then_some(bytes as u128)
}

/// `MemAvailable` of `/proc/meminfo`, in bytes.
fn mem_available() -> Option<u128> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The limit in effect (see the module docs); `key` is `train.max_memory`'s value.
pub fn memory_limit(key: Option<&str>) -> Result<Option<Limit>> {
    let read = |what: &str, text: &str| {
        parse_size(text).map(Some).ok_or_else(|| Error::Config {
            what: what.into(),
            message: format!(
                "`{text}` is not a memory size; expected bytes with an optional unit, e.g. \"8G\", \"512M\" or \"1.5T\""
            ),
        })
    };
    if let Ok(env) = std::env::var("MTREC_MAX_MEMORY") {
        return Ok(read("MTREC_MAX_MEMORY", &env)?.map(|bytes| Limit {
            bytes,
            source: format!("MTREC_MAX_MEMORY = {env}"),
        }));
    }
    if let Some(k) = key {
        return Ok(read("train.max_memory", k)?.map(|bytes| Limit {
            bytes,
            source: format!("train.max_memory = \"{k}\""),
        }));
    }
    Ok(mem_available().map(|bytes| Limit {
        bytes,
        source: "MemAvailable in /proc/meminfo".into(),
    }))
}

/// `1.5 GiB`-style text; beyond 1024 EiB in powers of ten.
pub fn human(bytes: u128) -> String {
    let mut x = bytes as f64;
    for u in ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"] {
        if x < 1024.0 {
            return format!("{x:.1} {u}");
        }
        x /= 1024.0;
    }
    format!("{:.1e} bytes", bytes as f64)
}

/// Refuses `est` when it exceeds `limit` (or `isize::MAX` bytes, which no machine can
/// allocate): the error names the largest term's key, the estimate and the limit.
pub fn check(est: &Estimate, limit: Option<&Limit>) -> Result<()> {
    let hard = isize::MAX as u128;
    let (cap, source) = match limit {
        Some(l) if l.bytes < hard => (l.bytes, l.source.clone()),
        _ => (hard, "the address space (isize::MAX bytes)".to_string()),
    };
    if est.bytes <= cap {
        return Ok(());
    }
    let mut parts: Vec<&Part> = est.parts.iter().collect();
    parts.sort_by_key(|p| std::cmp::Reverse(p.bytes));
    let top = parts[0];
    let list: Vec<String> = parts
        .iter()
        .take(3)
        .filter(|p| p.bytes > 0)
        .map(|p| format!("{} ({}): {}", p.key, p.what, human(p.bytes)))
        .collect();
    let d_in = match &est.d_in_from {
        Some(from) => format!("; input width d_in = {} (widest: {from})", est.d_in),
        None => String::new(),
    };
    Err(Error::Config {
        what: top.key.clone(),
        message: format!(
            "the run needs an estimated {} ({} parameters), more than the {} allowed by {source}; largest terms: {}{d_in}. Reduce {}, or raise the limit with MTREC_MAX_MEMORY or train.max_memory (e.g. \"64G\") if the machine has the memory",
            human(est.bytes),
            est.params,
            human(cap),
            list.join("; "),
            top.key,
        ),
    })
}

/// Layer counts that no model needs: width lists and `model.levels` up to
/// [`MAX_LAYERS`].
pub fn check_layers(cfg: &RunConfig) -> Result<()> {
    let m = &cfg.model;
    let lists = [
        ("model.expert", m.expert.len()),
        ("model.tower", m.tower.len()),
        ("model.bottom", m.bottom.len()),
        ("model.levels", m.levels),
    ];
    for (key, n) in lists {
        super::validate::ensure(n <= MAX_LAYERS, key, || {
            format!("has {n} layers; expected at most {MAX_LAYERS} (a deeper network does not train here)")
        })?;
    }
    Ok(())
}

/// The configuration-time check (`RunConfig::validate`): layer counts and the memory
/// estimate with vocabularies not yet read.
pub fn check_config_memory(cfg: &RunConfig) -> Result<()> {
    check_layers(cfg)?;
    let limit = memory_limit(cfg.train.max_memory.as_deref())?;
    check(&estimate(cfg, &[]), limit.as_ref())
}

/// The check once vocabularies are fitted: `vocab` lists each embedded feature's name
/// and V (`Encoder::size()`; its table has V + 1 rows). Call it after `prepare` and
/// before the model is built. Returns the estimate (for the run's log).
pub fn check_model_memory(cfg: &RunConfig, vocab: &[(&str, usize)]) -> Result<Estimate> {
    let est = estimate(cfg, vocab);
    let limit = memory_limit(cfg.train.max_memory.as_deref())?;
    check(&est, limit.as_ref())?;
    Ok(est)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_binary_units() {
        assert_eq!(parse_size("8G"), Some(8 << 30));
        assert_eq!(parse_size("512m"), Some(512 << 20));
        assert_eq!(parse_size("1.5GiB"), Some(3 << 29));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("4096B"), Some(4096));
        for bad in ["", "G", "-1G", "8X", "nanG", "1e40"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }

    #[test]
    fn mlp_counts_weights_biases_and_outputs() {
        // 10 → 4 → 1: 10·4 + 4 + 4·1 + 1 = 49 parameters, 5 outputs per row
        assert_eq!(mlp(10, &[4, 1]), (49, 5));
        // saturates instead of overflowing
        assert_eq!(mlp(u128::MAX, &[usize::MAX]).0, u128::MAX);
    }
}
