//! Per-user interaction sequences for sequential recommendation (SASRec and friends):
//! loading, item ids, the leave-last-out split and padded batches.
//!
//! ```text
//! SeqData      users × (items in time order, optional rating per interaction)
//! item ids     1..=V assigned by a seeded shuffle of the sorted raw keys; 0 = padding
//! split        last item → test, second-last → validation, the rest → training
//! ```
//!
//! **Item ids are never assigned in order of appearance.** Numbering items as they first
//! appear in the user sequences puts consecutive purchases on consecutive ids, which leaks
//! the answer to any model that sees ids or id sub-tokens (P5's Beauty numbers are
//! inflated by exactly this). Here the distinct raw keys (ASINs, MovieLens ids) are sorted,
//! shuffled with a seeded RNG and numbered 1..=V in shuffled order, so an item's id carries
//! nothing about where or when it appears; `ids_are_not_in_appearance_order` in
//! `tests/sequences.rs` checks it. Id 0 is reserved for padding.
//!
//! Loaders: [`load_beauty`] (Amazon Beauty as used by P5: `user item item ...` per line,
//! plus the `ASIN keyword ...` item text) and [`load_movielens`] (MovieLens 100K `u.data`
//! sorted by timestamp per user, ties by item id; rating and like = rating ≥ 4 per
//! interaction; `u.item` titles as item text), the presets; and, for data sets of any name,
//! [`load_sequence_file`] (`user item item ...`) and [`load_interactions`]
//! (`user,item[,timestamp]`) with [`read_item_text`] (see [`generic`]). A run folder keeps
//! the id maps ([`IdMaps`], `ids.json`).

mod batch;
pub mod generic;
pub mod ids;
mod keywords;
mod load;

pub use batch::{SeqBatch, SeqExample};
pub use generic::{load_interactions, load_sequence_file, read_item_text, Encoding};
pub use ids::IdMaps;
pub use keywords::Keywords;
pub use load::{load_beauty, load_movielens};

use crate::error::{Error, Result};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::seq::SliceRandom;
use ndarray_rand::rand::SeedableRng;
use std::collections::HashMap;

/// The padding item id.
pub const PAD: u32 = 0;

/// Users' interaction sequences with items numbered 1..=V.
#[derive(Clone, Debug, PartialEq)]
pub struct SeqData {
    /// Data-set name for logs (`"amazon-beauty"`).
    pub name: String,
    /// V, the number of items; ids run 1..=V.
    pub num_items: usize,
    /// Raw key of item id `i` at `item_keys[i]`; `item_keys[0]` is `"<pad>"`.
    pub item_keys: Vec<String>,
    /// Text of item id `i` (keywords, title) at `item_text[i]`; empty when unknown.
    pub item_text: Vec<String>,
    /// Raw user keys, one per sequence.
    pub users: Vec<String>,
    /// Item ids of each user, oldest first.
    pub seqs: Vec<Vec<u32>>,
    /// Rating of each interaction (same layout as `seqs`), where the data has ratings.
    pub ratings: Option<Vec<Vec<f32>>>,
}

impl SeqData {
    /// Builds the data from raw keys: `seqs_raw[u]` is user u's item keys in time order.
    /// Item ids come from [`shuffled_ids`] with `seed`.
    pub fn from_raw(
        name: &str,
        users: Vec<String>,
        seqs_raw: Vec<Vec<String>>,
        ratings: Option<Vec<Vec<f32>>>,
        seed: u64,
    ) -> Result<SeqData> {
        let n_ok = |r: &Vec<Vec<f32>>| {
            r.len() == seqs_raw.len() && r.iter().zip(&seqs_raw).all(|(a, b)| a.len() == b.len())
        };
        if users.len() != seqs_raw.len() || ratings.as_ref().is_some_and(|r| !n_ok(r)) {
            return Err(Error::Config {
                what: format!("sequences of {name}"),
                message:
                    "need one user key and (if given) one rating per interaction for every sequence"
                        .into(),
            });
        }
        let keys: Vec<&str> = seqs_raw.iter().flatten().map(String::as_str).collect();
        let ids = shuffled_ids(&keys, seed);
        let mut item_keys = vec![String::new(); ids.len() + 1];
        item_keys[0] = "<pad>".into();
        for (k, &i) in &ids {
            item_keys[i as usize] = k.to_string();
        }
        let seqs = seqs_raw
            .iter()
            .map(|s| s.iter().map(|k| ids[k.as_str()]).collect())
            .collect();
        let num_items = ids.len();
        Ok(SeqData {
            name: name.into(),
            num_items,
            item_text: vec![String::new(); num_items + 1],
            item_keys,
            users,
            seqs,
            ratings,
        })
    }

