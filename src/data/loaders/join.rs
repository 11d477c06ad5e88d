//! `[[data.join]]`: a left join of side tables (items, users) into the rows of the
//! data files, on a key column, after any loader.
//!
//! ```text
//! for each side table j (in order):
//!   read j with the ingest reader (limits, encodings, bad rows as for [data])
//!   index   key text → side row            a repeated key: error naming both lines
//!   check   every joined name (prefix + column) is new: not a column of the data
//!           files, nor of an earlier side table; else an error suggesting `prefix`
//! read the data files, keeping the needed columns that no side table gives + the keys
//! check   the key of each j is a column of the data files or one joined by an
//!         earlier side table (chained: ratings → items on item_id → categories on
//!         category_id); else an error naming j (a later j gives it: order or cycle)
//! for each side table j (in order), each row r:
//!   key(r) a missing marker (data.missing_values)  → the joined cells are that marker
//!   key(r) in the index                            → the joined cells are its side row's
//!   otherwise                                      → data.bad_rows: error at file:line
//!                                                    naming the key and the side table,
//!                                                    or skip r (counted and listed)
//! ```
//!
//! Joined columns are interned like every column: a joined column is the side column's
//! dictionary and, per row, the code of its side row, so joining costs one `u32` per
//! row and column.

use super::resolve;
use crate::config::{BadRows, DataConfig, JoinConfig};
use crate::data::ingest::{self, RawColumn, RawTable};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::Path;

/// One side table read and indexed.
pub(crate) struct Side {
    pub(crate) join: JoinConfig,
    /// The side table's path as shown in messages.
    pub(crate) shown: String,
    pub(crate) table: RawTable,
    /// Key text → side row.
    pub(crate) index: HashMap<String, usize>,
    /// (side column, name in the rows) of each joined column.
    pub(crate) outputs: Vec<(String, String)>,
}

/// The side tables of `cfg.join` read, indexed and checked once, ready to join into
/// any rows of the data files: all of them ([`read_joined`]) or one chunk at a time
/// (`mtrec predict`, [`super::stream_table`]).
pub(super) struct Joiner {
    cfg: DataConfig,
    sides: Vec<Side>,
    main_names: Vec<String>,
    needed: Vec<String>,
    /// The columns the data files must give: the needed ones and the keys that no side
    /// table gives (a chained key comes from the earlier join that gives it).
    main_needed: Vec<String>,
    /// The joined columns to build: the needed ones and the keys of later joins.
    keep: Vec<String>,
}

/// The rows of `cfg` (read by `read_rows` from the columns it is given) with the
/// side tables of `cfg.join` joined in, keeping the columns `needed` (in that order;
/// empty: all columns).
pub(super) fn read_joined(
    cfg: &DataConfig,
    data_dir: &Path,
    needed: &[&str],
    main_names: &[String],
    read_rows: impl FnOnce(&[&str]) -> Result<RawTable>,
) -> Result<RawTable> {
    let joiner = Joiner::new(cfg, data_dir, needed, main_names)?;
    let table = read_rows(&joiner.main_needed())?;
    joiner.join(table, true)
}

/// The columns of the data files before any join: the loader's own, or the header
/// (or `columns`) of the first file. Missing keys are reported at their place here.
pub(crate) fn main_names(cfg: &DataConfig, data_dir: &Path) -> Result<Vec<String>> {
    Ok(match super::loader_columns(cfg.loader) {
        Some(cols) => cols.iter().map(|c| c.to_string()).collect(),
        None => ingest::read_header(cfg, data_dir)?,
    })
}

/// Reads and indexes every side table of `cfg.join` (in config order) and checks the
/// joined names (no clash) and the keys (each given by the data files or an earlier
/// join). Shared by the in-memory join, `mtrec predict`'s chunks and the streamed
/// cache build.
pub(crate) fn read_sides(
    cfg: &DataConfig,
    data_dir: &Path,
    main_names: &[String],
) -> Result<Vec<Side>> {
    let mut sides: Vec<Side> = Vec::new();
    for (i, j) in cfg.join.iter().enumerate() {
        let side = read_side(i, j, cfg, data_dir)?;
        for (col, name) in &side.outputs {
            let earlier = sides
                .iter()
                .position(|s| s.outputs.iter().any(|(_, n)| n == name));
            let clash = if main_names.contains(name) {
                "a column of the data files".to_string()
            } else if let Some(k) = earlier {
                format!("a column joined by data.join[{k}] ({})", sides[k].shown)
            } else {
                continue;
            };
            return Err(Error::Config {
                what: format!("data.join[{i}]"),
                message: format!(
                    "column `{col}` of the side table {} would be joined as `{name}`, which is already {clash}; set a prefix on this join (e.g. prefix = \"{}\" joins it as `{}{col}`), or leave the column out with take = [...]",
                    side.shown,
                    suggested_prefix(&side.shown),
                    suggested_prefix(&side.shown)
                ),
            });
        }
        sides.push(side);
    }
    check_keys(&sides, main_names)?;
    Ok(sides)
}

