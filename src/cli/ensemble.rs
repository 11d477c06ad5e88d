//! `mtrec ensemble`: run folders combined into one ensemble folder (see
//! [`crate::ensemble`] and docs/ensemble.md); and `mtrec eval` / `mtrec predict` of such
//! a folder.
//!
//! The combination is fitted on the validation split only; the test split is scored
//! once, for `summary.json`, after the fit. A member trained with `data.cache` on is
//! scored from its memory-mapped cache a mini-batch at a time, as `mtrec eval` does; the
//! labels are read from the first member's rows (in memory or in its cache), not copied.

use super::eval::{check_split, load_run, split_rows, EvalArgs, Split};
use super::predict::{predict_members, PredictArgs};
use super::train::data_dir;
use crate::config::{RunConfig, TaskConfig};
use crate::data::rows::Rows;
use crate::ensemble::check::check_agree;
use crate::ensemble::combine::{combine_all, to_raw, TaskRule};
use crate::ensemble::{is_ensemble, EnsembleFile, Method, ENSEMBLE_FILE};
use crate::error::{Error, Result};
use crate::train::run::{predict as score_split, task_metrics, Setup, TaskMetrics};
use clap::Args;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Args)]
pub struct EnsembleArgs {
    /// Two or more run folders of `mtrec train` with the same tasks, [data] and [split]
    /// (features and models may differ).
    #[arg(long, value_name = "DIR", num_args = 2.., required = true)]
    pub runs: Vec<PathBuf>,
    /// How the members' outputs are combined per task: `mean` (of probabilities),
    /// `logit_mean` (sigmoid of the mean logit), `rank_mean` (mean rank among each
    /// member's validation outputs; a score, not a probability) or `stack` (a logistic
    /// regression on the members' logits / least squares on their values, fitted on the
    /// validation split). Regression tasks: the mean value, or least squares for stack.
    #[arg(long, value_enum)]
    pub method: Method,
    /// The ensemble folder to write (must not exist, or be empty): ensemble.json, a copy
    /// of each member under members/<i>/, summary.json.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Folder of the members' data files [default: $MTREC_DATA, then data/].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Folder of pretrained text encoders [then $MTREC_MODELS, then <data-dir>/../models].
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<PathBuf>,
}

/// The files of a member run folder copied into the ensemble (its checkpoint of the
/// optimiser state and per-epoch logs are not needed to score).
const MEMBER_FILES: &[&str] = &[
    "config.toml",
    "spec.json",
    "model.safetensors",
    "data_files.json",
    "summary.json",
    "run_info.json",
];

/// One member scored on the validation and test splits: `valid[k][i]`, `test[k][i]`.
struct MemberScores {
    valid: Vec<Vec<f32>>,
    test: Vec<Vec<f32>>,
}

pub fn run(args: &EnsembleArgs) -> Result<()> {
    check_out(&args.out)?;
    let data_dir = data_dir(args.data_dir.clone());
    // 1. every member readable and in agreement with the first
    let cfgs = member_configs(args)?;
    // 2. each member's raw outputs on valid and test; the first member's rows (labels)
    let (scores, first) = member_scores(args, &data_dir)?;
    let (valid, test) = (
        split_rows(&first, Split::Valid),
        split_rows(&first, Split::Test),
    );
    // 3. the rules, fitted on the validation split only
    let tasks = &cfgs[0].tasks;
    let rules = fit_rules(args, tasks, &scores, valid)?;
    // 4. metrics of each member and of the ensemble
    let metrics = |out: &[Vec<f32>], data: &dyn Rows| task_metrics(tasks, out, data);
    let ens = |pick: fn(&MemberScores) -> &Vec<Vec<f32>>| -> Vec<Vec<f32>> {
        let m: Vec<Vec<Vec<f32>>> = scores.iter().map(|s| pick(s).clone()).collect();
        raw(&rules, &combine_all(&rules, args.method, &m))
    };
    let mut members = Vec::new();
    for (r, s) in args.runs.iter().zip(&scores) {
        members.push(json!({
            "run": r.display().to_string(),
            "model": cfgs[members.len()].model.arch.name(),
            "valid": metrics(&s.valid, valid)?,
            "test": metrics(&s.test, test)?,
        }));
    }
    let summary = json!({
        "method": args.method,
        "members": members,
        "ensemble": {
            "valid": metrics(&ens(|s| &s.valid), valid)?,
            "test": metrics(&ens(|s| &s.test), test)?,
        },
    });
    // 5. the folder
    write_folder(args, rules, &summary)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).unwrap_or_default()
    );
    Ok(())
}

