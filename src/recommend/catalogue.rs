//! Side tables: one row per item (the catalogue) or per user, with the raw texts of
//! that side's feature columns, read from a CSV file or taken from the training rows.

use crate::data::ingest::{RawColumn, RawTable, RowSource};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::Path;

/// Rows keyed by id; `columns[c][r]` is the text of column `names[c]` in row `r`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SideTable {
    pub ids: Vec<String>,
    pub names: Vec<String>,
    pub columns: Vec<Vec<String>>,
    /// Where the rows came from, for messages and the report.
    pub origin: String,
    index: HashMap<String, usize>,
}

/// Ids that are whole numbers sort as numbers, then the rest as text.
fn id_key(id: &str) -> (bool, u64, &str) {
    match id.parse::<u64>() {
        Ok(n) => (false, n, id),
        Err(_) => (true, 0, id),
    }
}

impl SideTable {
    fn build(
        origin: String,
        names: Vec<String>,
        mut rows: Vec<(String, Vec<String>)>,
    ) -> SideTable {
        rows.sort_by(|a, b| id_key(&a.0).cmp(&id_key(&b.0)));
        let mut columns = vec![Vec::with_capacity(rows.len()); names.len()];
        let mut ids = Vec::with_capacity(rows.len());
        for (id, vals) in rows {
            for (c, v) in columns.iter_mut().zip(vals) {
                c.push(v);
            }
            ids.push(id);
        }
        let index = ids
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i))
            .collect();
        SideTable {
            ids,
            names,
            columns,
            origin,
            index,
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The row of `id`.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The column `name`, if the table has it.
    pub fn column(&self, name: &str) -> Option<&[String]> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|c| self.columns[c].as_slice())
    }

    /// The distinct ids of `rows` of `table` (column `id_col`), each with the texts of
    /// `cols` in its first row; sorted by id.
    pub fn from_rows(
        table: &RawTable,
        rows: &[usize],
        id_col: &str,
        cols: &[String],
        origin: &str,
    ) -> Result<SideTable> {
        let get = |name: &str| {
            table.column(name).ok_or_else(|| Error::Config {
                what: format!("column `{name}`"),
                message: format!("is not in the run's data ({origin}); check recommend.user_column / item_column and the feature lists"),
            })
        };
        let idc = get(id_col)?;
        let cs: Vec<&RawColumn> = cols.iter().map(|c| get(c)).collect::<Result<_>>()?;
        let mut seen = HashMap::new();
        let mut out = Vec::new();
        for &r in rows {
            let id = idc.get(r);
            if seen.insert(id.to_string(), ()).is_none() {
                out.push((
                    id.to_string(),
                    cs.iter().map(|c| c.get(r).to_string()).collect(),
                ));
            }
        }
        Ok(Self::build(origin.to_string(), cols.to_vec(), out))
    }

    /// A CSV file with a header: `id_col` and every column of `required` must be
    /// there; `optional` columns are kept when present. Ids must be unique.
    pub fn read_csv(
        path: &Path,
        id_col: &str,
        required: &[String],
        optional: &[String],
    ) -> Result<SideTable> {
        let io = |m: String| Error::Io {
            path: path.display().to_string(),
            message: m,
        };
        let mut rd = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_path(path)
            .map_err(|e| {
                io(format!(
                    "cannot read ({e}); it should be a CSV file with a header"
                ))
            })?;
        let header: Vec<String> = rd
            .headers()
            .map_err(|e| io(e.to_string()))?
            .iter()
            .map(str::to_string)
            .collect();
        let find = |n: &str| header.iter().position(|h| h == n);
        let idc = find(id_col).ok_or_else(|| {
            io(format!(
                "has no column `{id_col}` (the id column); its header is: {}",
                header.join(",")
            ))
        })?;
        let mut names = Vec::new();
        let mut at = Vec::new();
        for n in required {
            let c = find(n).ok_or_else(|| {
                io(format!(
                    "has no column `{n}`, a feature of this side; its header is: {}",
                    header.join(",")
                ))
            })?;
            names.push(n.clone());
            at.push(c);
        }
        for n in optional {
            if let Some(c) = find(n).filter(|_| !names.contains(n)) {
                names.push(n.clone());
                at.push(c);
            }
        }
        let mut rows = Vec::new();
        let mut seen = HashMap::new();
        for (line, rec) in rd.records().enumerate() {
            let rec = rec.map_err(|e| io(format!("line {}: {e}", line + 2)))?;
            let id = rec.get(idc).unwrap_or("").to_string();
            if let Some(first) = seen.insert(id.clone(), line + 2) {
                return Err(io(format!(
                    "line {}: id `{id}` repeats line {first}; give each id one row",
                    line + 2
                )));
            }
            let vals = at
                .iter()
                .map(|&c| rec.get(c).unwrap_or("").to_string())
                .collect();
            rows.push((id, vals));
        }
        Ok(Self::build(path.display().to_string(), names, rows))
    }

    /// A raw table of `n` rows: column `name` reads `value(name, row)`.
    pub fn raw_table(
        names: &[String],
        n: usize,
        origin: &str,
        value: impl Fn(usize, usize) -> String,
    ) -> RawTable {
        let mut columns = Vec::with_capacity(names.len());
        for c in 0..names.len() {
            let mut dict: Vec<String> = Vec::new();
            let mut codes: HashMap<String, u32> = HashMap::new();
            let mut values = Vec::with_capacity(n);
            for r in 0..n {
                let v = value(c, r);
                let code = *codes.entry(v.clone()).or_insert_with(|| {
                    dict.push(v);
                    (dict.len() - 1) as u32
                });
                values.push(code);
            }
            columns.push(RawColumn { values, dict });
        }
        RawTable {
            names: names.to_vec(),
            columns,
            source: (0..n)
                .map(|r| RowSource {
                    file: 0,
                    line: r as u64 + 1,
                })
                .collect(),
            files: vec![origin.to_string()],
            skipped: Default::default(),
        }
    }
}

impl SideTable {
    /// Rows in the order given (no sorting).
    pub fn from_ordered(
        origin: &str,
        names: Vec<String>,
        rows: Vec<(String, Vec<String>)>,
    ) -> SideTable {
        let mut t = SideTable {
            origin: origin.to_string(),
            names,
            ..Default::default()
        };
        t.columns = vec![Vec::with_capacity(rows.len()); t.names.len()];
        for (id, vals) in rows {
            for (c, v) in t.columns.iter_mut().zip(vals) {
                c.push(v);
            }
            t.index.insert(id.clone(), t.ids.len());
            t.ids.push(id);
        }
        t
    }
}
