//! `[[data.join]]`: side tables (an item table, a user table) whose columns are joined
//! into every row of `data.files` on a key column, so that titles, genres, categories
//! and demographics come in without a preprocessing script.
//!
//! ```toml
//! [[data.join]]
//! file = "items.csv"        # CSV / TSV, gzip'd or not, relative to --data-dir
//! on = "item_id"            # or left_on = "movie" (data files), right_on = "id" (side table)
//! take = ["title", "genre"] # optional; default: every column but the key
//! prefix = "item_"          # optional; the joined columns are item_title, item_genre
//! ```
//!
//! The side table is read by the same reader as `[data]` (`src/data/ingest/`), with the
//! limits, `trim`, `missing_values` and `bad_rows` of `[data]`; `format`, `delimiter`,
//! `header`, `columns` and `encoding` may be set per side table (unset: as `[data]`;
//! `header` unset: true unless `columns` lists the names). The join itself is in
//! `src/data/loaders/join.rs`.

use super::data::{DataConfig, Encoding, Format};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// One `[[data.join]]` table: a side table joined into the rows on a key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinConfig {
    /// The side table, relative to `--data-dir` or absolute.
    pub file: String,
    /// The key column, with the same name in the data files and the side table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
    /// The key column of the data files (with `right_on`, instead of `on`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_on: Option<String>,
    /// The key column of the side table (with `left_on`, instead of `on`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right_on: Option<String>,
    /// The side table's columns to join; unset: every column but the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub take: Option<Vec<String>>,
    /// Put before the name of every joined column (`item_` makes `title` `item_title`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
    /// Unset: `data.format`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// Unset: the side table's `format`'s own when `format` is set, else `data.delimiter`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<char>,
    /// The first line names the columns; unset: true unless `columns` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<bool>,
    /// Column names when `header = false`, one per field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// Unset: `data.encoding`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Encoding>,
}

impl JoinConfig {
    /// The key column in the data files and in the side table: `on` for both, or
    /// `left_on` and `right_on` (checked by [`JoinConfig::validate`]).
    pub fn keys(&self) -> (&str, &str) {
        let on = self.on.as_deref().unwrap_or_default();
        (
            self.left_on.as_deref().unwrap_or(on),
            self.right_on.as_deref().unwrap_or(on),
        )
    }

    /// The name a joined side-table column gets in the rows: `prefix` + `name`.
    pub fn output_name(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// How the side table is read: `data` with this table's file and its own
    /// `format` / `delimiter` / `header` / `columns` / `encoding`; no de-duplication
    /// (a repeated key is an error of the join) and no joins of its own.
    pub fn reader_config(&self, data: &DataConfig) -> DataConfig {
        let header = self.header.unwrap_or(self.columns.is_none());
        DataConfig {
            files: vec![self.file.clone()],
            format: self.format.unwrap_or(data.format),
            delimiter: match (self.delimiter, self.format) {
                (Some(delim), _) => Some(delim),
                (None, Some(_)) => None,
                (None, None) => data.delimiter,
            },
            header,
            columns: self.columns.clone(),
            encoding: self.encoding.unwrap_or(data.encoding),
            dedup: false,
            join: Vec::new(),
            ..data.clone()
        }
    }

    /// Checks the keys that need no file: a non-empty `file`, `on` or both of
    /// `left_on` / `right_on`, `header` and `columns` that agree, a usable delimiter,
    /// and unique, non-empty names in `take` and `columns`. `i` is the table's index.
    pub fn validate(&self, i: usize) -> Result<()> {
        let key = |k: &str| format!("data.join[{i}].{k}");
        let bad = |k: &str, message: String| {
            Err(Error::Config {
                what: key(k),
                message,
            })
        };
        if self.file.trim().is_empty() {
            return bad(
                "file",
                "is empty; name the side table, e.g. file = \"items.csv\"".into(),
            );
        }
        match (&self.on, &self.left_on, &self.right_on) {
            (Some(_), None, None) | (None, Some(_), Some(_)) => {}
            (None, None, None) => {
                return bad("on", "is missing; name the key column with on = \"item_id\" (or left_on and right_on when the names differ)".into())
            }
            (Some(_), _, _) => {
                return bad("on", "is set together with left_on / right_on; use on when the key has one name in both files, else left_on and right_on".into())
            }
            (None, _, _) => {
                return bad("left_on", "and right_on must both be set (left_on: the key column of the data files, right_on: that of the side table), or use on".into())
            }
        }
        let (left, right) = self.keys();
        if left.is_empty() || right.is_empty() {
            return bad(
                "on",
                "names an empty column; expected the key column's name".into(),
            );
        }
        if let Some(delim) = self.delimiter {
            if matches!(delim, '\n' | '\r' | '"') || !delim.is_ascii() {
                return bad("delimiter", format!("{delim:?} cannot separate fields; expected one ASCII character such as ',', ';', '|' or '\\t'"));
            }
        }
        match (&self.columns, self.header) {
            (None, Some(false)) => {
                return bad("columns", "is missing while header = false; list one name per field of the side table, or remove header = false".into())
            }
            (Some(_), Some(true)) => {
                return bad("columns", "is set while header = true; remove one of them (with a header the names come from the first line)".into())
            }
            _ => {}
        }
        for (k, names) in [("columns", &self.columns), ("take", &self.take)] {
            let Some(names) = names else { continue };
            if names.is_empty() {
                return bad(
                    k,
                    "is empty; list at least one column (or leave it out)".into(),
                );
            }
            let mut seen = std::collections::HashSet::new();
            for n in names {
                if n.is_empty() || !seen.insert(n) {
                    return bad(
                        k,
                        format!("names `{n}` twice or empty; names must be unique and non-empty"),
                    );
                }
            }
        }
        if let (Some(take), Some(cols)) = (&self.take, &self.columns) {
            if let Some(t) = take.iter().find(|t| !cols.contains(t)) {
                return bad(
                    "take",
                    format!(
                        "names `{t}`, which is not among columns ({}); fix the name",
                        cols.join(", ")
                    ),
                );
            }
        }
        if self
            .take
            .as_ref()
            .is_some_and(|t| t.iter().any(|t| t == right))
        {
            return bad(
                "take",
                format!(
                    "names the key `{right}`; the key is in the rows already, leave it out of take"
                ),
            );
        }
        Ok(())
    }
}
