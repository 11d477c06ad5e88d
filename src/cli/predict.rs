//! `mtrec predict`: rows of a file scored with a run folder's model.
//!
//! Nothing is lost and no row moves: every input row gives exactly one output row, in
//! input order, starting with the input line number (`line`), so a score can always be
//! matched to its row. A row that cannot be read is an error (`--bad-rows error`, the
//! default) or an output row with empty scores and the reason in an `error` column
//! (`--bad-rows mark`); the run's `data.bad_rows` and `data.dedup` (training choices)
//! never drop rows here. A side table's (`[[data.join]]`) unreadable row is no input
//! row: under `mark` it is left out of the side table and named on stderr, and the
//! input rows with its key are marked as keys the side table lacks. The output never replaces the input, a file of the run folder
//! or (without `--force`) any existing file, and is written atomically (see
//! [`super::output`]).
//!
//! The input is read, scored and written in chunks (`predict/stream.rs`), so a file larger than
//! memory can be scored; the bytes written are those of reading it whole. The model is
//! opened once (`predict/scorer.rs`); where the chunks come from, and which inputs are
//! read whole, is `predict/source.rs`; text features are embedded for the whole input
//! before the chunks (`predict/texts.rs`). Ensembles stream too: every member scores
//! each chunk and the outputs are fused (`stream::predict_members`).

mod scorer;
mod source;
mod stream;
mod texts;

pub(super) use stream::predict_members;

use super::output::check_output;
use crate::config::{RunConfig, TaskType};
use crate::data::ingest::RawTable;
use crate::error::{Error, Result};
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

/// `--bad-rows` of `mtrec predict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum PredictBadRows {
    /// Stop with an error naming the file, line and field; nothing is written.
    #[default]
    Error,
    /// Write the row with empty scores and the reason in an `error` column (every such
    /// row, malformed or holding a value that is not a number).
    Mark,
}

#[derive(Debug, Clone, Args)]
pub struct PredictArgs {
    /// A run folder written by `mtrec train`, or by `mtrec seq` (then --input is CSV with
    /// the columns `user,item` or `history,item` in the data's own ids; see
    /// docs/sequences.md, "Scoring a seq run").
    #[arg(long, value_name = "DIR")]
    pub run: PathBuf,
    /// Rows to score, in the same format as the training data (label columns optional).
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// Output CSV: `line` (the input line of the row), the --keep columns, then one
    /// column per task (probability for binary tasks, value for regression). Never the
    /// input file or a path inside the run folder; an existing file needs --force.
    #[arg(long, value_name = "FILE")]
    pub output: PathBuf,
    /// Replace --output if it exists (it is still never the input or a run file).
    #[arg(long)]
    pub force: bool,
    /// What to do with an input row that cannot be read (wrong field count, invalid
    /// text): `error` stops, `mark` writes it with empty scores and an `error` column.
    /// The run's `data.bad_rows` and `data.dedup` do not apply: no row is ever dropped.
    /// An unreadable row of a side table ([[data.join]]) is no input row: `error` stops,
    /// `mark` leaves it out of the side table (stderr names it) and marks the input rows
    /// with its key; the output has one row per input row, never more.
    #[arg(long, value_enum, default_value_t = PredictBadRows::Error)]
    pub bad_rows: PredictBadRows,
    /// Input columns copied beside the scores (after `line`), e.g. --keep user,item.
    /// Default: the run's categorical features (its id columns, e.g. user and item), so
    /// every score sits beside its keys.
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub keep: Vec<String>,
    /// Folder of the run's data files. Multi-task runs: the folder the run's side tables
    /// (`[[data.join]]` files, joined into every input row as in training) are relative
    /// to [default: $MTREC_DATA, then data/]; the --input path stays relative to the
    /// working directory. mtrec seq runs: the folder of the run's data, read again for
    /// the users' histories [default: the folder recorded in the run's ids.json, then
    /// $MTREC_DATA, then ../shared/data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Write no input columns: only `line` and the scores (not with --keep).
    #[arg(long, conflicts_with = "keep")]
    pub no_keys: bool,
    /// Folder of pretrained text encoders, searched first for `[features.text] encoder`
    /// [then $MTREC_MODELS, then <data-dir>/../models, then the working directory].
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
    /// No progress line on stderr (bytes of --input read, bytes/s, ETA); it is shown only
    /// when stderr is a terminal.
    #[arg(long)]
    pub quiet: bool,
}

/// One output row: a read row (its index in the table) or a row that could not be read.
pub(super) enum OutRow {
    Scored(usize),
    Failed(String),
}

pub fn predict_cmd(args: &PredictArgs) -> Result<()> {
    // Refuse a bad output path before any work.
    check_output(&args.output, &args.input, &args.run, args.force)?;
    if crate::ensemble::is_ensemble(&args.run) {
        return super::ensemble::predict(args);
    }
    if crate::recommend::seq::is_seq_run(&args.run)? {
        eprintln!("note: --input is read whole, not in chunks: {SEQ_WHOLE}");
        return super::seq_runs::predict(args);
    }
    stream::predict_streamed(args)
}

/// Why an `mtrec seq` run reads `--input` whole (docs/config.md, "Scoring a file
/// larger than memory").
const SEQ_WHOLE: &str = "an mtrec seq run scores its `user,item` / `history,item` rows against the users' histories, which are rebuilt from the run's whole data (grouped by user); its input rows are read with them";

