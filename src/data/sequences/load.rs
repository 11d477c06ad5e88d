//! Readers for the two sequence data sets.
//!
//! | data set | files | sequence order | per interaction | item text |
//! |---|---|---|---|---|
//! | Amazon Beauty (P5) | `user_sequence.txt`: `user item item ...` | as in the file (time order) | — | `item_generative_indexing_phase_0.txt`: `ASIN keyword ...` |
//! | MovieLens 100K | `u.data`: `user \t item \t rating \t time` | timestamp, ties by item id | rating, like = rating ≥ 4 | `u.item` title (Latin-1) |

use super::SeqData;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::Path;

fn read_bytes(path: &Path, hint: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: format!("{e}; {hint}"),
    })
}

fn bad(path: &Path, line: usize, column: usize, what: &str, seen: &str, expected: &str) -> Error {
    Error::Input {
        path: path.display().to_string(),
        line,
        column,
        what: what.into(),
        seen: seen.into(),
        expected: expected.into(),
    }
}

/// Latin-1 bytes to text (every byte is the code point of the same value).
fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// Amazon Beauty as P5 ships it, from the folder `dir`: `user_sequence.txt` (one user per
/// line, `user item1 item2 ...` in time order) and, if present,
/// `item_generative_indexing_phase_0.txt` (`ASIN keyword keyword ...`) as item text.
/// Item ids are shuffled with `seed` (see the module documentation).
///
/// Errors: a line without items, a user listed twice (file:line:column).
pub fn load_beauty(dir: &Path, seed: u64) -> Result<SeqData> {
    let path = dir.join("user_sequence.txt");
    let text = latin1(&read_bytes(
        &path,
        "expected the Amazon Beauty folder (amazon-beauty) with user_sequence.txt; pass --data-dir or set MTREC_DATA",
    )?);
    let (users, seqs) = super::generic::parse_sequences(&text, &path)?;
    let mut data = SeqData::from_raw("amazon-beauty", users, seqs, None, seed)?;
    let text_path = dir.join("item_generative_indexing_phase_0.txt");
    if text_path.is_file() {
        let index: HashMap<&str, usize> = data
            .item_keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i))
            .collect();
        let mut texts = vec![String::new(); data.num_items + 1];
        let raw = latin1(&read_bytes(
            &text_path,
            "the item text file of Amazon Beauty",
        )?);
        for line in raw.lines() {
            let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
            if let Some(&i) = index.get(key) {
                texts[i] = rest.trim().to_string();
            }
        }
        data.item_text = texts;
    }
    Ok(data)
}

/// MovieLens 100K from the folder `dir`: `u.data` grouped by user (users in increasing id
/// order), each user's ratings sorted by timestamp, ties by item id; ratings kept per
/// interaction. `u.item` titles (Latin-1) become the item text if the file is present.
///
/// Errors: a `u.data` line without 4 tab-separated fields or with a non-numeric field.
pub fn load_movielens(dir: &Path, seed: u64) -> Result<SeqData> {
    let path = dir.join("u.data");
    let text = latin1(&read_bytes(
        &path,
        "expected the MovieLens 100K folder (ml-100k) with u.data; pass --data-dir or set MTREC_DATA",
    )?);
    // user → (timestamp, item, rating)
    let mut by_user: HashMap<u64, Vec<(u64, u64, f32)>> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 4 {
            return Err(bad(
                &path,
                i + 1,
                f.len().min(4),
                "line",
                line,
                "4 tab-separated fields: user, item, rating, timestamp",
            ));
        }
        let num = |c: usize, name: &str| -> Result<u64> {
            f[c].trim()
                .parse::<u64>()
                .map_err(|_| bad(&path, i + 1, c + 1, name, f[c], "a whole number"))
        };
        let (user, item, time) = (num(0, "user id")?, num(1, "item id")?, num(3, "timestamp")?);
        let rating: f32 = f[2]
            .trim()
            .parse()
            .ok()
            .filter(|r: &f32| r.is_finite())
            .ok_or_else(|| bad(&path, i + 1, 3, "rating", f[2], "a number (1-5)"))?;
        by_user.entry(user).or_default().push((time, item, rating));
    }
    let mut user_ids: Vec<u64> = by_user.keys().copied().collect();
    user_ids.sort_unstable();
    let mut users = Vec::with_capacity(user_ids.len());
    let mut seqs = Vec::with_capacity(user_ids.len());
    let mut ratings = Vec::with_capacity(user_ids.len());
    for u in user_ids {
        let mut rows = by_user.remove(&u).unwrap_or_default();
        rows.sort_unstable_by_key(|r| (r.0, r.1));
        users.push(u.to_string());
        seqs.push(rows.iter().map(|r| r.1.to_string()).collect());
        ratings.push(rows.iter().map(|r| r.2).collect());
    }
    let mut data = SeqData::from_raw("ml-100k", users, seqs, Some(ratings), seed)?;
    let item_path = dir.join("u.item");
    if item_path.is_file() {
        let raw = latin1(&read_bytes(&item_path, "the item file of MovieLens 100K")?);
        let index: HashMap<&str, usize> = data
            .item_keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.as_str(), i))
            .collect();
        let mut texts = vec![String::new(); data.num_items + 1];
        for line in raw.lines() {
            let mut f = line.split('|');
            if let (Some(id), Some(title)) = (f.next(), f.next()) {
                if let Some(&i) = index.get(id.trim()) {
                    texts[i] = title.trim().to_string();
                }
            }
        }
        data.item_text = texts;
    }
    Ok(data)
}
