//! Top-K lists from an `mtrec seq` run (SASRec): the whole catalogue ranked from a
//! user's history.
//!
//! ```text
//! history   s_1 … s_n  (the last max_len items)                       per user
//! F_u       = SasRec encoder output at the last position              (D)
//! M         = item matrix rows 1..=V                                  (V, D), once per run
//! S         = F · Mᵀ       for B users at a time: one packed GEMM      (B, V)
//! list      = top-K of S_u over the items not in the user's history
//! P(next=i) = exp(S_ui − logsumexp_j S_uj)                            the `next_item` column
//! ```
//!
//! **Transition prior.** A run whose evaluation chose a prior weight β > 0
//! (`model.transition_prior`, `summary.json`'s `transition_prior.weight`) ranks
//!
//! ```text
//! s_ui = S_ui + β · ln(1 + c(a_u, i))     a_u = the last item of u's history
//! ```
//!
//! with `c` the item-to-item counts of the run's training split, rebuilt at load from the
//! data the run names (`baselines::Transitions::fit` on `Split::train`, as `mtrec seq`
//! counted them) and added by the evaluation's own function (`train::seq::eval::add_prior`),
//! so the lists, `--eval` and the served lists rank as the run's metrics describe. The
//! `score` written is `s_ui` and `next_item` its softmax over the catalogue; with β = 0
//! (or no prior) `s = S`.
//!
//! **Text items** (`model.item_input = "text"` or `"text+id"`): the item texts are embedded
//! once at load through the shared text cache (`train::seq::text`, the vectors `mtrec seq`
//! trained on) and `M` is computed from them once; the encoder then reads `M` as an input
//! (`SasRec::encode`), so each batch is the same GEMM + top-K as for ID items.
//!
//! `S_ui = ⟨F_u, M_i⟩` is exactly the next-item logit the model is trained on
//! (`SasRec::next_item_logits`): the prediction layer of SASRec is the dot product with
//! the shared item matrix, so a user's scores over the catalogue are one row of a
//! matrix product and a batch of users is one GEMM `(B, D)·(D, V)`. The GEMM is the one
//! `Graph::matmul` calls with the same arguments, and each output element's sum order
//! does not depend on M (`ops::gemm`), so the scores are bit-identical to those of
//! `mtrec seq`'s evaluation.
//!
//! **Evaluation** (`--eval`) repeats `mtrec seq`'s test protocol on the same model and
//! users: each test user's target is ranked against every item under the run's rule
//! (its transition prior; its `train.exclude_history`), ties against the target
//! (`train::seq::eval::rank_with`), so HR@K, NDCG@K and MRR equal the run's
//! `summary.json` test values for K = 5, 10. The lists the command writes leave the history
//! out; their own HR@K / NDCG@K / MRR@K (history of the test holdout excluded, ties by the
//! smaller item id) are reported beside them.

use super::topk::{better, Scored};
use crate::autograd::{Graph, ParamStore};
use crate::baselines::Transitions;
use crate::checkpoint::{load_params, read_safetensors};
use crate::data::sequences::{leave_last_out, Holdout, IdMaps, SeqBatch, SeqData, Split};
use crate::error::{Error, Result};
use crate::metrics::FullRanking;
use crate::models::sasrec::{ItemInput, SasRec};
use crate::train::run::text::resolve_encoder;
use crate::train::seq::eval::{add_prior, rank_with};
use crate::train::seq::text::{item_text_vectors, text_cache_dir};
use crate::train::seq::{load_data, model_config, RankRule, SeqRunConfig};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;
use rayon::prelude::*;
use serde::Serialize;
use std::cmp::Ordering;
use std::path::Path;

/// Users per encoder batch (as in `mtrec seq`'s evaluation, so the hidden states match).
pub const BATCH: usize = 256;

/// A loaded `mtrec seq` run, ready to rank.
pub struct SeqRecommender {
    pub cfg: SeqRunConfig,
    /// The run's data read again (same item ids: the shuffle is seeded by `data.seed`).
    pub data: SeqData,
    pub split: Split,
    pub model: SasRec,
    store: ParamStore,
    /// The item matrix M, computed once at load; row 0 is padding, row i item id i.
    matrix: Vec<f32>, // (V+1, D)
    /// The frozen item-text vectors of a model that reads text.
    text: Option<Vec<f32>>, // (V+1, D_text)
    /// The transition prior the run ranks with; `None`: the model's scores alone.
    pub prior: Option<Prior>,
}

/// The transition prior of a run: its weight β (> 0) and the training split's counts.
pub struct Prior {
    pub weight: f32,
    pub counts: Transitions,
}

