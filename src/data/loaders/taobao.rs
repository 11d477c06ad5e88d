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

//!
//! # One aggregation
//!
//! This loader is a preset of `data.loader = "interactions"`
//! ([`super::interactions::read::aggregate`]): fields `user, item, category, behavior,
//! time` (shown as `timestamp`), behaviours `pv, cart, fav, buy` → labels `click, cart,
//! fav, buy`, whole-number ids, comma separated, no split and no negatives. For
//! negatives, a split of the pairs and ranking, read the same files with
//! `loader = "interactions"` (`configs/taobao_implicit.toml`); `[data.interactions]`,
//! `[data.negatives]` and `[data.ranking]` are refused here.

use super::interactions::read::{aggregate, Dialect};
use super::table::{check_fixed_columns, TableOut};
use crate::config::interactions::InteractionsConfig;
use crate::config::DataConfig;
use crate::data::ingest::RawTable;
use crate::error::{Error, Result};
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

/// The fields of one event line, as messages name them.
const FIELDS: [&str; 5] = ["user", "item", "category", "behavior", "timestamp"];

/// The behaviours, in the order of the flag columns `click, cart, fav, buy`.
const BEHAVIORS: [&str; 4] = ["pv", "cart", "fav", "buy"];

/// The `[data.interactions]` this loader presets, and how it reads the lines.
pub fn preset() -> (InteractionsConfig, Dialect) {
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let ic = InteractionsConfig {
        fields: names(&["user", "item", "category", "behavior", "time"]),
        behaviors: names(&BEHAVIORS),
        labels: names(&COLUMNS[3..7]),
        ..InteractionsConfig::default()
    };
    let dialect = Dialect {
        shown: Some(names(&FIELDS)),
        whole_ids: true,
        delimiter: Some(b','),
        pair_category: true,
        behavior_hint: "",
    };
    (ic, dialect)
}

/// Reads every file of `cfg.files` (relative paths under `data_dir`), keeping the
/// columns `needed` (in that order; empty: all of [`COLUMNS`]).
pub(super) fn read(cfg: &DataConfig, data_dir: &Path, needed: &[&str]) -> Result<RawTable> {
    check_fixed_columns(cfg, "taobao", &COLUMNS)?;
    for (table, given) in [
        ("[data.interactions]", cfg.interactions.is_some()),
        ("[data.negatives]", cfg.negatives.is_some()),
        ("[data.ranking]", cfg.ranking.is_some()),
    ] {
        if given {
            return Err(Error::Config {
                what: format!("data.loader = \"taobao\" with {table}"),
                message: "the taobao loader presets the layout and makes no negatives; for negatives, a split of the pairs or ranking set data.loader = \"interactions\" with fields = [\"user\", \"item\", \"category\", \"behavior\", \"time\"] (see configs/taobao_implicit.toml)".into(),
            });
        }
    }
    let (ic, dialect) = preset();
    let inter = aggregate(cfg, &ic, &dialect, data_dir)?;
    let mut out = TableOut::new("taobao", &COLUMNS, needed)?;
    out.files = inter.files.clone();
    out.skipped = inter.skipped.clone();
    for (p, category) in inter.pairs.iter().zip(&inter.pair_category) {
        let flag = |b: usize| if p.label(b) { "1" } else { "0" };
        let (time, events) = (p.time.to_string(), p.events.to_string());
        let row = [
            inter.users[p.user as usize].as_str(),
            inter.items[p.item as usize].as_str(),
            category.as_str(),
            flag(0),
            flag(1),
            flag(2),
            flag(3),
            time.as_str(),
            events.as_str(),
        ];
        out.push(&row, p.source);
    }
    Ok(out.finish())
}
