//! `mtrec eval` and `mtrec predict` on an `mtrec seq` run folder (SASRec).
//!
//! Both read the run's data again (from `--data-dir`, else the folder recorded in the
//! run's `ids.json`, else `$MTREC_DATA`, else `../shared/data`) and refuse data that gives
//! other ids than the run's `ids.json`.
//!
//! - `eval` repeats `mtrec seq`'s protocol (`train::seq::evaluate`, same batches) on the
//!   test (or validation) holdouts and prints the metrics under the names of the run's
//!   `summary.json`: they equal its `test` (`valid`) values.
//! - `predict` scores (user, item) or (history, item) pairs given with the data's own ids
//!   (see [`predict`] and docs/sequences.md, "Scoring a seq run"), ranked as the run's
//!   evaluation ranks (`train::seq::pairs`: its transition prior, its history exclusion).
//!
//! Runs with text items embed the item texts with the run's encoder (`--models-dir`,
//! `$MTREC_MODELS`, `<data-dir>/../models`) through the shared text cache.

use super::eval::{EvalArgs, Split};
use super::output::write_atomic;
use super::predict::{csv_line, PredictArgs, PredictBadRows};
use crate::data::sequences::{Holdout, IdMaps};
use crate::error::{Error, Result};
use crate::recommend::seq::SeqRecommender;
use crate::train::seq::evaluate_rule;
use crate::train::seq::pairs::score_pairs;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The data folder of a seq run: the flag, else the one recorded in `ids.json`, else
/// `$MTREC_DATA`, else `../shared/data` (`mtrec seq`'s default).
pub fn data_dir(flag: Option<&Path>, run: &Path) -> Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir.to_path_buf());
    }
    if let Some(ids) = IdMaps::read(run)? {
        if !ids.data_dir.is_empty() {
            return Ok(PathBuf::from(ids.data_dir));
        }
    }
    Ok(std::env::var_os("MTREC_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data")))
}

/// `mtrec eval --run <seq run>`.
pub fn eval(args: &EvalArgs) -> Result<()> {
    let holdouts_of = |r: &SeqRecommender| -> Result<Vec<Holdout>> {
        match args.split {
            Split::Test => Ok(r.split.test.clone()),
            Split::Valid => Ok(r.split.valid.clone()),
            other => Err(Error::Config {
                what: format!("--split {}", format!("{other:?}").to_lowercase()),
                message: "an mtrec seq run is split leave-last-out: evaluate --split test (the last item of each user) or --split valid (the second-last)".into(),
            }),
        }
    };
    let dir = data_dir(args.data_dir.as_deref(), &args.run)?;
    let r = SeqRecommender::load_with_models(&args.run, &dir, args.models_dir.as_deref())?;
    let holdouts = holdouts_of(&r)?;
    let mut g = crate::autograd::Graph::new(0);
    // the run's ranking rule (history exclusion from its config, the transition prior
    // weight its training chose on validation, from summary.json) and the batch size of
    // `mtrec seq`'s evaluation, so the numbers are the same
    let rule = r.rule();
    let m = evaluate_rule(&r.model, r.store(), &mut g, &holdouts, r.text(), 256, &rule)?;
    let m = m.into_iter().next().expect("one weight, one result");
    println!("{}", serde_json::to_string_pretty(&m).unwrap_or_default());
    Ok(())
}

/// One input row: its line and what to score, or why it cannot be scored.
struct Row {
    line: usize,
    fields: Vec<String>,
    pair: std::result::Result<Holdout, String>,
}