/// Whether `run` is an `mtrec seq` run folder (its checkpoint says `model = sasrec`).
pub fn is_seq_run(run: &Path) -> Result<bool> {
    let path = run.join("model.safetensors");
    if !path.is_file() {
        return Ok(false); // the MMoE loader reports the missing file
    }
    let ckpt = read_safetensors(&path)?;
    Ok(ckpt.metadata().get("model").map(String::as_str) == Some("sasrec"))
}

/// Metrics of `--eval` on a seq run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeqEval {
    pub k: usize,
    pub users: usize,
    /// `mtrec seq`'s protocol: full ranking under the run's rule, ties against the target.
    pub hr: f64,
    pub ndcg: f64,
    /// Mean 1/rank, no cut-off (as `mtrec seq`'s `mrr`).
    pub mrr: f64,
    /// The written lists (history excluded): target in the top K.
    pub lists_hr: f64,
    pub lists_ndcg: f64,
    /// 1/position of the target in the list, 0 if absent.
    pub lists_mrr: f64,
    /// Distinct listed items / catalogue size.
    pub coverage: f64,
    pub protocol: &'static str,
}

/// The transition prior weight `mtrec seq` chose for `run` (`summary.json`'s
/// `transition_prior.weight`, `model.transition_prior`); `None` when the run used no
/// prior or has no summary.
pub fn prior_weight(run: &Path) -> Result<Option<f32>> {
    let path = run.join("summary.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: format!("{e}; expected the summary.json that mtrec seq wrote"),
    })?;
    Ok(v["transition_prior"]["weight"].as_f64().map(|w| w as f32))
}

impl SeqRecommender {
    /// [`SeqRecommender::load_with_models`] with the text encoder (for runs that read
    /// item text) found under `$MTREC_MODELS` or `<data_dir>/../models`.
    pub fn load(run: &Path, data_dir: &Path) -> Result<SeqRecommender> {
        Self::load_with_models(run, data_dir, None)
    }

    /// Reads `run/config.toml` and `run/model.safetensors` and the run's data under
    /// `data_dir`, checked against the run's id maps (`ids.json`; a run from before them
    /// gets a note); embeds the item texts of a model that reads them (the run's
    /// `model.text_model`, searched under `models_dir` first, as `mtrec seq` does;
    /// through the shared text cache); computes the item matrix once; rebuilds the
    /// transition prior's counts when the run ranks with one (see the module docs).
    pub fn load_with_models(
        run: &Path,
        data_dir: &Path,
        models_dir: Option<&Path>,
    ) -> Result<SeqRecommender> {
        let cfg = SeqRunConfig::from_file(&run.join("config.toml"), &[])?;
        let data = load_data(&cfg, data_dir)?;
        match IdMaps::read(run)? {
            Some(ids) => ids.check(&data, run)?,
            None => eprintln!(
                "note: {} has no ids.json (written by an older mtrec); the item ids are those of the data read now",
                run.display()
            ),
        }
        let split = leave_last_out(&data)?;
        let text = if ItemInput::parse(&cfg.model.item_input)?.uses_text() {
            let encoder = resolve_encoder(&cfg.model.text_model, data_dir, models_dir)?;
            let cache = text_cache_dir(&cfg.model.text_cache);
            Some(item_text_vectors(&data, &encoder, &cache)?)
        } else {
            None
        };
        let mcfg = model_config(&cfg, &data, text.as_ref().map_or(0, |t| t.1))?;
        let text = text.map(|t| t.0);
        let mut store = ParamStore::new();
        let model = SasRec::new(&mut store, &mcfg, &mut StdRng::seed_from_u64(0))?;
        load_params(run.join("model.safetensors"), &mut store).map_err(|e| Error::Config {
            what: format!("{}", run.join("model.safetensors").display()),
            message: format!(
                "{e} (the run's data under --data-dir must be the one it was trained on)"
            ),
        })?;
        let mut g = Graph::new(0);
        let m = model.items(&mut g, &store, text.as_deref())?; // (V+1, D)
        let matrix = g.value(m).to_vec();
        // counted on what the model trained on, as `train::seq::fit` counts them
        let prior = prior_weight(run)?
            .filter(|&w| w != 0.0)
            .map(|weight| Prior {
                weight,
                counts: Transitions::fit(
                    split.train.iter().map(|e| e.items.as_slice()),
                    data.num_items,
                ),
            });
        Ok(SeqRecommender {
            cfg,
            data,
            split,
            model,
            store,
            matrix,
            text,
            prior,
        })
    }

    /// The frozen item-text vectors `(V+1, D_text)` of a model that reads text.
    pub fn text(&self) -> Option<&[f32]> {
        self.text.as_deref()
    }

    /// Item matrix rows 1..=V: row j is item id j + 1.                     // (V, D)
    pub fn items(&self) -> &[f32] {
        &self.matrix[self.model.cfg.dim..]
    }