/// The members' configs, each checked against the first's (`check_agree`).
fn member_configs(args: &EnsembleArgs) -> Result<Vec<RunConfig>> {
    let mut cfgs = Vec::new();
    for r in &args.runs {
        if is_ensemble(r) {
            return Err(Error::Config {
                what: "--runs".into(),
                message: format!(
                    "{} is an ensemble folder; give the run folders themselves (an ensemble of ensembles is not supported)",
                    r.display()
                ),
            });
        }
        if crate::recommend::seq::is_seq_run(r)? {
            return Err(Error::Config {
                what: "--runs".into(),
                message: format!(
                    "{} is an mtrec seq run; ensembles combine mtrec train runs",
                    r.display()
                ),
            });
        }
        let cfg = RunConfig::from_file(r.join("config.toml"), &[])?;
        if let Some(first) = cfgs.first() {
            check_agree(&args.runs[0], first, r, &cfg)?;
        }
        cfgs.push(cfg);
    }
    Ok(cfgs)
}

/// Each member's raw outputs on the validation and test splits, and the first member's
/// setup, whose rows of those splits give the labels (its training rows are dropped);
/// every member must have the same rows. A cached member's splits are read from its
/// cache a mini-batch at a time.
fn member_scores(args: &EnsembleArgs, data_dir: &Path) -> Result<(Vec<MemberScores>, Setup)> {
    let mut scores: Vec<MemberScores> = Vec::new();
    let mut first: Option<Setup> = None;
    for r in &args.runs {
        let mut setup = load_run(r, data_dir, args.models_dir.as_deref(), false)?;
        let (valid, test) = (
            split_rows(&setup, Split::Valid),
            split_rows(&setup, Split::Test),
        );
        check_split(r, &setup.cfg, Split::Valid, valid)?;
        let mut g = crate::autograd::Graph::new(0);
        let mut score = |data: &dyn Rows| {
            score_split(
                &mut g,
                &setup.input,
                setup.model.as_ref(),
                &setup.store,
                data,
                4096,
            )
        };
        let s = MemberScores {
            valid: score(valid)?,
            test: score(test)?,
        };
        if let Some(f) = &first {
            let (v, t) = (split_rows(f, Split::Valid), split_rows(f, Split::Test));
            if v.len() != valid.len() || t.len() != test.len() {
                return Err(Error::Config {
                    what: "--runs".into(),
                    message: format!(
                        "{} has {} validation and {} test rows, {} has {} and {}; the members must be trained on the same rows",
                        args.runs[0].display(), v.len(), t.len(), r.display(),
                        valid.len(), test.len()
                    ),
                });
            }
        } else {
            // only the validation and test rows are needed from here on
            setup.prepared.train = Default::default();
            setup.prepared.cold = Default::default();
            first = Some(setup);
        }
        scores.push(s);
    }
    let first = first.expect("at least two runs (clap)");
    Ok((scores, first))
}

/// Each task's combination rule, fitted on the validation split only.
fn fit_rules(
    args: &EnsembleArgs,
    tasks: &[TaskConfig],
    scores: &[MemberScores],
    valid: &dyn Rows,
) -> Result<Vec<TaskRule>> {
    let mut rules = Vec::with_capacity(tasks.len());
    for (t, task) in tasks.iter().enumerate() {
        let (labels, mask) = valid.task_column(t); // (N,) each
        let outs: Vec<Vec<f32>> = scores.iter().map(|s| s.valid[t].clone()).collect();
        rules.push(TaskRule::fit(
            &task.name,
            task.kind,
            args.method,
            &outs,
            &labels,
            &mask,
        )?);
    }
    Ok(rules)
}

/// Raw outputs (logits for binary tasks) of ensemble outputs, for `task_metrics`.
fn raw(rules: &[TaskRule], out: &[Vec<f64>]) -> Vec<Vec<f32>> {
    rules
        .iter()
        .zip(out)
        .map(|(r, o)| o.iter().map(|&v| to_raw(r.kind, v)).collect())
        .collect()
}

fn check_out(out: &Path) -> Result<()> {
    if out.exists() {
        let empty = std::fs::read_dir(out)
            .map(|mut entries| entries.next().is_none())
            .unwrap_or(false);
        if !empty {
            return Err(Error::Config {
                what: "--out".into(),
                message: format!(
                    "{} exists and is not an empty folder; choose a new path (an ensemble never overwrites files)",
                    out.display()
                ),
            });
        }
    }
    Ok(())
}