/// `mtrec predict --run <seq run>`: the input is CSV (or TSV when the header holds a tab)
/// with a header naming `item` and one of `user` (the user's whole sequence in the run's
/// data is the history) or `history` (original item ids separated by spaces, oldest
/// first). An unknown user or item is an error at `file:line:column` (`--bad-rows mark`:
/// the row is written with empty scores and the reason); history items not in the
/// catalogue are left out and counted on stderr.
pub fn predict(args: &PredictArgs) -> Result<()> {
    if !args.keep.is_empty() {
        return Err(Error::Config {
            what: "--keep".into(),
            message: "applies to mtrec train runs; for an mtrec seq run the input's user/history and item columns are always written (leave --keep out)".into(),
        });
    }
    let input = &args.input;
    let text = std::fs::read_to_string(input).map_err(|e| Error::Io {
        path: input.display().to_string(),
        message: format!("{e}; expected UTF-8 CSV with a header `user,item` or `history,item`"),
    })?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(bad_input(
            input,
            1,
            1,
            "header",
            "an empty file",
            "a header `user,item` or `history,item`",
        ));
    };
    let sep = if header.contains('\t') { '\t' } else { ',' };
    let head = split_fields(header, sep);
    let col = |name: &str| head.iter().position(|h| h == name);
    let (key, key_col, item_col) = match (col("user"), col("history"), col("item")) {
        (Some(u), None, Some(i)) => ("user", u, i),
        (None, Some(h), Some(i)) => ("history", h, i),
        _ => {
            return Err(bad_input(
                input,
                1,
                1,
                "header",
                header,
                "columns `item` and one of `user` (the user's sequence in the run's data) or `history` (item ids separated by spaces)",
            ))
        }
    };
    let dir = data_dir(args.data_dir.as_deref(), &args.run)?;
    let r = SeqRecommender::load_with_models(&args.run, &dir, args.models_dir.as_deref())?;
    let cols = Columns {
        sep,
        width: head.len(),
        key,
        key_col,
        item_col,
    };
    let (rows, history_unknown) = read_rows(args, &r, lines, cols)?;
    let ok: Vec<Holdout> = rows
        .iter()
        .filter_map(|r| r.pair.as_ref().ok().cloned())
        .collect();
    let scores = score_pairs(&r.model, r.store(), &ok, r.text(), &r.rule(), 256)?;
    write_predictions(args, &rows, &scores, key, key_col, item_col, &r)?;
    if history_unknown > 0 {
        eprintln!("{history_unknown} history item id(s) are not in the run's catalogue and were left out of the histories");
    }
    Ok(())
}

/// An error at `line`, `column` of the input file.
fn bad_input(
    input: &Path,
    line: usize,
    column: usize,
    what: &str,
    seen: &str,
    expected: &str,
) -> Error {
    Error::Input {
        path: input.display().to_string(),
        line,
        column,
        what: what.into(),
        seen: seen.into(),
        expected: expected.into(),
    }
}

/// The fields of one line, trimmed and unquoted.
fn split_fields(l: &str, sep: char) -> Vec<String> {
    l.split(sep)
        .map(|f| {
            let f = f.trim();
            f.strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .unwrap_or(f)
                .to_string()
        })
        .collect()
}

/// The layout of the input file, from its header.
#[derive(Clone, Copy)]
struct Columns {
    sep: char,
    /// Fields per line.
    width: usize,
    /// `"user"` or `"history"`.
    key: &'static str,
    key_col: usize,
    item_col: usize,
}

