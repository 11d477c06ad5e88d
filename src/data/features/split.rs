//! Training / validation / test rows of a [`RawTable`] (`[split]` of the run config).
//!
//! * `random`: row i (0-based, in table order) draws `u = splitmix64(seed + i) / 2⁶⁴`
//!   and goes to train if `u < train`, to valid if `u < train + valid`, else to test.
//!   Each row's draw depends only on its index, so the assignment is reproducible
//!   without shuffling; `reference/census/data.py` uses the same rule.
//! * `temporal`: rows stably sorted by the number in `time_column` (oldest first); the
//!   first `round(train·N)` go to train, the rows up to `round((train + valid)·N)` to
//!   valid, the rest to test. Every row needs a time: a missing or non-numeric cell is
//!   an error naming its place.
//! * `files`: by the file a row came from (`RowSource::file`). A file read from
//!   `data_dir/x/a.csv` belongs to the list holding the entry `x/a.csv` (a path
//!   suffix; the longest matching entry wins); rows of files in no list go to test.
//!
//! * `column`: by the text of `split.column` in each row: `train`, `valid` or `test`
//!   (anything else is an error naming the row); the interactions loader writes `set`.
//! * `item_holdout` (cold start): the distinct values of `item_column` are ordered by
//!   `splitmix64(seed ^ fnv1a64(value))` and the first `round(holdout · #items)` are held
//!   out: all their rows go to `cold`, none to train / valid / test. The other (warm)
//!   rows are split like `random`. Which items are cold depends only on the seed and
//!   the item texts, not on row order.
//!
//! Each list is in ascending row order except for `temporal`, which is in time order.

use crate::config::{SplitConfig, SplitKind};
use crate::data::ingest::RawTable;
use crate::error::{Error, Result};
use std::path::Path;

/// Row indices of the three sets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SplitRows {
    pub train: Vec<usize>,
    pub valid: Vec<usize>,
    pub test: Vec<usize>,
    /// `item_holdout`: every row of a held-out item (empty for the other kinds).
    pub cold: Vec<usize>,
}

/// SplitMix64 (Steele, Lea & Flood, 2014): one step of the generator from state `x`.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Which set row `i` of a random split goes to: 0 = train, 1 = valid, 2 = test.
pub fn random_assignment(seed: u64, i: u64, train: f64, valid: f64) -> u8 {
    let u = splitmix64(seed.wrapping_add(i)) as f64 / 18_446_744_073_709_551_616.0; // 2^64
    if u < train {
        0
    } else if u < train + valid {
        1
    } else {
        2
    }
}

/// Divides the rows of `table` as `split` says. `missing_values` are the texts that
/// mean "no value" (a temporal split refuses them in `time_column`).
pub fn split_rows(
    table: &RawTable,
    split: &SplitConfig,
    missing_values: &[String],
) -> Result<SplitRows> {
    // Over 100 lines: one arm per split kind (random, temporal, files, item holdout), each
    // short; together they show that every kind fills the same SplitRows.
    check_fractions(split)?;
    let n = table.num_rows();
    let mut out = SplitRows::default();
    match split.kind {
        SplitKind::Random => {
            for i in 0..n {
                match random_assignment(split.seed, i as u64, split.train, split.valid) {
                    0 => out.train.push(i),
                    1 => out.valid.push(i),
                    _ => out.test.push(i),
                }
            }
        }
        SplitKind::Temporal => {
            let name = split.time_column.as_deref().ok_or_else(|| Error::Config {
                what: "split.time_column".into(),
                message: "is missing while split.kind = \"temporal\"; name the numeric column that orders the rows".into(),
            })?;
            let times = parse_times(table, name, missing_values)?;
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| times[a].total_cmp(&times[b])); // stable
            let n_train = ((split.train * n as f64).round() as usize).min(n);
            let n_valid =
                (((split.train + split.valid) * n as f64).round() as usize).clamp(n_train, n);
            out.test = order.split_off(n_valid);
            out.valid = order.split_off(n_train);
            out.train = order;
        }
        SplitKind::ItemHoldout => {
            let cold = held_out_rows(table, split)?;
            for (i, &is_cold) in cold.iter().enumerate() {
                if is_cold {
                    out.cold.push(i);
                    continue;
                }
                match random_assignment(split.seed, i as u64, split.train, split.valid) {
                    0 => out.train.push(i),
                    1 => out.valid.push(i),
                    _ => out.test.push(i),
                }
            }
        }
        SplitKind::Column => {
            let name = split.column.as_deref().unwrap_or("set");
            let col = table.column(name).ok_or_else(|| Error::Config {
                what: format!("split.column `{name}`"),
                message: format!(
                    "was not read; the table holds {}; add it to the needed columns",
                    table.names.join(", ")
                ),
            })?;
            for i in 0..n {
                match col.get(i).trim() {
                    "train" => out.train.push(i),
                    "valid" => out.valid.push(i),
                    "test" => out.test.push(i),
                    other => {
                        return Err(table.cell_error(
                            i,
                            name,
                            other,
                            "`train`, `valid` or `test` (the set of the row)",
                        ))
                    }
                }
            }
        }
        SplitKind::Files => {
            let set_of_file = set_of_files(split, &table.files);
            for (i, s) in table.source.iter().enumerate() {
                match set_of_file[s.file as usize] {
                    0 => out.train.push(i),
                    1 => out.valid.push(i),
                    _ => out.test.push(i),
                }
            }
        }
    }
    if out.train.is_empty() && n > 0 {
        return Err(Error::Config {
            what: "split".into(),
            message: format!(
                "gives no training rows out of {n}; raise split.train or check split.train_files"
            ),
        });
    }
    Ok(out)
}

