//! A column of raw field texts, stored interned: one `u32` code per row and each
//! distinct text once. 100k rows × 40 columns cost ~16 MB of codes plus the distinct
//! texts, not a `String` per cell.

use std::collections::HashMap;

/// The texts of one column. Row `r` reads `dict[values[r]]`.
///
/// After rows are dropped, `dict` may hold texts that no remaining row uses: count
/// vocabularies from `values`, not from `dict`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawColumn {
    /// Code per row, `(N,)`.
    pub values: Vec<u32>,
    /// Code → text, one entry per distinct text.
    pub dict: Vec<String>,
}

/// Why a text is not a usable number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberProblem {
    /// Not a number at all (`abc`, `1,5`).
    NotANumber,
    /// `nan`, `inf`, or too large for `f32`.
    NotFinite,
}

impl NumberProblem {
    /// What the value should have been, for messages.
    pub fn expected(self) -> &'static str {
        match self {
            NumberProblem::NotANumber => "a number",
            NumberProblem::NotFinite => "a finite number",
        }
    }
}

/// A column's numbers: `values[r]` is NaN exactly where the text is a missing
/// marker; `bad` lists the rows whose text is not a finite number.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParsedNumbers {
    pub values: Vec<f32>, // (N,)
    /// Rows that hold a missing marker.
    pub missing: usize,
    /// `(row, problem)` in row order.
    pub bad: Vec<(usize, NumberProblem)>,
}

impl RawColumn {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// `true` when the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The text of row `row`. Panics if `row >= len()`.
    pub fn get(&self, row: usize) -> &str {
        &self.dict[self.values[row] as usize]
    }

    /// Parses every row as an `f32`, each distinct text once. Texts in
    /// `missing_values` (compared after trimming) become NaN and are counted;
    /// surrounding spaces are ignored; `nan` / `inf` / overflow are `NotFinite`.
    pub fn parse_f32(&self, missing_values: &[String]) -> ParsedNumbers {
        let parsed: Vec<Result<f32, NumberProblem>> = self
            .dict
            .iter()
            .map(|t| parse_number(t, missing_values))
            .collect();
        let mut out = ParsedNumbers {
            values: Vec::with_capacity(self.len()),
            ..Default::default()
        };
        for (row, &code) in self.values.iter().enumerate() {
            match parsed[code as usize] {
                Ok(x) => {
                    if x.is_nan() {
                        out.missing += 1;
                    }
                    out.values.push(x);
                }
                Err(p) => {
                    out.values.push(f32::NAN);
                    out.bad.push((row, p));
                }
            }
        }
        out
    }

    /// Keeps the rows whose `keep[r]` is true.
    pub(crate) fn retain(&mut self, keep: &[bool]) {
        let mut i = 0;
        self.values.retain(|_| {
            i += 1;
            keep[i - 1]
        });
    }
}

/// NaN for a missing marker, the number, or the problem.
fn parse_number(text: &str, missing_values: &[String]) -> Result<f32, NumberProblem> {
    let t = text.trim();
    if missing_values.iter().any(|m| m.trim() == t) {
        return Ok(f32::NAN);
    }
    match t.parse::<f32>() {
        Ok(x) if x.is_finite() => Ok(x),
        Ok(_) => Err(NumberProblem::NotFinite),
        Err(_) => Err(NumberProblem::NotANumber),
    }
}

/// Builds a [`RawColumn`] one text at a time.
#[derive(Default)]
pub(crate) struct ColumnBuilder {
    column: RawColumn,
    codes: HashMap<String, u32>,
}

impl ColumnBuilder {
    pub(crate) fn push(&mut self, text: &str) {
        let code = match self.codes.get(text) {
            Some(&c) => c,
            None => {
                let c = self.column.dict.len() as u32;
                self.column.dict.push(text.to_string());
                self.codes.insert(text.to_string(), c);
                c
            }
        };
        self.column.values.push(code);
    }

    pub(crate) fn finish(self) -> RawColumn {
        self.column
    }
}