/// The columns the data files must give (the needed ones and the keys that no side
/// table gives; a chained key comes from the earlier join that gives it), and the
/// joined columns to build (the needed ones and the keys of later joins). `needed`
/// empty: every column (both lists empty).
pub(crate) fn main_and_keep<'n>(
    sides: &'n [Side],
    needed: &[&'n str],
) -> (Vec<&'n str>, Vec<&'n str>) {
    let joined = |n: &str| sides.iter().any(|s| s.outputs.iter().any(|(_, o)| o == n));
    let keys: Vec<&'n str> = sides.iter().map(|s| s.join.keys().0).collect();
    let mut main_needed: Vec<&str> = Vec::new();
    if !needed.is_empty() {
        for n in needed.iter().chain(&keys).copied().filter(|n| !joined(n)) {
            if !main_needed.contains(&n) {
                main_needed.push(n);
            }
        }
    }
    let mut keep: Vec<&str> = needed.to_vec();
    if !needed.is_empty() {
        keep.extend(keys.iter().copied());
    }
    (main_needed, keep)
}

impl Joiner {
    /// Reads and checks the side tables of `cfg.join` (see the module docs).
    pub(super) fn new(
        cfg: &DataConfig,
        data_dir: &Path,
        needed: &[&str],
        main_names: &[String],
    ) -> Result<Joiner> {
        let sides = read_sides(cfg, data_dir, main_names)?;
        let (main_needed, keep) = main_and_keep(&sides, needed);
        let owned = |v: Vec<&str>| v.into_iter().map(str::to_string).collect::<Vec<_>>();
        let (main_needed, keep) = (owned(main_needed), owned(keep));
        Ok(Joiner {
            cfg: cfg.clone(),
            main_names: main_names.to_vec(),
            needed: needed.iter().map(|s| s.to_string()).collect(),
            main_needed,
            keep,
            sides,
        })
    }

    /// The columns to read from the data files (empty: all).
    pub(super) fn main_needed(&self) -> Vec<&str> {
        self.main_needed.iter().map(String::as_str).collect()
    }

    /// One line per side table that dropped rows of its own (`data.bad_rows = "skip"`):
    /// `items.csv: 1 unreadable row left out of the side table of data.join[0] (line 7:
    /// …)`. For scoring ([`super::load_table_scoring`], [`super::stream_table`]): such a
    /// row is no input row, so it is named here instead of among the rows' dropped rows.
    pub(super) fn side_notes(&self) -> Vec<String> {
        (self.sides.iter().enumerate())
            .filter(|(_, s)| !s.table.skipped.is_empty())
            .map(|(i, s)| {
                let sk = &s.table.skipped;
                let n = sk.count + sk.duplicates;
                let first = (sk.first.first()).map_or(String::new(), |r| {
                    format!(" (line {}: {})", r.line, r.reason)
                });
                format!(
                    "{}: {n} unreadable row{} left out of the side table of data.join[{i}]{first}",
                    s.shown,
                    if n == 1 { "" } else { "s" }
                )
            })
            .collect()
    }

    /// `table` (rows of the data files, the columns [`Joiner::main_needed`]) with every
    /// side table joined in, in config order, keeping the needed columns. `absorb`: the
    /// side tables' dropped rows are added to the table's (reading the data whole).
    pub(super) fn join(&self, mut table: RawTable, absorb: bool) -> Result<RawTable> {
        let keep: Vec<&str> = self.keep.iter().map(String::as_str).collect();
        for (i, side) in self.sides.iter().enumerate() {
            join_one(&mut table, i, side, &self.cfg, &self.main_names, &keep)?;
            if absorb {
                table.skipped.absorb(side.table.skipped.clone());
            }
        }
        if !self.needed.is_empty() {
            let needed: Vec<&str> = self.needed.iter().map(String::as_str).collect();
            keep_in_order(&mut table, &needed);
        }
        Ok(table)
    }
}