fn write_folder(args: &EnsembleArgs, tasks: Vec<TaskRule>, summary: &Value) -> Result<()> {
    let io = |p: &Path, e: std::io::Error| Error::Io {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    let mut members = Vec::new();
    for (i, r) in args.runs.iter().enumerate() {
        let rel = format!("members/{i}");
        let dst = args.out.join(&rel);
        std::fs::create_dir_all(&dst).map_err(|e| io(&dst, e))?;
        for f in MEMBER_FILES {
            let src = r.join(f);
            if src.is_file() {
                std::fs::copy(&src, dst.join(f)).map_err(|e| io(&src, e))?;
            }
        }
        copy_dir(
            &crate::train::run::text_cache_dir(r),
            &crate::train::run::text_cache_dir(&dst),
        )?;
        members.push(rel);
    }
    let file = EnsembleFile {
        method: args.method,
        members,
        sources: args.runs.iter().map(|r| r.display().to_string()).collect(),
        tasks,
    };
    let text = serde_json::to_string_pretty(summary).unwrap_or_default();
    super::output::write_atomic(&args.out.join("summary.json"), text.as_bytes())?;
    // ensemble.json last: a folder without it is not an ensemble
    let json = serde_json::to_string_pretty(&file).unwrap_or_default();
    super::output::write_atomic(&args.out.join(ENSEMBLE_FILE), json.as_bytes())
}

/// Copies the files of `src` (one level: the text cache) into `dst`, if `src` exists.
fn copy_dir(src: &Path, dst: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(src) else {
        return Ok(());
    };
    let io = |p: &Path, e: std::io::Error| Error::Io {
        path: p.display().to_string(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(dst).map_err(|e| io(dst, e))?;
    for e in entries.flatten() {
        let p = e.path();
        if p.is_file() {
            std::fs::copy(&p, dst.join(e.file_name())).map_err(|e| io(&p, e))?;
        }
    }
    Ok(())
}

/// `outs[m][k][i]`: member m's raw output of task k on row i.
type MemberOutputs = Vec<Vec<Vec<f32>>>;

/// Each member's raw outputs on one split: `members[m][k][i]`; and the first member's
/// setup, whose rows of the split give the labels (in memory, or in its data cache).
fn score_members(
    ens_dir: &Path,
    e: &EnsembleFile,
    args: &EvalArgs,
) -> Result<(MemberOutputs, Setup)> {
    let data_dir = data_dir(args.data_dir.clone());
    let mut outs = Vec::new();
    let mut first: Option<Setup> = None;
    for dir in e.member_dirs(ens_dir) {
        let setup = load_run(
            &dir,
            &data_dir,
            args.models_dir.as_deref(),
            args.allow_changed_data,
        )?;
        let data = split_rows(&setup, args.split);
        check_split(&dir, &setup.cfg, args.split, data)?;
        let mut g = crate::autograd::Graph::new(0);
        outs.push(score_split(
            &mut g,
            &setup.input,
            setup.model.as_ref(),
            &setup.store,
            data,
            4096,
        )?);
        if first.is_none() {
            first = Some(setup);
        }
    }
    let first = first.ok_or_else(|| Error::Io {
        path: ens_dir.join(ENSEMBLE_FILE).display().to_string(),
        message: "lists no members".into(),
    })?;
    if outs
        .iter()
        .any(|o| o.iter().zip(&outs[0]).any(|(a, b)| a.len() != b.len()))
    {
        return Err(Error::Io {
            path: ens_dir.display().to_string(),
            message: "the members' splits hold different numbers of rows; the data files changed since the ensemble was written".into(),
        });
    }
    Ok((outs, first))
}

/// `mtrec eval` of an ensemble folder: the split scored by every member, combined.
pub fn eval(args: &EvalArgs) -> Result<()> {
    let e = EnsembleFile::read(&args.run)?;
    let (outs, first) = score_members(&args.run, &e, args)?;
    let combined = raw(&e.tasks, &combine_all(&e.tasks, e.method, &outs));
    let data = split_rows(&first, args.split);
    let m: TaskMetrics = task_metrics(&first.cfg.tasks, &combined, data)?;
    println!("{}", serde_json::to_string_pretty(&m).unwrap_or_default());
    Ok(())
}

/// `mtrec predict` of an ensemble folder: `--input` scored by every member, combined
/// row by row; keys and row handling as for the first member. The members read the
/// input chunk by chunk together (`predict/stream.rs`).
pub fn predict(args: &PredictArgs) -> Result<()> {
    let e = EnsembleFile::read(&args.run)?;
    let dirs = e.member_dirs(&args.run);
    let fuse = |outs: &[Vec<Vec<f32>>]| -> Vec<Vec<f32>> {
        combine_all(&e.tasks, e.method, outs)
            .into_iter()
            .map(|o| o.into_iter().map(|v| v as f32).collect())
            .collect()
    };
    predict_members(args, &dirs, Some(&fuse))
}
