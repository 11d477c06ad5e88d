//! The record of rows that were not kept: every dropped row is counted, and the first
//! few are kept with their place and text, so that nothing is dropped silently.

/// How many dropped rows are kept with their text for the report.
pub const KEEP_FIRST: usize = 10;

/// One dropped row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedRow {
    /// The file, as named in messages.
    pub path: String,
    /// 1-based line where the row starts.
    pub line: u64,
    /// What was wrong and what was expected.
    pub reason: String,
    /// The row's text (shortened when long).
    pub text: String,
}

/// Rows dropped under `data.bad_rows = "skip"`, and duplicates under `data.dedup`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SkippedRows {
    /// Malformed rows dropped (wrong field count, invalid text, unusable values).
    pub count: usize,
    /// The first [`KEEP_FIRST`] of them (every one with `keep_all`), in file order.
    pub first: Vec<SkippedRow>,
    /// Rows dropped because they repeat an earlier row exactly (`data.dedup = true`).
    pub duplicates: usize,
    /// Keep every dropped row in `first`, not only the first [`KEEP_FIRST`]
    /// (`DataConfig::list_every_bad_row`).
    pub keep_all: bool,
}

impl SkippedRows {
    /// Counts a dropped row and keeps it if it is among the first [`KEEP_FIRST`].
    pub fn record(&mut self, path: &str, line: u64, reason: String, text: &str) {
        self.count += 1;
        if self.keep_all || self.first.len() < KEEP_FIRST {
            self.first.push(SkippedRow {
                path: path.to_string(),
                line,
                reason,
                text: shorten(text),
            });
        }
    }

    /// Adds the rows dropped from another table (a side table of `[[data.join]]`).
    pub fn absorb(&mut self, other: SkippedRows) {
        self.count += other.count;
        self.duplicates += other.duplicates;
        for r in other.first {
            if self.keep_all || self.first.len() < KEEP_FIRST {
                self.first.push(r);
            }
        }
    }

    /// `true` when no row was dropped for any reason.
    pub fn is_empty(&self) -> bool {
        self.count == 0 && self.duplicates == 0
    }

    /// Lines for the console and the run folder, e.g.
    ///
    /// ```text
    /// skipped 1 malformed row (data.bad_rows = "skip"):
    ///   UserBehavior-prefix.csv:84476: 4 fields; expected 5 fields (...)
    ///     | 100370,1968385,187525,pv
    /// ```
    pub fn report(&self) -> String {
        let mut out = String::new();
        if self.count > 0 {
            let s = if self.count == 1 { "" } else { "s" };
            out.push_str(&format!(
                "skipped {} malformed row{s} (data.bad_rows = \"skip\")",
                self.count
            ));
            if self.count > self.first.len() {
                out.push_str(&format!("; the first {}", self.first.len()));
            }
            out.push_str(":\n");
            for r in &self.first {
                out.push_str(&format!(
                    "  {}:{}: {}\n    | {}\n",
                    r.path, r.line, r.reason, r.text
                ));
            }
        }
        if self.duplicates > 0 {
            let s = if self.duplicates == 1 { "" } else { "s" };
            out.push_str(&format!(
                "dropped {} exact duplicate row{s} (data.dedup = true)\n",
                self.duplicates
            ));
        }
        if out.is_empty() {
            out.push_str("no rows skipped\n");
        }
        out
    }
}

/// At most 200 characters, with `…` where cut.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 200;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(MAX).collect();
        s.push('…');
        s
    }
}
