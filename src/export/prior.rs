//! The transition prior of an `mtrec seq` run in its ONNX scorer: the score the run
//! ranks, not the model's logit alone.
//!
//! A run whose evaluation chose a prior weight β > 0 (`model.transition_prior`,
//! `summary.json`'s `transition_prior.weight`) ranks (`train::seq::eval::add_prior`)
//!
//! ```text
//! R_bj = S_bj + β · ln(1 + c(a_b, j + 1))     (B, V)   a_b = the last history item of b
//! ```
//!
//! with `c` the item-to-item counts of the run's training split. A dense `(V+1, V)` table
//! of `ln(1 + c)` is 585 MB for Beauty (V = 12,101), so the counts are stored sparse and
//! padded to the longest successor list, K = max_a #{j : c(a, j) > 0} (at least 1):
//!
//! ```text
//! prior.cols  int64 (V+1, K)  row a: the columns j − 1 of the items j that followed a, in
//!                             the order of `Transitions::log_prior`; padding V (scratch)
//! prior.vals  float (V+1, K)  row a: ln(1 + c(a, j)) as `log_prior` computes it; padding 0
//! prior.beta  float ()        β
//!
//! a      = GatherND(history, max(L, 1) − 1)     (B)       0 (the empty row) for L = 0
//! ca     = Gather(prior.cols, a)                (B, K)
//! pa     = Gather(prior.vals, a) · β            (B, K)    `beta * p` of add_prior
//! S'     = Pad(S, one column of 0 on the right) (B, V+1)  column V: scratch
//! u      = GatherElements(S', ca, axis 1) + pa  (B, K)    `*x += beta * p` of add_prior
//! R'     = ScatterElements(S', ca, u, axis 1)   (B, V+1)
//! R      = Slice(R', columns 0..V)              (B, V)
//! ```
//!
//! Why this is `add_prior` exactly: the columns of a row are distinct items (the keys of
//! one successor map), so each real column j receives `S_bj + β·p` computed with the same
//! two f32 roundings (one product, one sum) and every other column keeps `S_bj`
//! untouched. The padding entries all read the scratch column (0) and write
//! `0 + β·0 = 0` back to it, so their duplicate indices agree whatever order the runtime
//! scatters them in (opset 13 leaves that order open), and the scratch column is sliced
//! off. Row 0 (`<pad>`) is all padding: an empty history gets no prior, as
//! `log_prior(&[])` is empty. Gathering from the model's own scores and scattering back
//! (rather than scattering into a zero buffer and adding) needs no `(B, V+1)` buffer
//! shaped from the batch size at run time, and leaves the entries without a successor
//! bit-identical to S.
//!
//! Size: `(V+1)·K·(8 + 4)` bytes. Beauty's training split has K = 242 (the most distinct
//! successors of one item; the mean is 9.6), so 12,102 × 242 × 12 B = 35.1 MB beside
//! its 1.4 MB of non-zero counts; the cost grows with the longest row, not the average.

use super::onnx::{Attr, Data, OnnxGraph, Tensor};
use crate::baselines::Transitions;
use crate::data::sequences::{leave_last_out, IdMaps};
use crate::error::{Error, Result};
use crate::recommend::seq::prior_weight;
use crate::train::seq::eval::add_prior;
use crate::train::seq::{load_data, SeqRunConfig};
use std::path::Path;

/// The transition prior of a run as the exported graph stores it (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct PriorTable {
    /// β, the run's chosen prior weight.
    pub weight: f32,
    /// V, the catalogue size; column V is the scratch column of the padding.
    pub num_items: usize,
    /// K, the padded row length (the longest successor list, at least 1).
    pub k: usize,
    /// (V+1, K): column j − 1 of each item j that followed the row's item; padding V.
    pub cols: Vec<i64>,
    /// (V+1, K): ln(1 + c(a, j)) of `Transitions::log_prior`; padding 0.
    pub vals: Vec<f32>,
}

impl PriorTable {
    /// The table of `counts` (the run's training split) with weight `beta`: row a is
    /// `counts.log_prior(&[a])`, the very list `add_prior` adds after a history ending in a.
    pub fn new(counts: &Transitions, beta: f32) -> PriorTable {
        let v = counts.num_items;
        let rows: Vec<Vec<(usize, f32)>> = (0..=v as u32).map(|a| counts.log_prior(&[a])).collect();
        let k = rows.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let mut cols = vec![v as i64; (v + 1) * k]; // (V+1, K)
        let mut vals = vec![0.0f32; (v + 1) * k]; // (V+1, K)
        for (a, row) in rows.iter().enumerate() {
            for (i, &(j, p)) in row.iter().enumerate() {
                cols[a * k + i] = j as i64;
                vals[a * k + i] = p;
            }
        }
        PriorTable {
            weight: beta,
            num_items: v,
            k,
            cols,
            vals,
        }
    }

