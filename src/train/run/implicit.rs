//! `data.loader = "interactions"` inside `mtrec train`: training negatives drawn anew
//! each epoch (`[data.negatives] resample = "epoch"`) and the ranking evaluation of the
//! test and validation splits (`[data.ranking]`; `summary.json`'s `ranking` and
//! `ranking_valid`), per behaviour, beside item popularity.
//!
//! # Ranking evaluation
//!
//! For every held-out pair (u, t) of the evaluated set (test, or validation) and every task whose column is a
//! behaviour label with `label = 1` for the pair, the target t is ranked by the task's
//! output s among the candidates C_u:
//!
//! ```text
//! full (candidates = 0):  C_u = catalogue \ (items of u's training pairs) \ (u's other items of the set)
//! sampled (n > 0):        C_u = n items drawn uniformly (seeded) among the items u has no pair with
//! rank = 1 + #{ j ∈ C_u, j ≠ t : s_j ≥ s_t }             (ties count against the target)
//! HR@K = 1[rank ≤ K]   NDCG@K = 1[rank ≤ K] / log₂(rank + 1)   MRR = 1 / rank
//! ```
//!
//! each averaged over the held-out pairs of the behaviour (with `leave_last_out` one per
//! user). `popularity` ranks the same candidates by the item's number of training pairs
//! with the behaviour, ties broken by its number of training pairs of any behaviour:
//! `s_j = c_{j,b} + c_j / (1 + max_i c_i)`.

use crate::autograd::{Graph, ParamStore};
use crate::config::interactions::{NegativesConfig, Resample};
use crate::config::{DataConfig, RunConfig};
use crate::data::features::splitmix64;
use crate::data::features::{Encoded, EncodedBatch, FeatureSpec};
use crate::data::ingest::RowSource;
use crate::data::loaders::interactions::{
    negatives_in, read_interactions, rows::known_items, sampler::train_counts, Interactions,
    NegativeSampler, Set,
};
use crate::data::rows::Rows;
use crate::error::{Error, Result};
use crate::metrics::ranking::{hit_at_rank, ndcg_at_rank, rank_among};
use crate::models::MultiTaskModel;
use crate::nn::FeatureInput;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::path::Path;

/// The first `n` rows of `rows` in memory: their categorical ids, numbers, labels, masks
/// and sources (what `Encoded::select` keeps of a set without bags or texts, which
/// [`PairEncoder`] refuses).
fn first_rows(rows: &dyn Rows, n: usize) -> Encoded {
    let mut b = EncodedBatch::default();
    rows.batch(&(0..n).collect::<Vec<_>>(), &mut b);
    let (fc, k) = (b.cat.len(), b.labels.len());
    let mut e = Encoded::empty(fc, 0, b.n_num, k);
    for r in 0..n {
        e.cat.extend(b.cat.iter().map(|c| c[r])); // (1, F_cat)
        e.labels.extend(b.labels.iter().map(|l| l[r])); // (1, K)
        e.mask.extend(b.mask.iter().map(|m| m[r]));
        e.source.push(rows.source(r));
    }
    e.num = b.num; // (n, F_num)
    e
}

/// Where a categorical feature's value comes from.
#[derive(Clone, Copy, Debug)]
enum Side {
    User,
    Item,
    Category,
}

/// The encoded categorical ids of any (user, item): `user_ids[f][u]`, `item_ids[f][i]`.
pub struct PairEncoder {
    sides: Vec<Side>,
    /// Per feature, per user (0 for item-side features).    // F_cat × (U,)
    user_ids: Vec<Vec<u32>>,
    /// Per feature, per item (0 for user-side features).    // F_cat × (V,)
    item_ids: Vec<Vec<u32>>,
    n_tasks: usize,
}

impl PairEncoder {
    /// Only categorical features named `user_id`, `item_id`, `category_id` can be
    /// built for a (user, item) the data does not hold; others are an error.
    pub fn new(spec: &FeatureSpec, inter: &Interactions) -> Result<PairEncoder> {
        let other = spec
            .multi_hot
            .iter()
            .map(|b| b.name.as_str())
            .chain(spec.numeric.iter().map(|n| n.name.as_str()))
            .chain(spec.text.iter().map(|t| t.name.as_str()))
            .next();
        if let Some(name) = other {
            return Err(unsupported(name));
        }
        let mut sides = Vec::new();
        let (mut user_ids, mut item_ids) = (Vec::new(), Vec::new());
        for c in &spec.categorical {
            let side = match c.name.as_str() {
                "user_id" => Side::User,
                "item_id" => Side::Item,
                "category_id" if inter.has_category => Side::Category,
                other => return Err(unsupported(other)),
            };
            let lookup = c.encoder.lookup();
            let (u, i) = match side {
                Side::User => (inter.users.iter().map(|t| lookup.id(t)).collect(), vec![]),
                Side::Item => (vec![], inter.items.iter().map(|t| lookup.id(t)).collect()),
                Side::Category => (
                    vec![],
                    inter.item_category.iter().map(|t| lookup.id(t)).collect(),
                ),
            };
            sides.push(side);
            user_ids.push(u);
            item_ids.push(i);
        }
        Ok(PairEncoder {
            sides,
            user_ids,
            item_ids,
            n_tasks: spec.tasks.len(),
        })
    }

