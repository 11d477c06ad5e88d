//! Categorical and multi-hot values → embedding-table ids.
//!
//! Id 0 is shared by every value the training split did not establish (unseen, rarer
//! than `min_count`) and by missing values; ids 1..=V are the vocabulary, so a feature's
//! table has V + 1 rows.
//!
//! * **Vocabulary** ([`Encoder::Vocab`]): the values of the training rows seen at least
//!   `min_count` times, numbered 1..=V in order of first appearance in training.
//! * **Hashing** ([`Encoder::Hash`], `hash_buckets = N > 0`): `id = 1 + FNV-1a-64(text) mod N`
//!   for any non-missing text, seen in training or not. No vocabulary is stored.
//!
//! A multi-hot cell is split at `separator`; each piece is trimmed and empty pieces are
//! dropped; each remaining token is encoded as above. A missing cell (its whole text in
//! `missing_values`) becomes the bag `[0]` under `missing = "oov"`, so it gets the
//! learned out-of-vocabulary vector; a cell with no tokens (e.g. `""` once `""` is not a
//! missing value) is the empty bag, whose mean embedding is 0.

use crate::config::Missing;
use crate::data::ingest::{RawColumn, RawTable};
use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// FNV-1a, 64-bit (Fowler, Noll, Vo): `h = 0xcbf29ce484222325; h = (h ^ byte) · 0x100000001b3`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// How the texts of one categorical or multi-hot feature become ids.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Encoder {
    /// `values[i]` has id `i + 1`.
    Vocab { values: Vec<String> },
    /// `1 + FNV-1a-64(text) mod buckets`.
    Hash { buckets: usize },
}

impl Encoder {
    /// V: ids are 0..=V, so the embedding table has `size() + 1` rows.
    pub fn size(&self) -> usize {
        match self {
            Encoder::Vocab { values } => values.len(),
            Encoder::Hash { buckets } => *buckets,
        }
    }

    /// A prepared lookup (a hash map of the vocabulary).
    pub fn lookup(&self) -> Lookup<'_> {
        match self {
            Encoder::Vocab { values } => Lookup::Vocab(
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (v.as_str(), i as u32 + 1))
                    .collect(),
            ),
            Encoder::Hash { buckets } => Lookup::Hash(*buckets as u64),
        }
    }

    /// [`Encoder::lookup`] that owns its texts: built once and kept (a server encodes
    /// every request with it instead of hashing the whole vocabulary per request).
    pub fn prepared(&self) -> Lookup<'static> {
        match self {
            Encoder::Vocab { values } => Lookup::Owned(
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (Box::from(v.as_str()), i as u32 + 1))
                    .collect(),
            ),
            Encoder::Hash { buckets } => Lookup::Hash(*buckets as u64),
        }
    }
}

/// An [`Encoder`] ready for lookups.
#[derive(Clone, Debug)]
pub enum Lookup<'a> {
    Vocab(HashMap<&'a str, u32>),
    /// [`Encoder::prepared`]: the map owns its texts, so it can be kept and reused.
    Owned(HashMap<Box<str>, u32>),
    Hash(u64),
}

impl Lookup<'_> {
    /// The id of a non-missing text (0 when out of vocabulary).
    pub fn id(&self, text: &str) -> u32 {
        match self {
            Lookup::Vocab(map) => map.get(text).copied().unwrap_or(0),
            Lookup::Owned(map) => map.get(text).copied().unwrap_or(0),
            Lookup::Hash(n) => 1 + (fnv1a64(text.as_bytes()) % n) as u32,
        }
    }
}

/// Whether `text` (trimmed) is one of the missing markers.
pub fn is_missing(text: &str, missing_values: &[String]) -> bool {
    let t = text.trim();
    missing_values.iter().any(|m| m.trim() == t)
}

/// The tokens of a multi-hot cell: split at `sep`, trimmed, empty pieces dropped.
pub fn tokens<'a>(text: &'a str, sep: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    text.split(sep).map(str::trim).filter(|t| !t.is_empty())
}

/// Keeps the keys counted at least `min_count` times, in first-appearance order.
fn keep_frequent(
    order: Vec<String>,
    count: &HashMap<String, usize>,
    min_count: usize,
) -> Vec<String> {
    order
        .into_iter()
        .filter(|v| count[v] >= min_count.max(1))
        .collect()
}

/// The vocabulary of a categorical column over the rows `train`: non-missing texts
/// seen ≥ `min_count` times there, in order of first appearance.
pub fn fit_vocab(
    col: &RawColumn,
    train: &[usize],
    min_count: usize,
    missing_values: &[String],
) -> Vec<String> {
    let missing: Vec<bool> = col
        .dict
        .iter()
        .map(|t| is_missing(t, missing_values))
        .collect();
    let mut count = vec![0usize; col.dict.len()]; // per code
    let mut first: Vec<u32> = Vec::new(); // codes in first-appearance order
    for &r in train {
        let c = col.values[r] as usize;
        if missing[c] {
            continue;
        }
        if count[c] == 0 {
            first.push(c as u32);
        }
        count[c] += 1;
    }
    first
        .into_iter()
        .filter(|&c| count[c as usize] >= min_count.max(1))
        .map(|c| col.dict[c as usize].clone())
        .collect()
}

