//! `data.loader = "interactions"`: implicit feedback from interaction logs, one row per
//! (user, item) pair with one 0/1 label per behaviour, plus sampled negative rows.
//!
//! # Input
//!
//! Every line of every file of `data.files` is one event; its fields are named by
//! `[data.interactions] fields` (default `user, item, category, behavior, time`, the
//! layout of Taobao UserBehavior), separated by `data.delimiter` (default `,`), no
//! header, gzip allowed. `user` and `item` are required and read as text; `time` a
//! whole number; `behavior` one of `behaviors`; `_` marks a field to ignore. Without a
//! `behavior` field each file holds one behaviour: `file_behaviors[i]` for `files[i]`
//! (one file per behaviour, e.g. `clicks.tsv`, `buys.tsv` with lines `user item time`).
//! Without a `time` field an event's time is its position in the files (so
//! leave-last-out takes the last line of a user).
//!
//! A line with the wrong number of fields, an empty id, a time that is not a whole
//! number or a behaviour not listed is a bad row: `path:line:field: ...` with
//! `data.bad_rows = "error"`, skipped and listed with `"skip"`.
//!
//! # Pairs, split, negatives
//!
//! All events of one (user, item) make one pair (order: first event in the files):
//! label `labels[b]` is 1 if any event has behaviour `behaviors[b]`, the pair's time is
//! its earliest event's. [`split::assign`] gives every pair a set (leave-last-out per
//! user or a global time cut). Negatives ([`sampler`]) are (user, item) rows with all
//! labels 0 and the set of the positive pair they were drawn for: `k` per training
//! pair, `eval_k` per valid / test pair, never an item the user has a pair with.
//!
//! # Output columns
//!
//! `user_id`, `item_id`, `category_id` (with a `category` field: the item's category
//! at its first event), one column per label, `time`, `set` (`train` / `valid` /
//! `test`, read by `[split] kind = "column"`, `column = "set"`). Positive pairs first,
//! then the negatives of the training, valid and test pairs in pair order.

pub mod read;
pub mod rows;
pub mod sampler;
pub mod split;

pub use read::{read_interactions, Interactions, Pair, Set};
pub use rows::{columns, known_items, negatives_for, negatives_in, to_table, Negative};
pub use sampler::NegativeSampler;

use crate::config::DataConfig;
use crate::data::ingest::RawTable;
use crate::error::Result;
use std::path::Path;

/// Reads, splits and samples the fixed negatives (training negatives of epoch 0):
/// the table of the module docs, keeping the columns `needed`.
pub(super) fn read(cfg: &DataConfig, data_dir: &Path, needed: &[&str]) -> Result<RawTable> {
    let inter = read_interactions(cfg, data_dir)?;
    let neg = cfg.negatives.clone().unwrap_or_default();
    let sampler = NegativeSampler::for_interactions(&inter, &neg)?;
    let negs = negatives_for(&inter, &sampler, &neg, 0)?;
    to_table(&inter, &negs, needed)
}