    /// Appends the row (user, item) with every label 0 and labelled.
    pub fn push(&self, out: &mut Encoded, user: u32, item: u32, source: RowSource) {
        for (f, side) in self.sides.iter().enumerate() {
            out.cat.push(match side {
                Side::User => self.user_ids[f][user as usize],
                Side::Item | Side::Category => self.item_ids[f][item as usize],
            });
        }
        out.labels.extend(std::iter::repeat_n(0.0, self.n_tasks));
        out.mask.extend(std::iter::repeat_n(1.0, self.n_tasks));
        out.source.push(source);
    }

    /// An empty set of this layout.
    pub fn empty(&self) -> Encoded {
        Encoded::empty(self.sides.len(), 0, 0, self.n_tasks)
    }
}

fn unsupported(name: &str) -> Error {
    Error::Config {
        what: format!("feature `{name}`"),
        message: "cannot be built for sampled (user, item) pairs: with data.loader = \"interactions\", per-epoch negatives and ranking evaluation use only the categorical features user_id, item_id and category_id; remove the feature or set [data.negatives] resample = \"fixed\" and leave out [data.ranking]".into(),
    }
}

/// The interaction data of a run, re-read from the files after `setup`.
pub struct ImplicitRun {
    pub inter: Interactions,
    neg: NegativesConfig,
    sampler: NegativeSampler,
    known: Vec<HashSet<u32>>,
    enc: Option<PairEncoder>,
}

impl ImplicitRun {
    /// `None` unless `data.loader = "interactions"`.
    pub fn start(cfg: &RunConfig, data_dir: &Path, spec: &FeatureSpec) -> Result<Option<Self>> {
        if cfg.data.loader != crate::config::data::Loader::Interactions {
            return Ok(None);
        }
        let inter = read_interactions(&cfg.data, data_dir)?;
        let neg = cfg.data.negatives.clone().unwrap_or_default();
        let sampler = NegativeSampler::for_interactions(&inter, &neg)?;
        let needs_pairs = neg.resample == Resample::Epoch || cfg.data.ranking.is_some();
        let enc = if needs_pairs {
            Some(PairEncoder::new(spec, &inter)?)
        } else {
            None
        };
        Ok(Some(ImplicitRun {
            known: known_items(&inter),
            inter,
            neg,
            sampler,
            enc,
        }))
    }

    /// The training set of `epoch` (≥ 1) with fresh negatives, or `None` when the
    /// negatives are fixed (epoch 0's are those of the table). `table_train` is the
    /// prepared training set, in memory or in the data cache: its first rows are the
    /// training pairs, in pair order; they are copied into the epoch's set (in memory,
    /// as the negatives drawn for it).
    pub fn train_for_epoch(&self, table_train: &dyn Rows, epoch: usize) -> Result<Option<Encoded>> {
        if self.neg.resample == Resample::Fixed || epoch == 0 {
            return Ok(None);
        }
        let enc = self.enc.as_ref().expect("built when resampling");
        let n_pos = self
            .inter
            .pairs
            .iter()
            .filter(|p| p.set == Set::Train)
            .count();
        if table_train.len() != n_pos * (1 + self.neg.k) {
            return Err(Error::Config {
                what: "data.negatives".into(),
                message: format!(
                    "the training set has {} rows, not the {n_pos} training pairs and their {} negatives each; a row was dropped after reading (see the data report), set resample = \"fixed\"",
                    table_train.len(),
                    self.neg.k
                ),
            });
        }
        let negs = negatives_in(
            &self.inter,
            &self.sampler,
            &self.known,
            Set::Train,
            self.neg.k,
            self.neg.seed,
            epoch,
        )?;
        let mut out = first_rows(table_train, n_pos);
        for n in &negs {
            let p = &self.inter.pairs[n.pair];
            enc.push(&mut out, p.user, n.item, p.source);
        }
        Ok(Some(out))
    }

    /// The ranking metrics of the test split (module docs) for the model and for
    /// popularity: `(summary.json value, console table)`.
    pub fn ranking(
        &self,
        cfg: &RunConfig,
        g: &mut Graph,
        input: &FeatureInput,
        model: &dyn MultiTaskModel,
        store: &ParamStore,
    ) -> Result<Option<(Value, String)>> {
        self.ranking_on(Set::Test, cfg, g, input, model, store)
    }

