//! `mtrec tune`: hyper-parameter search over run configs (docs/tune.md).
//!
//! ```text
//! base config + space.toml → trials (grid | random | halving) → P workers, each trial an
//! ordinary run folder trained in-process on its own thread pool → trials.jsonl (journal)
//! → leaderboard.csv → best.toml + result.json (best vs preset, valid objective and test)
//! ```
//! Trials are chosen by the validation objective only; the test split is read once per
//! trial by `mtrec train` (it always writes it to `summary.json`) but no decision looks at
//! it: [`result`] reports the best trial's and the preset's test metrics side by side.
//!
//! `--resume` replays `trials.jsonl`: finished (trial, budget) pairs are not run again; a
//! trial killed mid-run continues from its run folder's last epoch (`mtrec train
//! --resume`), or restarts when it had not finished an epoch.

pub mod board;
pub mod objective;
pub mod space;
pub mod strategy;

use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::train::run::{self, RunOptions};
use board::{trial_dir, Record};
use serde_json::{json, Value as Json};
use space::Space;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::Instant;
use strategy::{Job, Scheduler, Settings};

/// How trials are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    Grid,
    Random,
    Halving,
}

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Grid => "grid",
            Strategy::Random => "random",
            Strategy::Halving => "halving",
        }
    }
}

/// What `mtrec tune` was asked to do.
#[derive(Clone, Debug)]
pub struct TuneOptions {
    pub config: PathBuf,
    pub space: PathBuf,
    pub out: PathBuf,
    pub data_dir: PathBuf,
    pub models_dir: Option<PathBuf>,
    pub strategy: Strategy,
    /// Sampled trials (besides trial 0, the preset); grid: at most the grid's size,
    /// all of it when `None`.
    pub trials: Option<usize>,
    /// Trials trained at once.
    pub parallel: usize,
    /// Worker threads in all; each trial gets `max(1, threads / parallel)`.
    pub threads: usize,
    pub resume: bool,
    pub device: crate::device::StepDevice,
}

fn config_err(what: &str, message: impl Into<String>) -> Error {
    Error::Config {
        what: what.into(),
        message: message.into(),
    }
}

/// The settings of every trial: 0 → the base config, 1..=n → drawn by the strategy.
pub fn plan(space: &Space, strategy: Strategy, trials: Option<usize>) -> Result<Vec<Settings>> {
    let mut out: Vec<Settings> = vec![Vec::new()];
    match strategy {
        Strategy::Grid => {
            let g = strategy::grid(space)?;
            let n = trials.unwrap_or(g.len()).min(g.len());
            out.extend(g.into_iter().take(n));
        }
        Strategy::Random | Strategy::Halving => {
            let n = trials.ok_or_else(|| {
                config_err(
                    "--trials",
                    format!(
                        "give the number of trials for --strategy {}",
                        strategy.name()
                    ),
                )
            })?;
            out.extend((1..=n).map(|i| strategy::sample(space, i)));
        }
    }
    if out.len() < 2 {
        return Err(config_err("--trials", "must be at least 1"));
    }
    Ok(out)
}

/// What `--resume` must find unchanged in the search folder.
fn identity(opts: &TuneOptions, space: &str, base: &str, budgets: &[usize]) -> Json {
    json!({ "strategy": opts.strategy.name(), "space": space, "config": base, "budgets": budgets })
}

/// Creates the search folder, or checks that `--resume` continues the same search.
fn prepare_folder(opts: &TuneOptions, id: &Json) -> Result<()> {
    let out = &opts.out;
    std::fs::create_dir_all(out).map_err(|e| Error::Io {
        path: out.display().to_string(),
        message: e.to_string(),
    })?;
    let path = out.join("search.json");
    let found = std::fs::read_to_string(&path).ok();
    match (found, opts.resume) {
        (None, false) => {}
        (Some(_), false) => {
            return Err(Error::Io {
                path: out.display().to_string(),
                message: "already holds a search (search.json); continue it with --resume, or choose another --out".into(),
            })
        }
        (None, true) => {
            return Err(Error::Io {
                path: out.display().to_string(),
                message: "holds no search to resume (no search.json); start it without --resume".into(),
            })
        }
        (Some(text), true) => {
            let old: Json = serde_json::from_str(&text).unwrap_or(Json::Null);
            for k in ["strategy", "space", "config", "budgets"] {
                if old[k] != id[k] {
                    return Err(config_err(
                        "--resume",
                        format!("the search in {} was started with another {k} than given now; resume with the same --config, --space and --strategy, or choose another --out", out.display()),
                    ));
                }
            }
        }
    }
    board::write_atomic(&path, &serde_json::to_string_pretty(id).unwrap_or_default())?;
    board::write_atomic(&out.join("space.toml"), id["space"].as_str().unwrap_or(""))?;
    board::write_atomic(&out.join("base.toml"), id["config"].as_str().unwrap_or(""))
}

