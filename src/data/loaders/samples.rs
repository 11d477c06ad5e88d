//! `data.loader = "ali_ccp"`, `"aliexpress"`, `"kuairand"`: CSV files with a header,
//! read by the csv reader as the other `[data]` keys say (`header = true` for the
//! published files), plus what the data set promises:
//!
//! * the columns: every file's header (or `data.columns` when `header = false`) must
//!   have the data set's layout, checked before any row is read, so that a wrong file
//!   fails at its header line instead of at a missing feature;
//!   - Ali-CCP (ESMM paper): `click, purchase` first, then the feature columns;
//!   - AliExpress (MTReclib): exactly `search_id, categorical_1..16, numerical_1..63,
//!     click, conversion`;
//!   - KuaiRand: at least `user_id, video_id, is_click, play_time_ms, duration_ms`;
//! * the funnel: Ali-CCP `purchase = 1` and AliExpress `conversion = 1` only on rows
//!   with `click = 1` (the CTCVR task of ESMM is click × conversion). A row that breaks
//!   it is a bad row: `path:line:field` under `bad_rows = "error"`, reported under
//!   `"skip"`. Texts that are not numbers are left to the task's label rules.
//!
//! The columns are the files' own (e.g. `click`, `purchase`, `101`, ..., `D853`).

use crate::config::{BadRows, DataConfig};
use crate::data::ingest::{read_table, RawTable};
use crate::error::{Error, Result};
use std::path::Path;

use super::lines::Lines;
use super::resolve;

/// `Err((0-based field, what was seen, what was expected))` when a header does not have
/// a data set's layout.
type HeaderCheck = fn(&[String]) -> std::result::Result<(), (usize, String, String)>;

/// What one data set's files must look like.
pub(super) struct Schema {
    /// The `data.loader` value.
    pub loader: &'static str,
    check: HeaderCheck,
    /// `(earlier, later)`: `later = 1` requires `earlier = 1`.
    funnel: Option<(&'static str, &'static str)>,
}

pub(super) const ALI_CCP: Schema = Schema {
    loader: "ali_ccp",
    check: check_ali_ccp,
    funnel: Some(("click", "purchase")),
};

pub(super) const ALIEXPRESS: Schema = Schema {
    loader: "aliexpress",
    check: check_aliexpress,
    funnel: Some(("click", "conversion")),
};

pub(super) const KUAIRAND: Schema = Schema {
    loader: "kuairand",
    check: check_kuairand,
    funnel: None,
};

fn check_ali_ccp(names: &[String]) -> std::result::Result<(), (usize, String, String)> {
    for (i, want) in ["click", "purchase"].iter().enumerate() {
        match names.get(i) {
            Some(n) if n == want => {}
            seen => {
                return Err((
                    i,
                    format!("column {} is {}", i + 1, seen.map_or("missing".into(), |n| format!("`{n}`"))),
                    "`click, purchase` as the first two columns, then the feature columns (Ali-CCP as in the ESMM paper)".into(),
                ))
            }
        }
    }
    Ok(())
}

/// `search_id, categorical_1..16, numerical_1..63, click, conversion`.
pub fn aliexpress_columns() -> Vec<String> {
    let mut v = vec!["search_id".to_string()];
    v.extend((1..=16).map(|i| format!("categorical_{i}")));
    v.extend((1..=63).map(|i| format!("numerical_{i}")));
    v.push("click".into());
    v.push("conversion".into());
    v
}