    /// [`ImplicitRun::ranking`] on the held-out pairs of `set` (`Set::Valid`: the
    /// validation pairs, ranked the same way; `Set::Train` is refused).
    pub fn ranking_on(
        &self,
        set: Set,
        cfg: &RunConfig,
        g: &mut Graph,
        input: &FeatureInput,
        model: &dyn MultiTaskModel,
        store: &ParamStore,
    ) -> Result<Option<(Value, String)>> {
        if set == Set::Train {
            return Err(Error::Config {
                what: "ranking evaluation".into(),
                message: "ranks held-out pairs: choose the test or the validation set".into(),
            });
        }
        let Some(rc) = &cfg.data.ranking else {
            return Ok(None);
        };
        let enc = self.enc.as_ref().expect("built for ranking");
        let tasks = self.ranked_tasks(cfg);
        let pop = popularity_scores(&self.inter);
        let mut acc = Acc::new(tasks.len(), &rc.k);
        let all_items: Vec<u32> = (0..self.inter.items.len() as u32).collect();
        let held_out = self.held_out(set, rc.max_users);
        let users = held_out.len();
        for (u, train, tests) in held_out {
            let targets: Vec<u32> = tests.iter().map(|&i| self.inter.pairs[i].item).collect();
            let others: Vec<u32> = if rc.candidates == 0 {
                let skip: HashSet<u32> = train.iter().chain(&targets).copied().collect();
                all_items
                    .iter()
                    .copied()
                    .filter(|i| !skip.contains(i))
                    .collect()
            } else {
                let mut rng =
                    StdRng::seed_from_u64(splitmix64(self.neg.seed ^ u as u64 ^ 0x52414e4b));
                NegativeSampler::uniform(self.inter.items.len()).negatives(
                    &self.known[u],
                    rc.candidates,
                    &mut rng,
                )?
            };
            // model scores of targets then others: out[t][row]
            let mut rows = enc.empty();
            let src = self.inter.pairs[tests[0]].source;
            for &i in targets.iter().chain(&others) {
                enc.push(&mut rows, u as u32, i, src);
            }
            let out = super::predict(g, input, model, store, &rows, 4096)?;
            for (ti, &(t, b, _)) in tasks.iter().enumerate() {
                for (j, &pi) in tests.iter().enumerate() {
                    if !self.inter.pairs[pi].label(b) {
                        continue;
                    }
                    let s = &out[t];
                    let rank = rank_among(s[j], &s[targets.len()..])?;
                    let pop_other: Vec<f32> = others.iter().map(|&i| pop[b][i as usize]).collect();
                    let pop_rank = rank_among(pop[b][targets[j] as usize], &pop_other)?;
                    acc.add(ti, rank, pop_rank);
                }
            }
        }
        let candidates = if rc.candidates == 0 {
            "full catalogue: all items except the user's training items".to_string()
        } else {
            format!(
                "{} sampled items the user never interacted with",
                rc.candidates
            )
        };
        let set_name = if set == Set::Valid { "valid" } else { "test" };
        Ok(Some(acc.finish(
            set_name,
            &tasks,
            &rc.k,
            users,
            &candidates,
            self.inter.items.len(),
        )))
    }
}

impl ImplicitRun {
    /// The tasks whose column is a behaviour label: `(task, behaviour, name)`.
    fn ranked_tasks<'c>(&self, cfg: &'c RunConfig) -> Vec<(usize, usize, &'c str)> {
        cfg.tasks
            .iter()
            .enumerate()
            .filter_map(|(t, task)| {
                let b = self.inter.labels.iter().position(|l| *l == task.column)?;
                Some((t, b, task.name.as_str()))
            })
            .collect()
    }

    /// The users ranked on `set` (those with a pair there, the first `max_users` in user
    /// order; 0: all), each with the items of their training pairs and the indices of
    /// their pairs of `set`.
    fn held_out(&self, set: Set, max_users: usize) -> Vec<(usize, Vec<u32>, Vec<usize>)> {
        let mut by_user: Vec<(Vec<u32>, Vec<usize>)> =
            vec![(Vec::new(), Vec::new()); self.inter.users.len()];
        for (i, p) in self.inter.pairs.iter().enumerate() {
            if p.set == Set::Train {
                by_user[p.user as usize].0.push(p.item);
            } else if p.set == set {
                by_user[p.user as usize].1.push(i);
            }
        }
        by_user
            .into_iter()
            .enumerate()
            .filter(|(_, (_, tests))| !tests.is_empty())
            .take(if max_users > 0 { max_users } else { usize::MAX })
            .map(|(u, (train, tests))| (u, train, tests))
            .collect()
    }

    /// Per ranked task (name), how many held-out pairs of `set` [`ImplicitRun::ranking_on`]
    /// ranks for it: the pairs with the task's behaviour among the ranked users.
    pub fn held_out_counts(&self, set: Set, cfg: &RunConfig) -> Vec<(String, usize)> {
        let max_users = cfg.data.ranking.as_ref().map_or(0, |rc| rc.max_users);
        let held_out = self.held_out(set, max_users);
        self.ranked_tasks(cfg)
            .into_iter()
            .map(|(_, b, name)| {
                let n = held_out
                    .iter()
                    .flat_map(|(_, _, tests)| tests)
                    .filter(|&&i| self.inter.pairs[i].label(b))
                    .count();
                (name.to_string(), n)
            })
            .collect()
    }
}