/// The state the workers share.
struct Shared {
    sched: Scheduler,
    records: BTreeMap<usize, Record>,
    running: Vec<usize>,
    failure: Option<Error>,
}

/// Runs the search; returns `result.json`.
pub fn tune(opts: &TuneOptions) -> Result<Json> {
    let started = Instant::now();
    let read = |p: &Path, what: &str| {
        std::fs::read_to_string(p).map_err(|e| Error::Io {
            path: p.display().to_string(),
            message: format!("cannot read the {what} ({e}); check the path"),
        })
    };
    let base_text = read(&opts.config, "run configuration")?;
    let space_text = read(&opts.space, "search space")?;
    let cfg = RunConfig::from_file(&opts.config, &[])?;
    let space = Space::from_file(&opts.space, &opts.config, &cfg)?;
    if opts.parallel == 0 {
        return Err(config_err("--parallel", "must be at least 1"));
    }
    let settings: BTreeMap<usize, Settings> = plan(&space, opts.strategy, opts.trials)?
        .into_iter()
        .enumerate()
        .collect();
    let max = cfg.train.epochs;
    let budgets = match opts.strategy {
        Strategy::Halving => strategy::rungs(space.halving.min_epochs, space.halving.eta, max),
        _ => vec![max],
    };
    let _lock = run::folder::lock(&opts.out)?;
    prepare_folder(opts, &identity(opts, &space_text, &base_text, &budgets))?;
    let n = settings.len() - 1;
    let mut sched = Scheduler::new(budgets, space.halving.eta, space.objective.maximize, n);
    let mut records = BTreeMap::new();
    if opts.resume {
        for r in board::read_journal(&opts.out)? {
            if r.trial <= n {
                sched.report(r.trial, r.epochs, r.objective);
                merge(&mut records, r);
            }
        }
        eprintln!(
            "resuming: {} trials have finished a budget already",
            records.len()
        );
    }
    let keys: Vec<String> = space.params.iter().map(|p| p.key.clone()).collect();
    let shared = Mutex::new(Shared {
        sched,
        records,
        running: Vec::new(),
        failure: None,
    });
    let wake = Condvar::new();
    let per_trial = (opts.threads / opts.parallel).max(1);
    std::thread::scope(|s| {
        for _ in 0..opts.parallel {
            s.spawn(|| worker(opts, &space, &settings, &keys, per_trial, &shared, &wake));
        }
    });
    let sh = shared.into_inner().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = sh.failure {
        return Err(e);
    }
    board::write_leaderboard(
        &opts.out,
        &keys,
        &sh.sched,
        &settings,
        &sh.records,
        &[],
        true,
    )?;
    result(
        opts,
        &space,
        &sh.sched,
        &settings,
        started.elapsed().as_secs_f64(),
    )
}

/// Keeps one record per trial: the highest budget, with the seconds of all its jobs.
fn merge(records: &mut BTreeMap<usize, Record>, mut r: Record) {
    if let Some(old) = records.get(&r.trial) {
        r.seconds += old.seconds;
    }
    records.insert(r.trial, r);
}

/// One worker: takes jobs until the scheduler has none and nothing is running.
fn worker(
    opts: &TuneOptions,
    space: &Space,
    settings: &BTreeMap<usize, Settings>,
    keys: &[String],
    threads: usize,
    shared: &Mutex<Shared>,
    wake: &Condvar,
) {
    loop {
        let job = {
            let mut sh = shared.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if sh.failure.is_some() {
                    break None;
                }
                if let Some(j) = sh.sched.next_job() {
                    sh.running.push(j.trial);
                    break Some(j);
                }
                if sh.running.is_empty() {
                    break None;
                }
                sh = wake.wait(sh).unwrap_or_else(|p| p.into_inner());
            }
        };
        let Some(job) = job else {
            wake.notify_all();
            return;
        };
        let record = run_job(opts, space, &settings[&job.trial], job, threads);
        let mut sh = shared.lock().unwrap_or_else(|p| p.into_inner());
        sh.running.retain(|&t| t != job.trial);
        let written = board::append(&opts.out, &record);
        sh.sched.report(job.trial, job.epochs, record.objective);
        merge(&mut sh.records, record);
        let board = written.and_then(|_| {
            board::write_leaderboard(
                &opts.out,
                keys,
                &sh.sched,
                settings,
                &sh.records,
                &sh.running,
                false,
            )
        });
        if let Err(e) = board {
            sh.failure.get_or_insert(e);
        }
        drop(sh);
        wake.notify_all();
    }
}

/// `key=value` overrides of a trial at `epochs` epochs.
pub fn overrides(settings: &Settings, epochs: usize) -> Vec<String> {
    let mut o: Vec<String> = settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
    o.push(format!("train.epochs={epochs}"));
    o
}