fn check_aliexpress(names: &[String]) -> std::result::Result<(), (usize, String, String)> {
    let want = aliexpress_columns();
    let expected = || {
        format!(
            "the {} AliExpress columns search_id, categorical_1..16, numerical_1..63, click, conversion",
            want.len()
        )
    };
    if let Some(i) = (0..want.len().max(names.len())).find(|&i| names.get(i) != want.get(i)) {
        let seen = match (names.get(i), want.get(i)) {
            (Some(n), Some(w)) => format!("column {} is `{n}` where `{w}` belongs", i + 1),
            (None, Some(w)) => format!("{} columns, missing `{w}`", names.len()),
            (Some(n), None) => format!("{} columns, `{n}` is extra", names.len()),
            (None, None) => unreachable!("i is below the longer length"),
        };
        return Err((i.min(names.len().saturating_sub(1)), seen, expected()));
    }
    Ok(())
}

fn check_kuairand(names: &[String]) -> std::result::Result<(), (usize, String, String)> {
    let required = [
        "user_id",
        "video_id",
        "is_click",
        "play_time_ms",
        "duration_ms",
    ];
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|r| !names.iter().any(|n| n == r))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err((
        0,
        format!(
            "no column {}",
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!(
            "the KuaiRand columns {} (among others)",
            required.join(", ")
        ),
    ))
}

/// Reads `cfg.files` with the csv reader after checking each file's columns against
/// `schema`, then applies the funnel rule; keeps the columns `needed` (empty: all).
pub(super) fn read(
    schema: &Schema,
    cfg: &DataConfig,
    data_dir: &Path,
    needed: &[&str],
) -> Result<RawTable> {
    let (wanted, funnel) = prepare(schema, cfg, data_dir, needed)?;
    let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
    let mut table = read_table(cfg, data_dir, &wanted)?;
    if let Some(f) = funnel {
        f.apply(&mut table)?;
    }
    Ok(table)
}

/// The funnel rule of a data set and what to keep after it, applied to a whole table
/// ([`read`]) or to each chunk of a streamed one (`super::stream_table`): the rule
/// looks at one row at a time.
pub(super) struct Funnel {
    layouts: Vec<Vec<String>>,
    earlier: &'static str,
    later: &'static str,
    policy: BadRows,
    needed: Vec<String>,
}

/// Checks each file's columns against `schema`; returns the columns to read (`needed`
/// plus the funnel's, unless `needed` is empty: all) and the funnel rule, if any.
pub(super) fn prepare(
    schema: &Schema,
    cfg: &DataConfig,
    data_dir: &Path,
    needed: &[&str],
) -> Result<(Vec<String>, Option<Funnel>)> {
    let mut layouts: Vec<Vec<String>> = Vec::new();
    for f in &cfg.files {
        let path = resolve(data_dir, f);
        let names = names_of(schema, cfg, &path)?;
        layouts.push(names);
    }
    let mut wanted: Vec<String> = needed.iter().map(|s| s.to_string()).collect();
    let Some((earlier, later)) = schema.funnel else {
        return Ok((wanted, None));
    };
    for extra in [earlier, later] {
        if !needed.is_empty() && !needed.contains(&extra) {
            wanted.push(extra.to_string());
        }
    }
    let funnel = Funnel {
        layouts,
        earlier,
        later,
        policy: cfg.bad_rows,
        needed: wanted[..needed.len()].to_vec(),
    };
    Ok((wanted, Some(funnel)))
}

impl Funnel {
    /// Applies the rule to the rows of `table`, then keeps only the needed columns.
    pub(super) fn apply(&self, table: &mut RawTable) -> Result<()> {
        check_funnel(table, &self.layouts, self.earlier, self.later, self.policy)?;
        if !self.needed.is_empty() {
            let keep: Vec<bool> = table
                .names
                .iter()
                .map(|n| self.needed.contains(n))
                .collect();
            let mut k = keep.iter();
            table.names.retain(|_| *k.next().unwrap());
            let mut k = keep.iter();
            table.columns.retain(|_| *k.next().unwrap());
        }
        Ok(())
    }
}