/// Reads the (user or history, item) pair of every data line. A line that cannot be
/// scored is an error, or with `--bad-rows mark` a row carrying the reason. Returns the
/// rows and the number of history items left out (not in the catalogue).
fn read_rows<'t>(
    args: &PredictArgs,
    r: &SeqRecommender,
    lines: impl Iterator<Item = (usize, &'t str)>,
    cols: Columns,
) -> Result<(Vec<Row>, usize)> {
    let input = &args.input;
    let bad = |line: usize, column: usize, what: &str, seen: &str, expected: &str| {
        bad_input(input, line, column, what, seen, expected)
    };
    let Columns {
        sep,
        width,
        key,
        key_col,
        item_col,
    } = cols;
    let users: HashMap<&str, usize> = r
        .data
        .users
        .iter()
        .enumerate()
        .map(|(i, u)| (u.as_str(), i))
        .collect();
    let items: HashMap<&str, u32> = r
        .data
        .item_keys
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, k)| (k.as_str(), i as u32))
        .collect();
    let mut history_unknown = 0usize;
    let mut rows = Vec::new();
    for (n, l) in lines {
        let f = split_fields(l, sep);
        let line = n + 1;
        let pair = (|| -> Result<Holdout> {
            if f.len() != width {
                return Err(bad(
                    line,
                    f.len().min(width) + 1,
                    "line",
                    l,
                    &format!("{width} fields as in the header"),
                ));
            }
            let item = &f[item_col];
            let target = *items.get(item.as_str()).ok_or_else(|| {
                bad(
                    line,
                    item_col + 1,
                    "item",
                    item,
                    "an item of the run's catalogue (the `items` of its ids.json)",
                )
            })?;
            let (user, history) = if key == "user" {
                let u = *users.get(f[key_col].as_str()).ok_or_else(|| {
                    bad(line, key_col + 1, "user", &f[key_col], "a user of the run's data (the `users` of its ids.json); for a new user give a `history` column instead")
                })?;
                (u, r.data.seqs[u].clone())
            } else {
                let mut h = Vec::new();
                for id in f[key_col].split_whitespace() {
                    match items.get(id) {
                        Some(&i) => h.push(i),
                        None => history_unknown += 1,
                    }
                }
                (0, h)
            };
            Ok(Holdout {
                user,
                history,
                target,
                rating: None,
            })
        })();
        let pair = match pair {
            Ok(p) => Ok(p),
            Err(e) if args.bad_rows == PredictBadRows::Mark => Err(e.to_string()),
            Err(e) => return Err(e),
        };
        rows.push(Row {
            line,
            fields: f,
            pair,
        });
    }
    Ok((rows, history_unknown))
}

fn write_predictions(
    args: &PredictArgs,
    rows: &[Row],
    scores: &[crate::train::seq::pairs::PairScore],
    key: &str,
    key_col: usize,
    item_col: usize,
    r: &SeqRecommender,
) -> Result<()> {
    let heads = [r.model.cfg.rating_head, r.model.cfg.like_head];
    let mark = args.bad_rows == PredictBadRows::Mark;
    // a run ranked with a transition prior: `score` = the logit plus the prior, which
    // `next_item` and `rank` are of
    let prior = r.prior.is_some();
    let mut head: Vec<String> = ["line", key, "item", "next_item_logit"]
        .map(String::from)
        .to_vec();
    if prior {
        head.push("score".into());
    }
    head.extend(["next_item", "rank"].map(String::from));
    for (on, name) in heads.iter().zip(["rating", "like"]) {
        if *on {
            head.push(name.into());
        }
    }
    if mark {
        head.push("error".into());
    }
    let mut text = csv_line(&head);
    let mut next = scores.iter();
    let mut failed = 0usize;
    for row in rows {
        let mut f = vec![
            row.line.to_string(),
            row.fields.get(key_col).cloned().unwrap_or_default(),
            row.fields.get(item_col).cloned().unwrap_or_default(),
        ];
        let n_scores = 3 + usize::from(prior) + heads.iter().filter(|&&h| h).count();
        match &row.pair {
            Ok(_) => {
                let Some(s) = next.next() else {
                    unreachable!("one score per readable row")
                };
                f.push(format!("{:.6}", s.logit));
                if prior {
                    f.push(format!("{:.6}", s.score));
                }
                f.push(format!("{:.6e}", s.next));
                f.push(s.rank.to_string());
                f.extend(s.rating.map(|x| format!("{x:.6}")));
                f.extend(s.like.map(|x| format!("{x:.6}")));
                if mark {
                    f.push(String::new());
                }
            }
            Err(reason) => {
                failed += 1;
                f.extend(std::iter::repeat_n(String::new(), n_scores));
                f.push(reason.clone());
            }
        }
        text.push_str(&csv_line(&f));
    }
    write_atomic(&args.output, text.as_bytes())?;
    eprintln!(
        "wrote {} rows to {}{}",
        rows.len(),
        args.output.display(),
        if failed > 0 {
            format!(
                " ({failed} rows that cannot be scored marked in the `error` column, scores empty)"
            )
        } else {
            String::new()
        }
    );
    Ok(())
}