/// Checks that the key (`left_on` / `on`) of every join is a column of the data files
/// or a column joined by an earlier join (chained joins: ratings → items on `item_id`
/// → categories on `category_id`); a key that only this or a later join gives is a
/// cycle or an order to fix, and one that no table gives is an error naming it.
fn check_keys(sides: &[Side], main_names: &[String]) -> Result<()> {
    let gives = |s: &Side, n: &str| s.outputs.iter().any(|(_, o)| o == n);
    for (i, side) in sides.iter().enumerate() {
        let j = &side.join;
        let (left, _) = j.keys();
        if main_names.iter().any(|n| n == left) || sides[..i].iter().any(|s| gives(s, left)) {
            continue;
        }
        let what = format!(
            "data.join[{i}].{}",
            if j.on.is_some() { "on" } else { "left_on" }
        );
        let message = match sides.iter().position(|s| gives(s, left)) {
            Some(k) if k == i => format!(
                "`{left}` (the key of data.join[{i}], {}) is a column that this same join gives: a join cannot be keyed on its own output; key it on a column of the data files or of an earlier join",
                side.shown
            ),
            Some(k) => format!(
                "`{left}` (the key of data.join[{i}], {}) is joined only by the later data.join[{k}] ({}); joins run in config order, so move data.join[{k}] before data.join[{i}] (if data.join[{k}] is itself keyed on a column of data.join[{i}], the two form a cycle: break it)",
                side.shown, sides[k].shown
            ),
            None => {
                let earlier: Vec<String> = sides[..i]
                    .iter()
                    .flat_map(|s| s.outputs.iter().map(|(_, o)| o.clone()))
                    .collect();
                format!(
                    "`{left}` (the key of data.join[{i}], {}) is not a column of the data files ({}) nor one joined by an earlier join ({}); name the key column of the rows (left_on and right_on when the two files name it differently)",
                    side.shown,
                    main_names.join(", "),
                    if earlier.is_empty() { "none".to_string() } else { earlier.join(", ") }
                )
            }
        };
        return Err(Error::Config { what, message });
    }
    Ok(())
}

/// `item_` for `items.csv`, `user_` for `users.tsv.gz`: the file stem, singular.
fn suggested_prefix(shown: &str) -> String {
    let name = Path::new(shown)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.split('.').next().unwrap_or("side");
    let stem = stem.strip_suffix('s').unwrap_or(stem);
    format!("{stem}_")
}

/// Reads side table `i` and indexes its keys; a repeated key is an error naming both lines.
fn read_side(i: usize, j: &JoinConfig, cfg: &DataConfig, data_dir: &Path) -> Result<Side> {
    let rcfg = j.reader_config(cfg);
    let path = resolve(data_dir, &j.file);
    let shown = path.display().to_string();
    let (_, right) = j.keys();
    // a Parquet side table decodes only the key and the taken columns (projection: a
    // column of a type the reader does not support may sit in the file untaken)
    let mut projected: Vec<&str> = Vec::new();
    if let (crate::config::Format::Parquet, Some(take)) = (rcfg.format, &j.take) {
        projected.push(right);
        projected.extend(take.iter().map(String::as_str).filter(|t| *t != right));
    }
    let table = ingest::read_file(&path, &rcfg, &projected)?;
    let names = table.names.clone();
    let key = table.column(right).ok_or_else(|| Error::Config {
        what: format!("data.join[{i}].{}", if j.on.is_some() { "on" } else { "right_on" }),
        message: format!(
            "`{right}` is not a column of the side table {shown} ({}); name its key column (right_on when it differs from the data files' name)",
            names.join(", ")
        ),
    })?;
    let key_field = names.iter().position(|n| n == right).map_or(1, |p| p + 1);
    // one row per key: rows with the same text share their code
    let mut first: Vec<Option<usize>> = vec![None; key.dict.len()];
    for (row, &code) in key.values.iter().enumerate() {
        if let Some(before) = first[code as usize] {
            let k = key.get(row);
            return Err(Error::Input {
                path: shown.clone(),
                line: table.source[row].line as usize,
                column: key_field,
                what: format!("column `{right}` (the key of data.join[{i}])"),
                seen: format!("key `{}` again; {} has it already", ingest::excerpt(k.as_bytes()), table.locate(before)),
                expected: format!(
                    "one row per key in a side table ({} and {} both have key `{}`); remove or merge one of the two rows",
                    table.locate(before),
                    table.locate(row),
                    ingest::excerpt(k.as_bytes())
                ),
            });
        }
        first[code as usize] = Some(row);
    }
    let index: HashMap<String, usize> = first
        .iter()
        .enumerate()
        .filter_map(|(code, row)| Some((key.dict[code].clone(), (*row)?)))
        .collect();
    let take: Vec<String> = match &j.take {
        Some(t) => t.clone(),
        None => names.iter().filter(|n| *n != right).cloned().collect(),
    };
    if let Some(t) = take.iter().find(|t| !names.contains(t)) {
        return Err(Error::Config {
            what: format!("data.join[{i}].take"),
            message: format!(
                "names `{t}`, which is not a column of the side table {shown} ({}); fix the name",
                names.join(", ")
            ),
        });
    }
    let outputs = take.iter().map(|t| (t.clone(), j.output_name(t))).collect();
    Ok(Side {
        join: j.clone(),
        shown,
        table,
        index,
        outputs,
    })
}