/// The column names of one file (its header, or `data.columns`), checked.
fn names_of(schema: &Schema, cfg: &DataConfig, path: &Path) -> Result<Vec<String>> {
    let shown = path.display().to_string();
    let (names, line) = if cfg.header {
        let mut lines = Lines::open(path, &shown, "check data.files and --data-dir")?.limits(cfg);
        let Some(first) = lines.next_line()? else {
            return Err(Error::Io {
                path: shown,
                message: format!("is empty; expected a header line naming the columns of a data.loader = \"{}\" file", schema.loader),
            });
        };
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(cfg.delimiter_char() as u8)
            .quoting(cfg.format == crate::config::Format::Csv)
            .from_reader(first.bytes);
        let mut rec = csv::StringRecord::new();
        let _ = rdr.read_record(&mut rec);
        (
            rec.iter().map(|s| s.trim().to_string()).collect(),
            first.number,
        )
    } else {
        (cfg.columns.clone().unwrap_or_default(), 0)
    };
    match (schema.check)(&names) {
        Ok(()) => Ok(names),
        Err((field, seen, expected)) if cfg.header => Err(Error::Input {
            path: shown,
            line: line as usize,
            column: field + 1,
            what: "header".into(),
            seen,
            expected: format!(
                "{expected}; check data.files (data.loader = \"{}\")",
                schema.loader
            ),
        }),
        Err((_, seen, expected)) => Err(Error::Config {
            what: "data.columns".into(),
            message: format!(
                "{seen}; expected {expected} (data.loader = \"{}\")",
                schema.loader
            ),
        }),
    }
}

/// Rows with `later = 1` and `earlier = 0` break the funnel: an error at the first,
/// or, under [`BadRows::Skip`], dropped and recorded.
fn check_funnel(
    table: &mut RawTable,
    layouts: &[Vec<String>],
    earlier: &str,
    later: &str,
    policy: BadRows,
) -> Result<()> {
    let (Some(e), Some(l)) = (table.column(earlier), table.column(later)) else {
        return Ok(());
    };
    let is_one = |t: &str| t.trim().parse::<f64>().ok().map(|x| x >= 0.5);
    let mut bad: Vec<(usize, String)> = Vec::new();
    for row in 0..table.num_rows() {
        let (et, lt) = (e.get(row), l.get(row));
        if is_one(lt) != Some(true) || is_one(et) != Some(false) {
            continue;
        }
        let reason = format!("column `{later}`: `{lt}` while `{earlier}` is `{et}`; expected {later} = 0 on rows without a {earlier} ({later} implies {earlier})");
        if policy == BadRows::Error {
            let s = table.source[row];
            let field = layouts[s.file as usize]
                .iter()
                .position(|n| n == later)
                .map_or(0, |i| i + 1);
            return Err(Error::Input {
                path: table.files[s.file as usize].clone(),
                line: s.line as usize,
                column: field,
                what: format!("column `{later}`"),
                seen: format!("`{lt}` while `{earlier}` is `{et}`"),
                expected: format!("{later} = 0 on rows without a {earlier} ({later} implies {earlier}); fix the file, or set data.bad_rows = \"skip\" to skip such rows and list them in the report"),
            });
        }
        bad.push((row, reason));
    }
    table.drop_rows(&bad);
    Ok(())
}

/// For the streaming cache build: checks every file's columns as [`read`] does and
/// returns the funnel `(earlier, later)` of `loader`'s data set (`None` for the plain
/// `csv` loader and for KuaiRand).
pub(crate) fn stream_checks(
    loader: crate::config::data::Loader,
    cfg: &DataConfig,
    data_dir: &Path,
) -> Result<Option<(&'static str, &'static str)>> {
    use crate::config::data::Loader;
    let schema = match loader {
        Loader::AliCcp => &ALI_CCP,
        Loader::Aliexpress => &ALIEXPRESS,
        Loader::Kuairand => &KUAIRAND,
        _ => return Ok(None),
    };
    for f in &cfg.files {
        names_of(schema, cfg, &resolve(data_dir, f))?;
    }
    Ok(schema.funnel)
}