    /// The run's ranking rule as `mtrec seq`'s evaluation applies it: its history
    /// exclusion and its transition prior with the chosen weight.
    pub fn rule(&self) -> RankRule<'_> {
        RankRule {
            exclude_history: self.cfg.train.exclude_history,
            prior: self.prior.as_ref().map(|p| &p.counts),
            weights: self.prior.as_ref().map(|p| p.weight).into_iter().collect(),
        }
    }

    /// Adds the run's transition prior after `history` to a score row `(V)` in place
    /// (`s_j += β · ln(1 + c(a, j))`, `train::seq::eval::add_prior`); nothing without one.
    pub fn add_prior(&self, row: &mut [f32], history: &[u32]) {
        if let Some(p) = &self.prior {
            add_prior(row, &p.counts.log_prior(history), p.weight);
        }
    }

    /// The run's parameters.
    pub fn store(&self) -> &ParamStore {
        &self.store
    }

    /// V, the catalogue size.
    pub fn num_items(&self) -> usize {
        self.model.cfg.num_items
    }

    /// Item keys by catalogue index (index j is item id j + 1).
    pub fn item_keys(&self) -> &[String] {
        &self.data.item_keys[1..]
    }

    /// Final hidden states `F (B, D)` of the histories (each read up to its last `max_len`
    /// items; an empty history reads only padding), in batches of [`BATCH`].
    pub fn hidden(&self, histories: &[&[u32]]) -> Result<Vec<f32>> {
        let max_len = self.model.cfg.max_len;
        let mut out = Vec::with_capacity(histories.len() * self.model.cfg.dim);
        let mut g = Graph::new(0);
        g.set_training(false);
        for chunk in histories.chunks(BATCH) {
            let holdouts: Vec<Holdout> = chunk
                .iter()
                .enumerate()
                .map(|(i, h)| Holdout {
                    user: i,
                    history: h[h.len().saturating_sub(max_len)..].to_vec(),
                    target: 1, // read only by the heads, which are not run
                    rating: None,
                })
                .collect();
            let refs: Vec<&Holdout> = holdouts.iter().collect();
            let batch = SeqBatch::eval(&refs, max_len);
            g.reset();
            let m = g.input_slice(self.num_items() + 1, self.model.cfg.dim, &self.matrix)?; // (V+1, D)
            let h = self.model.encode(&mut g, &self.store, &batch.input(), m)?;
            out.extend_from_slice(g.value(h.h)); // (B, D)
        }
        Ok(out)
    }

    /// Scores `S = F · Mᵀ (B, V)` of hidden states `F (B, D)`: one packed GEMM.
    pub fn scores(&self, hidden: &[f32]) -> Vec<f32> {
        let (dim, v) = (self.model.cfg.dim, self.num_items());
        let b = hidden.len() / dim;
        let mut s = vec![0.0; b * v];
        let g = crate::ops::gemm::Gemm::new(b, dim, v).trans_b(true); // (B, D) · (V, D)ᵀ
        crate::ops::gemm::gemm_accumulate(&mut s, hidden, self.items(), g);
        s
    }

    /// The K best items of one score row `(V)`, leaving out the item ids in `exclude`
    /// (1-based, as in the sequences) and keeping only `allow` (catalogue indices) if
    /// given. Returns (logit, catalogue index) best first, ties by the smaller index.
    /// `row` is overwritten at the left-out items.
    pub fn top_k(
        &self,
        row: &mut [f32],
        exclude: &[u32],
        allow: Option<&[bool]>,
        k: usize,
    ) -> Vec<Scored> {
        if let Some(a) = allow {
            for (s, &keep) in row.iter_mut().zip(a) {
                if !keep {
                    *s = f32::NAN;
                }
            }
        }
        for &id in exclude {
            if id >= 1 && (id as usize) <= row.len() {
                row[id as usize - 1] = f32::NAN;
            }
        }
        top_k_scan(row, k)
    }

    /// `--eval`: the test users of the leave-last-out split (see the module docs).
    pub fn evaluate(&self, k: usize) -> Result<SeqEval> {
        let exclude = self.cfg.train.exclude_history;
        let mut full = FullRanking::new(&[k])?;
        let (mut hr, mut ndcg, mut mrr) = (0f64, 0f64, 0f64);
        let mut listed = vec![false; self.num_items()];
        let v = self.num_items();
        for chunk in self.split.test.chunks(BATCH) {
            let hist: Vec<&[u32]> = chunk.iter().map(|h| h.history.as_slice()).collect();
            let s = self.scores(&self.hidden(&hist)?);
            let per_user: Vec<Result<(usize, Vec<Scored>)>> = chunk
                .par_iter()
                .enumerate()
                .map(|(n, h)| {
                    let mut row = s[n * v..(n + 1) * v].to_vec();
                    self.add_prior(&mut row, &h.history);
                    let ex = exclude.then_some(h.history.as_slice());
                    let rank = rank_with(h.target as usize - 1, &row, &[], 0.0, ex)?;
                    Ok((rank, self.top_k(&mut row, &h.history, None, k)))
                })
                .collect();
            for (h, r) in chunk.iter().zip(per_user) {
                let (rank, list) = r?;
                full.add_rank(rank);
                for c in &list {
                    listed[c.1 as usize] = true;
                }
                if let Some(p) = list.iter().position(|c| c.1 + 1 == h.target) {
                    hr += 1.0;
                    ndcg += 1.0 / ((p + 2) as f64).log2();
                    mrr += 1.0 / (p + 1) as f64;
                }
            }
        }
        let n = full.users().max(1) as f64;
        Ok(SeqEval {
            k,
            users: full.users(),
            hr: full.hit_rate(k).unwrap_or(0.0),
            ndcg: full.ndcg(k).unwrap_or(0.0),
            mrr: full.mrr().unwrap_or(0.0),
            lists_hr: hr / n,
            lists_ndcg: ndcg / n,
            lists_mrr: mrr / n,
            coverage: listed.iter().filter(|&&x| x).count() as f64 / v.max(1) as f64,
            protocol: "hr, ndcg, mrr: mtrec seq's test protocol (leave-last-out, full ranking, ties against the target, the run's history exclusion and transition prior, as in summary.json); lists_*: the written lists (history excluded)",
        })
    }
}