/// Trains one job in its run folder on a pool of `threads` workers: continues the folder
/// (`--resume`) when it holds a saved epoch, else starts it afresh.
fn run_job(opts: &TuneOptions, space: &Space, s: &Settings, job: Job, threads: usize) -> Record {
    let t0 = Instant::now();
    let dir = trial_dir(&opts.out, job.trial);
    let resume = dir.join("state.safetensors").is_file() && dir.join("config.toml").is_file();
    let run_opts = RunOptions {
        config: opts.config.clone(),
        data_dir: opts.data_dir.clone(),
        models_dir: opts.models_dir.clone(),
        out: dir,
        overrides: overrides(s, job.epochs),
        resume,
        overwrite: !resume,
        // a promotion changes train.epochs (recorded in config_changes.jsonl)
        allow_config_change: resume,
        progress: false,
        stop_after: None,
        device: opts.device,
    };
    let shown: Vec<String> = s.iter().map(|(k, v)| format!("{k}={v}")).collect();
    eprintln!(
        "trial {} ({} epochs{}): {}",
        job.trial,
        job.epochs,
        if resume { ", resumed" } else { "" },
        if shown.is_empty() {
            "the base config".into()
        } else {
            shown.join(" ")
        }
    );
    let summary = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| {
            config_err(
                "--threads",
                format!("could not start a trial's thread pool: {e}"),
            )
        })
        .and_then(|pool| pool.install(|| run::train(&run_opts)));
    let (objective, error) = match summary {
        Ok(sum) => match space.objective.of_summary(&sum) {
            Some(o) => (Some(o), None),
            None => (
                None,
                Some("no finite validation objective in summary.json".to_string()),
            ),
        },
        Err(e) => (None, Some(e.to_string())),
    };
    eprintln!(
        "trial {} done: objective {}",
        job.trial,
        objective.map_or_else(
            || format!("failed ({})", error.clone().unwrap_or_default()),
            |o| o.to_string()
        )
    );
    Record {
        trial: job.trial,
        epochs: job.epochs,
        objective,
        seconds: t0.elapsed().as_secs_f64(),
        error,
    }
}

/// Writes `best.toml` and `result.json`: the best trial at the full budget (by the
/// validation objective) beside trial 0 (the preset), each with its test metrics.
fn result(
    opts: &TuneOptions,
    space: &Space,
    sched: &Scheduler,
    settings: &BTreeMap<usize, Settings>,
    seconds: f64,
) -> Result<Json> {
    let top = sched.budgets.len() - 1;
    let best = sched
        .ranked(top)
        .into_iter()
        .find(|(_, o)| o.is_some())
        .ok_or_else(|| {
            config_err(
                "mtrec tune",
                format!(
                    "no trial finished with a finite objective; see the error column of {}",
                    opts.out.join("leaderboard.csv").display()
                ),
            )
        })?;
    let summary_of = |t: usize| -> Json {
        std::fs::read_to_string(trial_dir(&opts.out, t).join("summary.json"))
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(Json::Null)
    };
    let test_of = |sum: &Json| -> Json {
        let mut m = serde_json::Map::new();
        if let Some(tasks) = sum["tasks"].as_object() {
            for (k, v) in tasks {
                m.insert(k.clone(), v["test"].clone());
            }
        }
        Json::Object(m)
    };
    let cfg_src = trial_dir(&opts.out, best.0).join("config.toml");
    let text = std::fs::read_to_string(&cfg_src).map_err(|e| Error::Io {
        path: cfg_src.display().to_string(),
        message: e.to_string(),
    })?;
    board::write_atomic(&opts.out.join("best.toml"), &text)?;
    let params: serde_json::Map<String, Json> = settings[&best.0]
        .iter()
        .map(|(k, v)| (k.clone(), json!(board::cell(v))))
        .collect();
    let preset = sched.results[top].get(&0).copied().flatten();
    let (best_sum, preset_sum) = (summary_of(best.0), summary_of(0));
    let o = &space.objective;
    let res = json!({
        "strategy": opts.strategy.name(),
        "objective": { "metric": o.metric_name(), "terms": o.terms.iter().map(|(t, w)| json!({"task": t, "weight": w})).collect::<Vec<_>>(),
                       "direction": if o.maximize { "max" } else { "min" }, "split": "valid" },
        "trials": settings.len() - 1,
        "budgets": sched.budgets,
        "best": { "trial": best.0, "run": format!("trial-{:03}", best.0), "params": params,
                  "valid_objective": best.1, "test": test_of(&best_sum) },
        "preset": { "trial": 0, "run": "trial-000", "valid_objective": preset, "test": test_of(&preset_sum) },
        "seconds": seconds,
    });
    board::write_atomic(
        &opts.out.join("result.json"),
        &(serde_json::to_string_pretty(&res).unwrap_or_default() + "\n"),
    )?;
    Ok(res)
}