    /// Bytes of the two stored tables: `(V+1)·K·(8 + 4)`.
    pub fn bytes(&self) -> usize {
        self.cols.len() * 8 + self.vals.len() * 4
    }

    /// The naive twin of the graph's nodes: row a of the table added to `row (V)` by
    /// `add_prior` itself (padding entries dropped), for a history whose last item is `last`.
    pub fn apply(&self, row: &mut [f32], last: u32) {
        let a = last as usize;
        let range = a * self.k..(a + 1) * self.k;
        let prior: Vec<(usize, f32)> = self.cols[range.clone()]
            .iter()
            .zip(&self.vals[range])
            .filter(|&(&j, _)| (j as usize) < self.num_items)
            .map(|(&j, &p)| (j as usize, p))
            .collect();
        add_prior(row, &prior, self.weight);
    }
}

/// Adds the nodes of the module docs: `scores (B, V)` plus the prior after the item of
/// `history (B, T)` at position `last (B, 1)`, written to `out (B, V)`.
pub fn prior_nodes(
    og: &mut OnnxGraph,
    table: &PriorTable,
    scores: &str,
    history: &str,
    last: &str,
    out: &str,
) {
    let (v, k) = (table.num_items as i64, table.k as i64);
    og.initializers.push(Tensor {
        name: "prior.cols".into(),
        dims: vec![v + 1, k],
        data: Data::I64(table.cols.clone()),
    });
    let cols = "prior.cols".to_string();
    let vals = og.const_f32("prior.vals", &[v + 1, k], table.vals.clone());
    let beta = og.const_f32("prior.beta", &[], vec![table.weight]);
    let a = og.op(
        "GatherND",
        &[history, last],
        vec![("batch_dims", Attr::Int(1))],
    ); // (B)
    let ca = og.op("Gather", &[&cols, &a], vec![("axis", Attr::Int(0))]); // (B, K)
    let pa = og.op("Gather", &[&vals, &a], vec![("axis", Attr::Int(0))]); // (B, K)
    let pa = og.op("Mul", &[&pa, &beta], vec![]); // (B, K)
    let pads = og.const_i64(&[0, 0, 0, 1]);
    let padded = og.op("Pad", &[scores, &pads], vec![]); // (B, V+1), constant 0
    let g = og.op(
        "GatherElements",
        &[&padded, &ca],
        vec![("axis", Attr::Int(1))],
    ); // (B, K)
    let u = og.op("Add", &[&g, &pa], vec![]); // (B, K)
    let r = og.op(
        "ScatterElements",
        &[&padded, &ca, &u],
        vec![("axis", Attr::Int(1))],
    ); // (B, V+1)
    let (s0, s1, ax1) = (og.const_i64(&[0]), og.const_i64(&[v]), og.const_i64(&[1]));
    og.op_named("Slice", &[&r, &s0, &s1, &ax1], vec![], out); // (B, V)
}

/// The prior `run` ranks with, rebuilt as `mtrec recommend` rebuilds it
/// (`recommend::seq::SeqRecommender::load`): β from `summary.json`, the counts of the
/// training split of the run's data under `data_dir` (checked against `ids.json`).
/// `None` when the run ranks without one (no prior configured, or β = 0 chosen).
pub fn run_prior(run: &Path, data_dir: &Path) -> Result<Option<PriorTable>> {
    let Some(beta) = prior_weight(run)?.filter(|&w| w != 0.0) else {
        return Ok(None);
    };
    let cfg = SeqRunConfig::from_file(&run.join("config.toml"), &[])?;
    let data = load_data(&cfg, data_dir).map_err(|e| Error::Config {
        what: format!("mtrec export --run {}", run.display()),
        message: format!(
            "the run ranks with a transition prior (weight {beta}) whose counts come from its training data, which could not be read from {}: {e}. Pass --data-dir with the run's data folder, or --without-prior to export the model's logits alone (they then differ from mtrec recommend / predict by the prior)",
            data_dir.display()
        ),
    })?;
    if let Some(ids) = IdMaps::read(run)? {
        ids.check(&data, run)?;
    }
    let split = leave_last_out(&data)?;
    // counted on what the model trained on, as `train::seq` and `mtrec recommend` count them
    let counts = Transitions::fit(
        split.train.iter().map(|e| e.items.as_slice()),
        data.num_items,
    );
    Ok(Some(PriorTable::new(&counts, beta)))
}