/// `ln Σ_j exp(S_j)` of one score row, so that `P(next = i) = exp(S_i − lse)`; NaN
/// entries (left-out items) are skipped. Shifted by the maximum; `expf` and 8 running
/// f32 sums (a relative error ~1e-6 on V ≈ 10⁴ terms ≤ 1, well below the 6 printed
/// digits), the sums added in f64.
pub fn log_sum_exp(scores: &[f32]) -> f64 {
    let m = scores
        .iter()
        .copied()
        .filter(|s| !s.is_nan())
        .fold(f32::NEG_INFINITY, f32::max);
    if m == f32::NEG_INFINITY {
        return f64::NEG_INFINITY;
    }
    let mut lanes = [0f32; 8];
    let mut chunks = scores.chunks_exact(8);
    for c in &mut chunks {
        for (l, &s) in lanes.iter_mut().zip(c) {
            if !s.is_nan() {
                *l += (s - m).exp();
            }
        }
    }
    let tail: f32 = chunks
        .remainder()
        .iter()
        .filter(|s| !s.is_nan())
        .map(|&s| (s - m).exp())
        .sum();
    let z: f64 = lanes.iter().map(|&l| l as f64).sum::<f64>() + tail as f64;
    m as f64 + z.ln()
}

/// The `k` best of one score row in one pass, NaN skipped: the same list as
/// [`super::topk::top_k`] (best first, ties by the smaller index) without collecting the
/// candidates. A running list of the best `k` is kept sorted; a score enters only if it
/// beats the k-th, which after the first few hundred items is rare, so the scan costs
/// about one comparison per item (O(V + k·log(V/k)·k) expected on unordered scores).
pub fn top_k_scan(row: &[f32], k: usize) -> Vec<Scored> {
    let mut best: Vec<Scored> = Vec::with_capacity(k + 1);
    if k == 0 {
        return best;
    }
    for (i, &s) in row.iter().enumerate() {
        if s.is_nan() {
            continue;
        }
        if best.len() == k && s < best[k - 1].0 {
            continue; // the common case, one float compare
        }
        let c = (s, i as u32);
        if best.len() == k && better(&c, &best[k - 1]) != Ordering::Less {
            continue;
        }
        let at = best.partition_point(|b| better(b, &c) == Ordering::Less);
        best.insert(at, c);
        best.truncate(k);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recommend::topk::top_k;
    use ndarray_rand::rand::Rng;

    #[test]
    fn recommend_seq_scan_equals_partial_selection() {
        let mut rng = StdRng::seed_from_u64(5);
        for case in 0..300 {
            let n = rng.gen_range(0..200);
            // few distinct values: many ties; some NaN, some infinities, signed zeros
            let row: Vec<f32> = (0..n)
                .map(|_| match rng.gen_range(0..20) {
                    0 => f32::NAN,
                    1 => f32::NEG_INFINITY,
                    2 => -0.0,
                    3 => 0.0,
                    _ => (rng.gen_range(-5..5) as f32) * 0.5,
                })
                .collect();
            let k = rng.gen_range(0..12);
            let mut cands: Vec<Scored> = row
                .iter()
                .enumerate()
                .map(|(i, &s)| (s, i as u32))
                .collect();
            let want = top_k(&mut cands, k);
            let got = top_k_scan(&row, k);
            let bits = |l: &[Scored]| l.iter().map(|c| (c.0.to_bits(), c.1)).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "case {case}: {row:?} k={k}");
        }
    }
}