/// `item_holdout`: whether each row's item is held out (see the module docs).
fn held_out_rows(table: &RawTable, split: &SplitConfig) -> Result<Vec<bool>> {
    let name = split.item_column.as_deref().ok_or_else(|| Error::Config {
        what: "split.item_column".into(),
        message: "is missing while split.kind = \"item_holdout\"; name the item column".into(),
    })?;
    if !(split.holdout > 0.0 && split.holdout < 1.0) {
        return Err(Error::Config {
            what: "split.holdout".into(),
            message: format!("is {}; expected a fraction in (0, 1)", split.holdout),
        });
    }
    let col = table.column(name).ok_or_else(|| Error::Config {
        what: format!("split.item_column `{name}`"),
        message: format!(
            "was not read; the table holds {}; add it to the needed columns",
            table.names.join(", ")
        ),
    })?;
    // Distinct items that occur, keyed by their trimmed text.
    let mut used = vec![false; col.dict.len()];
    for &c in &col.values {
        used[c as usize] = true;
    }
    let mut items: Vec<(u64, &str)> = col
        .dict
        .iter()
        .zip(&used)
        .filter(|(_, &u)| u)
        .map(|(t, _)| {
            let t = t.trim();
            (splitmix64(split.seed ^ super::fnv1a64(t.as_bytes())), t)
        })
        .collect();
    items.sort_unstable();
    items.dedup_by(|a, b| a.1 == b.1);
    let k = (split.holdout * items.len() as f64).round() as usize;
    let cold: std::collections::HashSet<&str> = items[..k].iter().map(|x| x.1).collect();
    let cold_code: Vec<bool> = col.dict.iter().map(|t| cold.contains(t.trim())).collect();
    Ok(col.values.iter().map(|&c| cold_code[c as usize]).collect())
}

fn check_fractions(split: &SplitConfig) -> Result<()> {
    let ok = split.train.is_finite()
        && split.valid.is_finite()
        && split.train > 0.0
        && split.train <= 1.0
        && split.valid >= 0.0
        && split.train + split.valid <= 1.0 + 1e-9;
    if ok {
        Ok(())
    } else {
        Err(Error::Config {
            what: "split.train / split.valid".into(),
            message: format!(
                "are {} / {}; expected train in (0, 1], valid in [0, 1) and train + valid ≤ 1",
                split.train, split.valid
            ),
        })
    }
}

/// The time of every row as f64 (f32 would round Unix seconds to ~2 minutes).
fn parse_times(table: &RawTable, name: &str, missing_values: &[String]) -> Result<Vec<f64>> {
    let col = table.column(name).ok_or_else(|| Error::Config {
        what: format!("split.time_column `{name}`"),
        message: format!(
            "was not read; the table holds {}; add it to the needed columns",
            table.names.join(", ")
        ),
    })?;
    let parsed: Vec<Option<f64>> = col
        .dict
        .iter()
        .map(|t| {
            let t = t.trim();
            if missing_values.iter().any(|m| m.trim() == t) {
                return None;
            }
            t.parse::<f64>().ok().filter(|x| x.is_finite())
        })
        .collect();
    col.values
        .iter()
        .enumerate()
        .map(|(row, &code)| {
            parsed[code as usize].ok_or_else(|| {
                table.cell_error(
                    row,
                    name,
                    col.get(row),
                    "a finite number (the time that orders a temporal split); fix the value or drop the row",
                )
            })
        })
        .collect()
}

/// 0 = train, 1 = valid, 2 = test of each file of `files` (`split.kind = "files"`):
/// the longest entry of `train_files` / `valid_files` / `test_files` that names the file
/// (equal, or a path suffix) wins; a file no entry names is test.
pub fn set_of_files(split: &SplitConfig, files: &[String]) -> Vec<u8> {
    let lists = [
        (&split.train_files, 0u8),
        (&split.valid_files, 1),
        (&split.test_files, 2),
    ];
    files
        .iter()
        .map(|shown| {
            let mut best: Option<(usize, u8)> = None;
            for (list, set) in lists {
                for entry in list.iter() {
                    let matches = shown == entry || Path::new(shown).ends_with(entry);
                    if matches && best.is_none_or(|(len, _)| entry.len() > len) {
                        best = Some((entry.len(), set));
                    }
                }
            }
            best.map_or(2, |(_, s)| s)
        })
        .collect()
}