/// The token vocabulary of a multi-hot column over the rows `train`.
pub fn fit_bag_vocab(
    col: &RawColumn,
    train: &[usize],
    min_count: usize,
    sep: &str,
    missing_values: &[String],
) -> Vec<String> {
    let mut count: HashMap<String, usize> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    for &r in train {
        let text = col.get(r);
        if is_missing(text, missing_values) {
            continue;
        }
        for t in tokens(text, sep).filter(|t| !is_missing(t, missing_values)) {
            match count.get_mut(t) {
                Some(c) => *c += 1,
                None => {
                    count.insert(t.to_string(), 1);
                    order.push(t.to_string());
                }
            }
        }
    }
    keep_frequent(order, &count, min_count)
}

/// Ids of a categorical column `name` of `table`: `(N,)`. A missing text is 0 under
/// `Missing::Oov` and an error naming its cell under `Missing::Error`.
pub fn encode_categorical(
    table: &RawTable,
    name: &str,
    col: &RawColumn,
    encoder: &Encoder,
    missing: Missing,
    missing_values: &[String],
) -> Result<Vec<u32>> {
    let lookup = encoder.lookup();
    encode_categorical_with(table, name, col, &lookup, missing, missing_values)
}

/// [`encode_categorical`] with the encoder's lookup already built ([`Encoder::prepared`]).
pub fn encode_categorical_with(
    table: &RawTable,
    name: &str,
    col: &RawColumn,
    lookup: &Lookup<'_>,
    missing: Missing,
    missing_values: &[String],
) -> Result<Vec<u32>> {
    let ids: Vec<Option<u32>> = col
        .dict
        .iter()
        .map(|t| (!is_missing(t, missing_values)).then(|| lookup.id(t)))
        .collect();
    let mut out = Vec::with_capacity(col.len()); // (N,)
    for (row, &code) in col.values.iter().enumerate() {
        match ids[code as usize] {
            Some(id) => out.push(id),
            None if missing == Missing::Error => {
                return Err(missing_error(table, row, name, col.get(row)))
            }
            None => out.push(0),
        }
    }
    Ok(out)
}

/// Bags of a multi-hot column: `offsets (N + 1)`, `ids`.
pub fn encode_bags(
    table: &RawTable,
    name: &str,
    col: &RawColumn,
    encoder: &Encoder,
    sep: &str,
    missing: Missing,
    missing_values: &[String],
) -> Result<(Vec<u32>, Vec<u32>)> {
    let lookup = encoder.lookup();
    encode_bags_with(table, name, col, &lookup, sep, missing, missing_values)
}

/// [`encode_bags`] with the encoder's lookup already built ([`Encoder::prepared`]).
pub fn encode_bags_with(
    table: &RawTable,
    name: &str,
    col: &RawColumn,
    lookup: &Lookup<'_>,
    sep: &str,
    missing: Missing,
    missing_values: &[String],
) -> Result<(Vec<u32>, Vec<u32>)> {
    // Per distinct text: its ids, or None if it is (or holds) a missing value.
    let bags: Vec<Option<Vec<u32>>> = col
        .dict
        .iter()
        .map(|text| {
            if is_missing(text, missing_values) {
                return None;
            }
            tokens(text, sep)
                .map(|t| (!is_missing(t, missing_values)).then(|| lookup.id(t)))
                .collect()
        })
        .collect();
    let mut offsets = Vec::with_capacity(col.len() + 1); // (N + 1)
    let mut ids = Vec::new();
    offsets.push(0u32);
    for (row, &code) in col.values.iter().enumerate() {
        match &bags[code as usize] {
            Some(b) => ids.extend_from_slice(b),
            None if missing == Missing::Error => {
                return Err(missing_error(table, row, name, col.get(row)))
            }
            None => {
                // The whole cell, or some token, is missing: every token that is missing
                // becomes the OOV id 0 (a missing cell is the bag [0]).
                let text = col.get(row);
                if is_missing(text, missing_values) {
                    ids.push(0);
                } else {
                    ids.extend(tokens(text, sep).map(|t| {
                        if is_missing(t, missing_values) {
                            0
                        } else {
                            lookup.id(t)
                        }
                    }));
                }
            }
        }
        offsets.push(ids.len() as u32);
    }
    Ok((offsets, ids))
}

/// What a missing categorical cell under `missing = "error"` is told (also by the
/// streamed cache build).
pub(crate) const MISSING_ERROR_EXPECTED: &str = "a value (this feature has missing = \"error\"); fill the cell, or set missing = \"oov\" for the feature";

fn missing_error(table: &RawTable, row: usize, name: &str, seen: &str) -> crate::Error {
    table.cell_error(row, name, seen, MISSING_ERROR_EXPECTED)
}