/// Per behaviour b, per item: `c_{i,b} + c_i / (1 + max c)` over training pairs.
pub fn popularity_scores(inter: &Interactions) -> Vec<Vec<f32>> {
    let all = train_counts(inter);
    let max = all.iter().copied().max().unwrap_or(0) as f64;
    (0..inter.labels.len())
        .map(|b| {
            let mut c = vec![0f64; inter.items.len()];
            for p in &inter.pairs {
                if p.set == Set::Train && p.label(b) {
                    c[p.item as usize] += 1.0;
                }
            }
            c.iter()
                .zip(&all)
                .map(|(&cb, &ca)| (cb + ca as f64 / (1.0 + max)) as f32)
                .collect()
        })
        .collect()
}

/// Sums of HR@K (per K), NDCG@K (per K) and reciprocal ranks of one ranker.
type Sums = (Vec<f64>, Vec<f64>, f64);

/// Sums of HR@K, NDCG@K (per K) and reciprocal ranks, model and popularity, per task.
struct Acc {
    n: Vec<usize>,
    /// [task][0 = model, 1 = popularity] → (hr per K, ndcg per K, rr)
    sums: Vec<[Sums; 2]>,
    ks: Vec<usize>,
}

impl Acc {
    fn new(n_tasks: usize, ks: &[usize]) -> Acc {
        let zero = || (vec![0.0; ks.len()], vec![0.0; ks.len()], 0.0);
        Acc {
            n: vec![0; n_tasks],
            sums: (0..n_tasks).map(|_| [zero(), zero()]).collect(),
            ks: ks.to_vec(),
        }
    }

    fn add(&mut self, task: usize, rank: usize, pop_rank: usize) {
        self.n[task] += 1;
        for (who, r) in [rank, pop_rank].into_iter().enumerate() {
            let s = &mut self.sums[task][who];
            for (j, &k) in self.ks.iter().enumerate() {
                s.0[j] += hit_at_rank(r, k);
                s.1[j] += ndcg_at_rank(r, k);
            }
            s.2 += 1.0 / r as f64;
        }
    }

    fn finish(
        &self,
        set_name: &str,
        tasks: &[(usize, usize, &str)],
        ks: &[usize],
        users: usize,
        candidates: &str,
        n_items: usize,
    ) -> (Value, String) {
        let mut per = [Map::new(), Map::new()];
        let mut table = format!(
            "ranking on {set_name} ({candidates}; {n_items} items, {users} users)\n{:<10} {:>8}",
            "task", "held-out"
        );
        for who in ["model", "popularity"] {
            for &k in ks {
                table += &format!(
                    " {:>14} {:>14}",
                    format!("{who} HR@{k}"),
                    format!("NDCG@{k}")
                );
            }
            table += &format!(" {:>10}", "MRR");
        }
        table.push('\n');
        for (ti, &(_, _, name)) in tasks.iter().enumerate() {
            let n = self.n[ti];
            table += &format!("{name:<10} {n:>8}");
            for (who, m) in per.iter_mut().enumerate() {
                let mut o = Map::new();
                o.insert("held_out".into(), json!(n));
                let (hr, ndcg, rr) = &self.sums[ti][who];
                let mean = |s: f64| if n == 0 { f64::NAN } else { s / n as f64 };
                for (j, &k) in ks.iter().enumerate() {
                    o.insert(format!("hr@{k}"), json!(mean(hr[j])));
                    o.insert(format!("ndcg@{k}"), json!(mean(ndcg[j])));
                    table += &format!(" {:>14.4} {:>14.4}", mean(hr[j]), mean(ndcg[j]));
                }
                o.insert("mrr".into(), json!(mean(*rr)));
                table += &format!(" {:>10.4}", mean(*rr));
                m.insert(name.to_string(), Value::Object(o));
            }
            table.push('\n');
        }
        let [model, popularity] = per;
        (
            json!({
                "candidates": candidates,
                "items": n_items,
                "users": users,
                "k": ks,
                "model": model,
                "popularity": popularity,
            }),
            table,
        )
    }
}

/// `true` when `data` reads interactions (for callers that only need the check).
pub fn is_interactions(data: &DataConfig) -> bool {
    data.loader == crate::config::data::Loader::Interactions
}
