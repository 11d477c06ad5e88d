//! Negative rows and the table of pairs and negatives (see [`super`]).

use super::super::table::TableOut;
use super::read::{Interactions, Set};
use super::sampler::NegativeSampler;
use crate::config::interactions::NegativesConfig;
use crate::data::features::splitmix64;
use crate::data::ingest::RawTable;
use crate::error::Result;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;
use std::collections::HashSet;

/// One negative row: the user of pair `pair`, item `item`, all labels 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negative {
    /// Index into [`Interactions::pairs`]: the positive it was drawn for.
    pub pair: usize,
    /// Index into [`Interactions::items`].
    pub item: u32,
}

/// Per user, the items they have a pair with (any set).
pub fn known_items(inter: &Interactions) -> Vec<HashSet<u32>> {
    let mut known = vec![HashSet::new(); inter.users.len()];
    for p in &inter.pairs {
        known[p.user as usize].insert(p.item);
    }
    known
}

/// The seed of the negatives of `set` (training: also of `epoch`; valid and test do
/// not change with the epoch).
fn set_seed(seed: u64, set: Set, epoch: usize) -> u64 {
    match set {
        Set::Train => splitmix64(seed ^ 0x5452_4149_4e00 ^ splitmix64(epoch as u64)),
        Set::Valid => splitmix64(seed ^ 0x5641_4c49_4400),
        Set::Test => splitmix64(seed ^ 0x5445_5354_0000),
    }
}

/// `per_pair` negatives for every pair of `set`, in pair order, from the stream of
/// (seed, set, epoch).
pub fn negatives_in(
    inter: &Interactions,
    sampler: &NegativeSampler,
    known: &[HashSet<u32>],
    set: Set,
    per_pair: usize,
    seed: u64,
    epoch: usize,
) -> Result<Vec<Negative>> {
    let mut rng = StdRng::seed_from_u64(set_seed(seed, set, epoch));
    let mut out = Vec::new();
    for (i, p) in inter.pairs.iter().enumerate() {
        if p.set != set {
            continue;
        }
        for item in sampler.negatives(&known[p.user as usize], per_pair, &mut rng)? {
            out.push(Negative { pair: i, item });
        }
    }
    Ok(out)
}

/// The negatives of the table: `k` per training pair (drawn for `epoch`), `eval_k` per
/// valid and per test pair.
pub fn negatives_for(
    inter: &Interactions,
    sampler: &NegativeSampler,
    neg: &NegativesConfig,
    epoch: usize,
) -> Result<Vec<Negative>> {
    let known = known_items(inter);
    let mut out = negatives_in(inter, sampler, &known, Set::Train, neg.k, neg.seed, epoch)?;
    for set in [Set::Valid, Set::Test] {
        out.extend(negatives_in(
            inter, sampler, &known, set, neg.eval_k, neg.seed, 0,
        )?);
    }
    Ok(out)
}

/// The output columns: `user_id, item_id, [category_id], labels..., time, set`.
pub fn columns(inter: &Interactions) -> Vec<String> {
    let mut c = vec!["user_id".to_string(), "item_id".to_string()];
    if inter.has_category {
        c.push("category_id".into());
    }
    c.extend(inter.labels.iter().cloned());
    c.push("time".into());
    c.push("set".into());
    c
}

/// The positive pairs, then `negatives`, as a table keeping the columns `needed`
/// (empty: all). A negative row has the source line of its positive pair.
pub fn to_table(inter: &Interactions, negatives: &[Negative], needed: &[&str]) -> Result<RawTable> {
    let cols = columns(inter);
    let all: Vec<&str> = cols.iter().map(String::as_str).collect();
    let mut out = TableOut::new("interactions", &all, needed)?;
    out.files = inter.files.clone();
    out.skipped = inter.skipped.clone();
    let mut texts: Vec<String> = Vec::with_capacity(cols.len());
    let mut push = |out: &mut TableOut, pair: usize, item: u32, positive: bool| {
        let p = &inter.pairs[pair];
        texts.clear();
        texts.push(inter.users[p.user as usize].clone());
        texts.push(inter.items[item as usize].clone());
        if inter.has_category {
            texts.push(inter.item_category[item as usize].clone());
        }
        for b in 0..inter.labels.len() {
            texts.push(if positive && p.label(b) { "1" } else { "0" }.into());
        }
        texts.push(p.time.to_string());
        texts.push(p.set.name().into());
        let row: Vec<&str> = texts.iter().map(String::as_str).collect();
        out.push(&row, p.source);
    };
    for (i, p) in inter.pairs.iter().enumerate() {
        push(&mut out, i, p.item, true);
    }
    for n in negatives {
        push(&mut out, n.pair, n.item, false);
    }
    Ok(out.finish())
}