/// Where row `r` of the rows finds its side row.
#[derive(Clone, Copy)]
enum Match {
    Row(usize),
    /// The key is a missing marker: the joined cells are missing too.
    Missing,
}

/// Joins `side` (table `i` of `cfg.join`) into `table`, applying `data.bad_rows` to
/// keys the side table does not have.
fn join_one(
    table: &mut RawTable,
    i: usize,
    side: &Side,
    cfg: &DataConfig,
    main_names: &[String],
    keep: &[&str],
) -> Result<()> {
    let (left, _) = side.join.keys();
    let is_missing = |t: &str| cfg.missing_values.iter().any(|m| m.trim() == t.trim());
    let key = table.column(left).expect("the key column was read").clone();
    let mut matches: Vec<Option<Match>> = Vec::with_capacity(key.len());
    let mut bad: Vec<(usize, String)> = Vec::new();
    for row in 0..key.len() {
        let k = key.get(row);
        let m = match side.index.get(k) {
            Some(&r) => Some(Match::Row(r)),
            None if is_missing(k) => Some(Match::Missing),
            None => None,
        };
        if m.is_none() {
            let seen = miss_seen(side, k);
            if cfg.bad_rows == BadRows::Error {
                let s = table.source[row];
                let (column, what, expected) = miss_error_parts(i, side, main_names);
                return Err(Error::Input {
                    path: table.files[s.file as usize].clone(),
                    line: s.line as usize,
                    column,
                    what,
                    seen,
                    expected,
                });
            }
            bad.push((row, miss_reason(side, &seen)));
        }
        matches.push(m);
    }
    table.drop_rows(&bad);
    let matches: Vec<Match> = matches.into_iter().flatten().collect();
    for (col, name) in &side.outputs {
        if !keep.is_empty() && !keep.contains(&name.as_str()) {
            continue;
        }
        let src = side.table.column(col).expect("taken columns were checked");
        let mut out = RawColumn {
            values: Vec::with_capacity(matches.len()),
            dict: src.dict.clone(),
        };
        let mut markers: HashMap<&str, u32> = HashMap::new();
        for (row, m) in matches.iter().enumerate() {
            let code = match *m {
                Match::Row(r) => src.values[r],
                Match::Missing => {
                    let k = key_text(table, left, row);
                    *markers.entry(k).or_insert_with(|| {
                        out.dict.push(k.to_string());
                        (out.dict.len() - 1) as u32
                    })
                }
            };
            out.values.push(code);
        }
        table.names.push(name.clone());
        table.columns.push(out);
    }
    Ok(())
}

/// What a key the side table lacks is: "`999` is not a key of the side table …".
pub(crate) fn miss_seen(side: &Side, key: &str) -> String {
    format!(
        "`{}` is not a key of the side table {} (column `{}`, {} keys)",
        ingest::excerpt(key.as_bytes()),
        side.shown,
        side.join.keys().1,
        side.index.len()
    )
}

/// The reason a row with a key the side table lacks is skipped (`bad_rows = "skip"`).
pub(crate) fn miss_reason(side: &Side, seen: &str) -> String {
    format!("column `{}`: {seen}", side.join.keys().0)
}

/// The error's 1-based column (the key's among `main_names`, else 1), `what` and
/// `expected` for a key side table `i` lacks (`bad_rows = "error"`).
pub(crate) fn miss_error_parts(
    i: usize,
    side: &Side,
    main_names: &[String],
) -> (usize, String, String) {
    let left = side.join.keys().0;
    let column = main_names
        .iter()
        .position(|n| n == left)
        .map_or(1, |p| p + 1);
    let what = format!(
        "column `{left}` ({}the key of data.join[{i}], {})",
        if main_names.iter().any(|n| n == left) {
            ""
        } else {
            "joined by an earlier join; "
        },
        side.shown
    );
    let expected = format!(
        "a key listed in {}; add the key to the side table, or set data.bad_rows = \"skip\" to skip such rows and list them in the report",
        side.shown
    );
    (column, what, expected)
}

fn key_text<'t>(table: &'t RawTable, left: &str, row: usize) -> &'t str {
    table.column(left).map_or("", |c| c.get(row))
}

/// Keeps the columns `needed`, in that order (each is in `table`).
fn keep_in_order(table: &mut RawTable, needed: &[&str]) {
    let mut names = Vec::with_capacity(needed.len());
    let mut columns = Vec::with_capacity(needed.len());
    for n in needed {
        if let Some(p) = table.names.iter().position(|x| x == n) {
            names.push(table.names[p].clone());
            columns.push(std::mem::take(&mut table.columns[p]));
        }
    }
    table.names = names;
    table.columns = columns;
}
