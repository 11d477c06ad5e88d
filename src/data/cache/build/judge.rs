//! One kept-by-the-reader row → kept (its codes, numbers, labels) or dropped, by the
//! rules after the reader's (funnel, joins, values, sets), shared by CSV chunks
//! (parse.rs) and Parquet row groups (parquet.rs).

use super::cells::{trim, MissingSet};
use super::parse::{Dropped, Lookups, Missed, Parsed, Pending};
use super::plan::Plan;
use crate::config::BadRows;
use crate::data::ingest::{excerpt, parse_f32, plain_decimal, shorten};

/// A number or why not (`ingest::column::parse_number`'s rule; `parse_f32` is
/// `str::parse::<f32>` bit for bit, with a fast path).
pub(super) fn parse_number(t: &str, missing: &MissingSet<'_>) -> Result<f32, &'static str> {
    let t = trim(t);
    if missing.has(t) {
        return Ok(f32::NAN);
    }
    match parse_f32(t) {
        Some(x) if x.is_finite() => Ok(x),
        Some(_) => Err("a finite number"),
        None => Err("a number"),
    }
}

/// [`parse_number`]'s verdict without the number (pass 1 only judges the row):
/// `Ok(true)` for a missing value, `Ok(false)` for a finite number, else why not. A
/// plain decimal (most cells) is not parsed; any other text is.
fn judge_number(t: &str, missing: &MissingSet<'_>) -> Result<bool, &'static str> {
    let t = trim(t);
    if missing.has(t) {
        return Ok(true);
    }
    if plain_decimal(t.as_bytes()) {
        return Ok(false);
    }
    parse_number(t, missing).map(f32::is_nan)
}

/// The rules after the reader's for one row that the reader kept (funnel, values,
/// categorical codes), whose table column `i` reads `text(i)`: the row is kept in
/// `out` (its codes added to the chunk-local `codes`), or recorded as dropped or as the
/// first error of its column. `look`: the chunk's [`Lookups`]; `number`: its local line; `funnel_field`: the funnel's
/// `later` field in the file (1-based), for the error. Shared by the CSV chunks above
/// and Parquet row groups (parquet.rs). `value(i)`: column `i` as the `f32` its text
/// parses to where the reader has it without the text (Parquet's typed numbers, a CSV
/// cell read by `ingest::parse_cell_f32`; never a missing value), else `None` (parse
/// `text(i)`). `numbers`: every numeric feature's number of the row, where the caller
/// has read them all (parse.rs's `QuickNumbers`: none missing, each a finite
/// `parse_cell_f32`), so the per-cell rule below has nothing to decide.
#[allow(clippy::too_many_arguments)]
pub(super) fn judge_row<'p: 't, 't>(
    plan: &'p Plan,
    out: &mut Parsed,
    look: &mut Lookups<'_>,
    number: u64,
    funnel_field: usize,
    full: bool,
    text: impl Fn(usize) -> &'t str,
    value: impl Fn(usize) -> Option<f32>,
    numbers: Option<&[f32]>,
) {
    let skip = plan.cfg.data.bad_rows == BadRows::Skip;
    let fnum = plan.num.len();
    let (codes, mv, jrows) = (&mut look.codes, &look.missing, &mut look.join_rows);
    let preset = &look.preset;
    let joined = |n: usize| (0..n).map(&text).collect::<Vec<_>>().join(",");
    // text features: numbered for every decoded row, as the in-memory column is
    let mut text_codes = super::text::codes(plan, out, &mut look.text_codes, &text);
    if let Some((e, l)) = plan.funnel {
        let is_one = |t: &str| match t.trim() {
            "0" => Some(false), // the parse's answer, without the float parser
            "1" => Some(true),
            t => t.parse::<f64>().ok().map(|x| x >= 0.5),
        };
        let (et, lt) = (text(e), text(l));
        if is_one(lt) == Some(true) && is_one(et) == Some(false) {
            let (earlier, later) = (&plan.names[e], &plan.names[l]);
            if skip {
                out.funnel.push(Dropped {
                    line: number,
                    reason: format!("column `{later}`: `{lt}` while `{earlier}` is `{et}`; expected {later} = 0 on rows without a {earlier} ({later} implies {earlier})"),
                    text: shorten(&joined(plan.n_main)),
                });
            } else if out.funnel_error.is_none() {
                out.funnel_error = Some(Pending {
                    line: number,
                    column: funnel_field,
                    what: format!("column `{later}`"),
                    seen: format!("`{lt}` while `{earlier}` is `{et}`"),
                    expected: format!("{later} = 0 on rows without a {earlier} ({later} implies {earlier}); fix the file, or set data.bad_rows = \"skip\" to skip such rows and list them in the report"),
                });
            }
            return;
        }
    }
    // [[data.join]]: each key looked up (join.rs); the joined cells read as the row's
    if let Some(j) = &plan.joins {
        let resolved = j.resolve(jrows, &text);
        // joined text columns: numbered by every join the row passed (text.rs)
        let tc = &mut look.text_codes;
        super::text::joined_codes(plan, out, tc, jrows, &text, &mut text_codes);
        if let Err(miss) = resolved {
            j.missed(out, miss, jrows, number, &text, skip);
            return;
        }
    }
    let jrows = &*jrows;
    let text = |i: usize| match &plan.joins {
        Some(j) if i >= plan.n_main => j.cell(jrows, i, &text),
        _ => text(i),
    };
    // values: numeric features, then labels; the first problem is the row's reason
    let mut reason: Option<String> = None;
    let n0 = out.num.len();
    let m0 = out.missed.len();
    let row = out.line.len() as u32;
    // the caller's numbers taken whole, else each numeric cell by the rule below
    let per_cell: &[usize] = match numbers.filter(|n| full && n.len() == fnum) {
        Some(numbers) => {
            out.num.extend_from_slice(numbers);
            &[]
        }
        None => &plan.num,
    };
    for (j, &c) in per_cell.iter().enumerate() {
        // a typed number of the data file as it is (a joined cell is text); else pass 1
        // (not `full`) judges the cell without reading its number
        let typed = if c < plan.n_main { value(c) } else { None };
        let value = typed.map_or_else(
            || {
                if full {
                    parse_number(text(c), mv)
                } else {
                    judge_number(text(c), mv).map(|missing| if missing { f32::NAN } else { 0.0 })
                }
            },
            Ok,
        );
        match value {
            Ok(x) => {
                if x.is_nan() && plan.num_error[j] {
                    out.missed.push(Missed {
                        row,
                        numeric: true,
                        feature: j,
                        text: text(c).to_string(),
                    });
                }
                if full {
                    out.num.push(x);
                }
            }
            Err(expected) => {
                let name = &plan.names[c];
                if skip {
                    reason.get_or_insert_with(|| {
                        format!(
                            "column `{name}`: `{}`; expected {expected}",
                            excerpt(text(c).as_bytes())
                        )
                    });
                } else if out.value_errors[j].is_none() {
                    out.value_errors[j] = Some(Pending {
                        line: number,
                        column: plan.column_number(c),
                        what: format!("column `{name}`"),
                        seen: format!("`{}`", excerpt(text(c).as_bytes())),
                        expected: format!("{expected}; fix the value, add the text to data.missing_values, or set data.bad_rows = \"skip\""),
                    });
                }
                reason.get_or_insert_with(String::new);
            }
        }
    }
    let l0 = out.labels.len();
    for (t, (c, spec)) in plan.tasks.iter().enumerate() {
        let raw = text(*c);
        let (y, m) = if mv.has(trim(raw)) {
            (0.0, 0.0)
        } else {
            match spec.label(raw) {
                Ok(y) => (y, 1.0),
                Err(expected) => {
                    if skip {
                        reason.get_or_insert_with(|| {
                            format!(
                                "column `{}`: `{}`; expected {expected} (task `{}`)",
                                spec.column,
                                excerpt(raw.as_bytes()),
                                spec.name
                            )
                        });
                    } else if out.value_errors[fnum + t].is_none() {
                        out.value_errors[fnum + t] = Some(Pending {
                            line: number,
                            column: plan.column_number(*c),
                            what: format!("column `{}`", spec.column),
                            seen: format!("`{}`", excerpt(raw.as_bytes())),
                            expected: format!("{expected} (task `{}`); or set data.bad_rows = \"skip\" to skip such rows", spec.name),
                        });
                    }
                    reason.get_or_insert_with(String::new);
                    (0.0, 0.0)
                }
            }
        };
        if full {
            out.labels.push(y);
            out.mask.push(m);
        }
    }
    if let Some(c) = plan.split_col {
        super::split_scan::time_reason(plan, &mut reason, c, text(c));
    }
    if let Some(reason) = reason {
        out.num.truncate(n0);
        out.missed.truncate(m0);
        out.labels.truncate(l0);
        out.mask.truncate(l0);
        if skip {
            out.values.push(Dropped {
                line: number,
                reason,
                text: shorten(
                    &plan
                        .needed
                        .iter()
                        .map(|&c| text(c))
                        .collect::<Vec<_>>()
                        .join(","),
                ),
            });
        }
        return;
    }
    let cells = (plan.cat.iter().copied()).chain(plan.bags.iter().map(|b| b.0));
    for (f, c) in cells.enumerate() {
        let code = match preset.get(f).copied().flatten() {
            Some(code) => code,
            None => {
                let t = text(c);
                let (code, new) = codes[f].code(t);
                if new {
                    let missing = mv.has(trim(t));
                    out.dict[f].push((!missing).then(|| t.to_string()));
                }
                code
            }
        };
        let missed = match plan.cat_error.get(f) {
            Some(&e) => e && out.dict[f][code as usize].is_none(),
            None => {
                let b = f - plan.cat.len();
                plan.bag_error[b]
                    && super::missing::bag_missing(
                        out.dict[f][code as usize].as_deref(),
                        &plan.bags[b].1,
                        &plan.missing,
                    )
            }
        };
        if missed {
            out.missed.push(Missed {
                row,
                numeric: false,
                feature: f,
                text: text(c).to_string(),
            });
        }
        out.cat.push(code);
    }
    out.text.extend_from_slice(&text_codes);
    if let Some(c) = plan.set_col {
        super::split_stream::judge_set(plan, out, c, number, text(c));
    }
    if let Some(c) = plan.split_col {
        super::split_scan::judge(plan, out, &mut look.split_codes, c, number, text(c));
    }
    out.line.push(number as u32);
}
