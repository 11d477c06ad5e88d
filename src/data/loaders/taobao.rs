//! `data.loader = "taobao"`: Taobao UserBehavior events (`UserBehavior*.csv`: `user,
//! item, category, behavior, timestamp`, comma separated, no header, gzip allowed),
//! aggregated to one row per (user, item) pair, for multi-behaviour tasks.
//!
//! # Aggregation
//!
//! Every event line with the same `(user, item)` (across all files of `data.files`)
//! falls into one pair; pairs are written in the order of their first event in the
//! files. Output columns, in this order:
//!
//! | column | value for the pair |
//! |---|---|
//! | `user_id`, `item_id` | the ids (whole numbers, written without leading zeros) |
//! | `category_id` | the category of the pair's first event in file order (Taobao moves a few items between categories over time) |
//! | `click` | `1` if any event is `pv` (a page view), else `0` |
//! | `cart`, `fav`, `buy` | `1` if any event is `cart` / `fav` / `buy`, else `0` |
//! | `first_time` | the smallest timestamp among the pair's events (for `split.kind = "temporal"`) |
//! | `n_events` | how many event lines the pair has (repeats included) |
//!
//! Each row's source is the line of the pair's first event.
//!
//! A line that is not five fields (`user, item, category, behavior, timestamp`), whose
//! ids or timestamp are not whole numbers, or whose behaviour is not one of `pv`,
//! `cart`, `fav`, `buy`, is a bad row: with `bad_rows = "error"` the run stops at
//! `path:line:field`; with `"skip"` the event is left out of every pair and reported.
//! The public prefix file's last line is cut off mid-row (`100370,1968385,1875258,pv`,
//! no line end): it is such a bad row, and the message says the file looks cut off.
//! `dedup` drops event lines that repeat an earlier one exactly before aggregating.
//! `format`, `delimiter` and `encoding` do not apply; `trim` strips spaces around fields.

use super::lines::{latin1_fields, line_text, reject, whole, BadLine, Lines};
use super::resolve;
use super::table::{check_fixed_columns, TableOut};
use crate::config::DataConfig;
use crate::data::ingest::{RawTable, RowSource};
use crate::error::Result;
use std::collections::HashMap;
use std::path::Path;

/// The columns this loader produces.
pub const COLUMNS: [&str; 9] = [
    "user_id",
    "item_id",
    "category_id",
    "click",
    "cart",
    "fav",
    "buy",
    "first_time",
    "n_events",
];

/// The fields of one event line.
const FIELDS: [&str; 5] = ["user", "item", "category", "behavior", "timestamp"];

/// The behaviours, in the order of the flag columns `click, cart, fav, buy`.
const BEHAVIORS: [&str; 4] = ["pv", "cart", "fav", "buy"];

/// The events of one (user, item) pair so far.
struct Pair {
    category: i64,
    seen: [bool; 4],
    first_time: i64,
    events: u64,
    source: RowSource,
}

/// One usable event line.
struct Event {
    user: i64,
    item: i64,
    category: i64,
    behavior: usize,
    time: i64,
}

/// Reads every file of `cfg.files` (relative paths under `data_dir`), keeping the
/// columns `needed` (in that order; empty: all of [`COLUMNS`]).
pub(super) fn read(cfg: &DataConfig, data_dir: &Path, needed: &[&str]) -> Result<RawTable> {
    check_fixed_columns(cfg, "taobao", &COLUMNS)?;
    let mut out = TableOut::new("taobao", &COLUMNS, needed)?;
    let mut index: HashMap<(i64, i64), usize> = HashMap::new();
    let mut pairs: Vec<((i64, i64), Pair)> = Vec::new();
    for f in &cfg.files {
        let path = resolve(data_dir, f);
        let shown = path.display().to_string();
        let mut lines = Lines::open(&path, &shown, "check data.files and --data-dir")?.limits(cfg);
        out.files.push(shown.clone());
        let file = (out.files.len() - 1) as u32;
        while let Some(line) = lines.next_line()? {
            if cfg.dedup && out.is_duplicate(line.bytes) {
                continue;
            }
            let fields = latin1_fields(line.bytes, b',', cfg.trim);
            let event = match parse(&fields, &line_text(line.bytes), line.cut) {
                Ok(e) => e,
                Err(bad) => {
                    reject(
                        cfg.bad_rows,
                        &mut out.skipped,
                        &shown,
                        line.number,
                        bad,
                        &line_text(line.bytes),
                    )?;
                    continue;
                }
            };
            let key = (event.user, event.item);
            let at = *index.entry(key).or_insert_with(|| {
                pairs.push((
                    key,
                    Pair {
                        category: event.category,
                        seen: [false; 4],
                        first_time: event.time,
                        events: 0,
                        source: RowSource {
                            file,
                            line: line.number,
                        },
                    },
                ));
                pairs.len() - 1
            });
            let p = &mut pairs[at].1;
            p.seen[event.behavior] = true;
            p.first_time = p.first_time.min(event.time);
            p.events += 1;
        }
    }
    for ((user, item), p) in &pairs {
        let flag = |b: bool| if b { "1" } else { "0" };
        let texts = [
            user.to_string(),
            item.to_string(),
            p.category.to_string(),
            flag(p.seen[0]).to_string(),
            flag(p.seen[1]).to_string(),
            flag(p.seen[2]).to_string(),
            flag(p.seen[3]).to_string(),
            p.first_time.to_string(),
            p.events.to_string(),
        ];
        let row: Vec<&str> = texts.iter().map(String::as_str).collect();
        out.push(&row, p.source);
    }
    Ok(out.finish())
}

/// One event line, or why it cannot be used.
fn parse(f: &[String], text: &str, cut: bool) -> std::result::Result<Event, BadLine> {
    if f.len() != FIELDS.len() {
        return Err(BadLine::field_count(f.len(), text, cut, &FIELDS));
    }
    let behavior = BEHAVIORS
        .iter()
        .position(|b| *b == f[3])
        .ok_or_else(|| BadLine::field(3, FIELDS[3], &f[3], "one of pv, cart, fav, buy"))?;
    Ok(Event {
        user: whole(0, FIELDS[0], &f[0])?,
        item: whole(1, FIELDS[1], &f[1])?,
        category: whole(2, FIELDS[2], &f[2])?,
        behavior,
        time: whole(4, FIELDS[4], &f[4])?,
    })
}