/// Outputs as written: probabilities for binary tasks, values for regression.
pub(super) fn to_values(tasks: &[crate::config::TaskConfig], out: &[Vec<f32>]) -> Vec<Vec<f32>> {
    tasks
        .iter()
        .zip(out)
        .map(|(t, o)| match t.kind {
            TaskType::Binary => o
                .iter()
                .map(|&z| crate::ops::unary::f(crate::autograd::UnaryFn::Sigmoid, z))
                .collect(),
            TaskType::Regression => o.clone(),
        })
        .collect()
}

/// The header line: `line`, the --keep columns, one column per task, `error` (mark).
pub(super) fn header(args: &PredictArgs, cfg: &RunConfig, keep: &[String]) -> String {
    let mut head = vec!["line".to_string()];
    head.extend(keep.iter().cloned());
    head.extend(cfg.tasks.iter().map(|t| t.name.clone()));
    if args.bad_rows == PredictBadRows::Mark {
        head.push("error".into());
    }
    csv_line(&head)
}

/// The output lines of `rows` (read rows index `table` and `values[k][i]`); adds the
/// scored and the marked rows to `counts`. A score that is not finite is an error.
pub(super) fn rows_text(
    args: &PredictArgs,
    cfg: &RunConfig,
    keep: &[String],
    table: &RawTable,
    rows: &[(u64, OutRow)],
    values: &[Vec<f32>],
    counts: &mut (usize, usize),
) -> Result<String> {
    let mark = args.bad_rows == PredictBadRows::Mark;
    let mut text = String::new();
    for (line, row) in rows {
        let mut fields = vec![line.to_string()];
        match row {
            OutRow::Scored(i) => {
                for k in keep {
                    let col = table.column(k).map_or("", |c| c.get(*i));
                    fields.push(col.to_string());
                }
                for (t, o) in cfg.tasks.iter().zip(values) {
                    let v = o[*i];
                    if !v.is_finite() {
                        return Err(Error::Io {
                            path: args.input.display().to_string(),
                            message: format!(
                                "line {line}: task `{}` scores {v}; the model or the row's values are not finite (check the row's numbers and the run's model.safetensors); no output was written",
                                t.name
                            ),
                        });
                    }
                    fields.push(format!("{v:.6}"));
                }
                if mark {
                    fields.push(String::new());
                }
                counts.0 += 1;
            }
            OutRow::Failed(reason) => {
                fields.extend(std::iter::repeat_n(
                    String::new(),
                    keep.len() + cfg.tasks.len(),
                ));
                fields.push(reason.clone());
                counts.1 += 1;
            }
        }
        text.push_str(&csv_line(&fields));
    }
    Ok(text)
}

/// The stderr lines after the output is in place: rows written, rows marked, unseen ids.
pub(super) fn report(
    args: &PredictArgs,
    cfg: &RunConfig,
    (scored, failed): (usize, usize),
    unseen: &[(String, usize)],
    rows: usize,
) {
    eprintln!(
        "wrote {} rows × {} tasks to {}{}",
        scored + failed,
        cfg.tasks.len(),
        args.output.display(),
        if failed > 0 {
            format!(" ({failed} unreadable rows marked in the `error` column, scores empty)")
        } else {
            String::new()
        }
    );
    eprintln!("{}", unseen_line(unseen, rows));
}

/// The stderr line on values outside the training vocabulary, per id column.
pub(super) fn unseen_line(unseen: &[(String, usize)], rows: usize) -> String {
    if unseen.is_empty() {
        return "unseen ids: the run has no id (categorical or multi-hot) features".into();
    }
    let per: Vec<String> = unseen
        .iter()
        .map(|(c, n)| format!("{c} {n} of {rows} rows"))
        .collect();
    format!(
        "unseen ids (not in the training vocabulary, scored with the out-of-vocabulary row 0): {}",
        per.join(", ")
    )
}

/// Every row of the input in line order: the rows read, and (under `--bad-rows mark`)
/// the rows the reader could not use. Fails when unusable rows cannot all be listed.
pub(super) fn output_rows(table: &RawTable, input: &Path) -> Result<Vec<(u64, OutRow)>> {
    let sk = &table.skipped;
    if sk.duplicates > 0 || sk.count > sk.first.len() {
        return Err(Error::Io {
            path: input.display().to_string(),
            message: format!(
                "{} rows cannot be read (more than --bad-rows mark lists){}; fix the file (the first: {}) and run again",
                sk.count + sk.duplicates,
                if sk.duplicates > 0 { ", some dropped as duplicates" } else { "" },
                sk.first
                    .first()
                    .map_or(String::new(), |r| format!("line {}: {}", r.line, r.reason))
            ),
        });
    }
    let mut rows: Vec<(u64, OutRow)> = (0..table.num_rows())
        .map(|i| (table.source[i].line, OutRow::Scored(i)))
        .collect();
    rows.extend(
        sk.first
            .iter()
            .map(|r| (r.line, OutRow::Failed(r.reason.clone()))),
    );
    rows.sort_by_key(|r| r.0); // stable: the reader's order for equal lines
    Ok(rows)
}

/// One CSV line; a field with a comma, quote or line break is quoted (`"` doubled).
pub(super) fn csv_line(fields: &[String]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect();
    quoted.join(",") + "\n"
}