    /// Total interactions over all users.
    pub fn num_interactions(&self) -> usize {
        self.seqs.iter().map(Vec::len).sum()
    }

    /// Id of a raw item key, if it occurs.
    pub fn item_id(&self, key: &str) -> Option<u32> {
        self.item_keys
            .iter()
            .position(|k| k == key)
            .map(|i| i as u32)
    }
}

/// Assigns ids 1..=V to the distinct keys: sorted, then shuffled with `seed`, then
/// numbered in shuffled order. Independent of the order the keys appear in.
pub fn shuffled_ids<'a>(keys: &[&'a str], seed: u64) -> HashMap<&'a str, u32> {
    let mut distinct: Vec<&str> = keys.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    distinct.shuffle(&mut StdRng::seed_from_u64(seed));
    distinct
        .into_iter()
        .enumerate()
        .map(|(i, k)| (k, i as u32 + 1))
        .collect()
}

/// One user's held-out target and the history before it.
#[derive(Clone, Debug, PartialEq)]
pub struct Holdout {
    pub user: usize,
    /// Items before the target, oldest first (not yet truncated to the model's length).
    pub history: Vec<u32>,
    pub target: u32,
    /// Rating of the target interaction, where the data has ratings.
    pub rating: Option<f32>,
}

/// The leave-last-out split.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// Per user, the training part of the sequence (item ids, ratings); users whose
    /// training part has fewer than 2 items give no training target and are left out.
    pub train: Vec<SeqExample>,
    pub valid: Vec<Holdout>,
    pub test: Vec<Holdout>,
    /// Users with fewer than 3 interactions: too short to hold out two items. They are
    /// counted here and their whole sequence goes to training (no validation or test).
    pub short_users: usize,
}

/// Leave-last-out: for a user with items `s_1 … s_n` (n ≥ 3), test target `s_n` with
/// history `s_1 … s_{n−1}`, validation target `s_{n−1}` with history `s_1 … s_{n−2}`, and
/// training sequence `s_1 … s_{n−2}`. Users with n < 3 are counted in `short_users` and
/// train on their whole sequence. Errors if no user is left for evaluation.
pub fn leave_last_out(data: &SeqData) -> Result<Split> {
    let mut split = Split {
        train: Vec::new(),
        valid: Vec::new(),
        test: Vec::new(),
        short_users: 0,
    };
    for (u, s) in data.seqs.iter().enumerate() {
        let r = data.ratings.as_ref().map(|r| &r[u]);
        let n = s.len();
        let cut = if n < 3 {
            split.short_users += 1;
            n
        } else {
            let holdout = |k: usize| Holdout {
                user: u,
                history: s[..k].to_vec(),
                target: s[k],
                rating: r.map(|r| r[k]),
            };
            split.valid.push(holdout(n - 2));
            split.test.push(holdout(n - 1));
            n - 2
        };
        if cut >= 2 {
            split.train.push(SeqExample {
                user: u,
                items: s[..cut].to_vec(),
                ratings: r.map(|r| r[..cut].to_vec()),
            });
        }
    }
    if split.test.is_empty() {
        return Err(Error::Config {
            what: format!("leave-last-out split of {}", data.name),
            message: "no user has 3 or more interactions, so nothing can be held out; \
                      check that the file holds one user's whole history per user"
                .into(),
        });
    }
    Ok(split)
}
