//! Training sequence models (`mtrec seq`): SASRec with its heads on a leave-last-out split.
//!
//! One step:
//!
//! ```text
//! batch    B training sequences, right-padded; N target rows (every position)
//! F, M     = model.forward(batch)                (N, D), (V+1, D)
//! L_next   = CE(softmax(F·M[1..]ᵀ), next item)   full softmax over the V items
//! L_rating = MSE(rating(F ‖ M[next]), r)          MovieLens
//! L_like   = BCE(like(F ‖ M[next]), r ≥ 4)        MovieLens
//! L_kw     = BCE(keywords(F), keywords of next)   Beauty, auxiliary
//! L        = Σ_k λ_k L_k;  backward;  Adam
//! ```
//!
//! After each epoch the model is scored on the validation targets (HR@10, NDCG@10); the
//! epoch with the best validation NDCG@10 is kept, training stops after `patience` epochs
//! without improvement, and that epoch's model is scored once on the test targets.

pub mod config;
mod data;
pub mod eval;
pub mod pairs;
pub mod text;

pub use config::SeqRunConfig;
pub use data::load_data;
pub use eval::{evaluate, evaluate_rule, RankRule, SeqMetrics, LIKE_THRESHOLD};

use crate::autograd::{Graph, ParamStore, Var};
use crate::checkpoint::transfer::{freeze_groups, init_from_except};
use crate::data::sequences::{IdMaps, Keywords, SeqBatch, SeqData, SeqExample, Split};
use crate::error::{Error, Result};
use crate::loss::LossOpts;
use crate::models::sasrec::{ItemInput, SasRec, SasRecConfig};
use crate::optim::{Adam, AdamConfig, Frozen, Optimizer};
use crate::train::run::folder;
use crate::train::run::progress::epoch_bar;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::seq::SliceRandom;
use ndarray_rand::rand::SeedableRng;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Environment variable naming a file to which `fit` appends, before each epoch, one JSON
/// list: the indices into `Split::train` in that epoch's order (its batches are the
/// consecutive chunks of `train.batch_size`). For reference implementations that must
/// train on exactly mtrec's batches (reference/sasrec/train_sasrec.py `--orders`).
pub const ORDER_ENV: &str = "MTREC_SEQ_ORDER_OUT";

/// Loads the parameters of `path` (a run folder, its `model.safetensors` or a training
/// state) into `store` by name with `checkpoint::transfer`, except the item ID table and
/// the heads, which keep their fresh values; returns the names loaded. Errors if a shared
/// name has another shape or nothing could be loaded.
pub fn init_from(store: &mut ParamStore, path: &Path) -> Result<Vec<String>> {
    // another catalogue: its item table and heads mean nothing here
    let report = init_from_except(store, path, &["item.emb", "head"]).map_err(|e| match e {
        Error::Config { what, message } => Error::Config {
            what,
            message: format!("{message} (mtrec seq: use the same model.dim, blocks and data.max_len as the pretrained run)"),
        },
        e => e,
    })?;
    if report.loaded.is_empty() {
        return Err(Error::Config {
            what: format!("train.init_from ({})", report.source.display()),
            message: "no parameter of this model is in the checkpoint; pass a model.safetensors of an mtrec seq run".into(),
        });
    }
    Ok(report.loaded)
}

/// Everything a run needs besides the configuration.
pub struct SeqInputs<'a> {
    pub data: &'a SeqData,
    pub split: &'a Split,
    /// Frozen item text vectors `(V+1, text_dim)`, for models that read text.
    pub text: Option<&'a [f32]>,
    pub text_dim: usize,
}

/// How [`fit`] reports and where it writes.
#[derive(Clone, Debug, Default)]
pub struct SeqFitOptions {
    /// Run folder: config.toml, ids.json, metrics.jsonl, model.safetensors, summary.json.
    pub out: Option<PathBuf>,
    /// Train `train.quick_epochs` epochs instead of `train.epochs`.
    pub quick: bool,
    /// Progress bar on a terminal.
    pub progress: bool,
    /// One line per epoch on stderr.
    pub log: bool,
    /// The `--data-dir` the data was read from, recorded in the run's `ids.json`.
    pub data_dir: Option<PathBuf>,
    /// Called with the run folder after every epoch and at the end (`mtrec seq --report`).
    pub after_epoch: Option<fn(&Path) -> Result<()>>,
    /// Record the next-item loss as the unfused reference (`matmul` +
    /// `softmax_cross_entropy`) instead of the fused `ops::catalogue_ce`: the same results
    /// up to rounding, for the tests and benchmarks that compare the two.
    pub unfused_loss: bool,
}

/// A trained model, its parameters and what happened.
pub struct SeqFit {
    pub model: SasRec,
    pub store: ParamStore,
    pub summary: Value,
    pub best_epoch: usize,
    pub valid: SeqMetrics,
    pub test: SeqMetrics,
}

/// The model configuration implied by the run configuration and the data.
pub fn model_config(cfg: &SeqRunConfig, data: &SeqData, text_dim: usize) -> Result<SasRecConfig> {
    Ok(SasRecConfig {
        num_items: data.num_items,
        max_len: cfg.data.max_len,
        dim: cfg.model.dim,
        blocks: cfg.model.blocks,
        heads: cfg.model.heads,
        dropout: cfg.model.dropout,
        item_input: ItemInput::parse(&cfg.model.item_input)?,
        text_dim,
        keywords: cfg.model.keywords,
        rating_head: cfg.model.rating_head,
        like_head: cfg.model.like_head,
    })
}

/// Records the multi-task loss of one batch; returns `(L, [L_next, L_rating?, L_like?, L_kw?])`.
pub fn record_loss(
    g: &mut Graph,
    store: &ParamStore,
    model: &SasRec,
    cfg: &SeqRunConfig,
    batch: &SeqBatch,
    text: Option<&[f32]>,
    keywords: Option<&Keywords>,
) -> Result<(Var, Vec<Var>)> {
    let t = &cfg.train;
    let out = model.forward(g, store, &batch.input(), text)?;
    let classes: Vec<u32> = batch.targets.iter().map(|&i| i - 1).collect();
    let mut losses = vec![model.next_item_loss(g, out, &classes)?];
    let mut weights = vec![t.next_item_weight];
    if let Some(r) = &batch.ratings {
        if let Some(p) = model.rating(g, store, out, &batch.targets)? {
            losses.push(g.mse_loss(p, r, LossOpts::default())?);
            weights.push(t.rating_weight);
        }
        if let Some(z) = model.like(g, store, out, &batch.targets)? {
            let y: Vec<f32> = r.iter().map(|&x| f32::from(x >= LIKE_THRESHOLD)).collect();
            losses.push(g.bce_with_logits(z, &y, LossOpts::default())?);
            weights.push(t.like_weight);
        }
    }
    if let Some(kw) = keywords {
        if let Some(z) = model.keywords(g, store, out)? {
            let y = kw.rows(&batch.targets); // (N, K)
            losses.push(g.bce_with_logits(z, &y, LossOpts::default())?);
            weights.push(t.keyword_weight);
        }
    }
    let total = g.weighted_sum(&losses, &weights)?;
    Ok((total, losses))
}

/// The model of a run, its optimiser, and what was done to its parameters before training.
struct Built {
    mcfg: SasRecConfig,
    keywords: Option<Keywords>,
    store: ParamStore,
    model: SasRec,
    /// Parameters read from `train.init_from`.
    transferred: Vec<String>,
    /// Parameters `train.freeze` holds fixed.
    frozen_names: Vec<String>,
    opt: Box<dyn Optimizer>,
}

/// Builds the model (initial weights from `train.seed`), transfers and freezes
/// parameters as configured, and the optimiser.
fn build(cfg: &SeqRunConfig, inputs: &SeqInputs<'_>) -> Result<Built> {
    let mcfg = model_config(cfg, inputs.data, inputs.text_dim)?;
    let keywords =
        (mcfg.keywords > 0).then(|| Keywords::from_texts(&inputs.data.item_text, mcfg.keywords));
    if let Some(kw) = &keywords {
        if kw.len() < mcfg.keywords {
            return Err(Error::Config {
                what: "model.keywords".into(),
                message: format!(
                    "the item texts hold only {} distinct keywords; lower model.keywords",
                    kw.len()
                ),
            });
        }
    }
    let t = &cfg.train;
    let mut rng = StdRng::seed_from_u64(t.seed);
    let mut store = ParamStore::new();
    let model = SasRec::new(&mut store, &mcfg, &mut rng)?;
    let transferred = if t.init_from.is_empty() {
        Vec::new()
    } else {
        init_from(&mut store, Path::new(&t.init_from))?
    };
    let frozen = freeze_groups(&store, &t.freeze)?;
    let frozen_names: Vec<String> = frozen
        .iter()
        .map(|&id| store.info(id).name.clone())
        .collect();
    let adam = Adam::new(AdamConfig {
        weight_decay: t.weight_decay,
        ..AdamConfig::default()
    })?;
    let opt: Box<dyn Optimizer> = if frozen.is_empty() {
        Box::new(adam)
    } else {
        Box::new(Frozen::new(Box::new(adam), frozen))
    };
    Ok(Built {
        mcfg,
        keywords,
        store,
        model,
        transferred,
        frozen_names,
        opt,
    })
}

/// One epoch's steps over `order`, `train.batch_size` examples at a time. Returns the
/// summed total loss, the summed task losses and the number of steps.
fn train_epoch(
    g: &mut Graph,
    b: &mut Built,
    cfg: &SeqRunConfig,
    text: Option<&[f32]>,
    order: &[&SeqExample],
    bar: &indicatif::ProgressBar,
) -> Result<(f64, Vec<f64>, usize)> {
    let t = &cfg.train;
    let (mut loss_sum, mut task_sums, mut steps) = (0f64, Vec::<f64>::new(), 0usize);
    for chunk in order.chunks(t.batch_size) {
        let batch = SeqBatch::train(chunk, b.mcfg.max_len);
        g.reset();
        let (total, losses) = record_loss(
            g,
            &b.store,
            &b.model,
            cfg,
            &batch,
            text,
            b.keywords.as_ref(),
        )?;
        b.store.zero_grad();
        g.backward(total, &mut b.store)?;
        b.opt.step(&mut b.store, t.lr)?;
        loss_sum += g.scalar(total) as f64;
        task_sums.resize(losses.len(), 0.0);
        for (s, l) in task_sums.iter_mut().zip(&losses) {
            *s += g.scalar(*l) as f64;
        }
        steps += 1;
        bar.inc(chunk.len() as u64);
    }
    Ok((loss_sum, task_sums, steps))
}

/// Trains, validates every epoch, keeps the best epoch and tests it; see the module docs.
pub fn fit(cfg: &SeqRunConfig, inputs: &SeqInputs<'_>, opts: &SeqFitOptions) -> Result<SeqFit> {
    // Over 100 lines: the epoch loop updates a dozen locals (best epoch and weights,
    // patience, the log, the order file); the steps, the model build and the writing are
    // functions of their own.
    let mut b = build(cfg, inputs)?;
    b.model.set_fused_loss(!opts.unfused_loss);
    let t = &cfg.train;
    let mut g = Graph::new(t.seed);
    let text = inputs.text;
    let split = inputs.split;
    let valid_sample: Vec<_> = if t.valid_users > 0 && t.valid_users < split.valid.len() {
        let mut v = split.valid.clone();
        v.shuffle(&mut StdRng::seed_from_u64(t.seed ^ 0x7a11d));
        v.truncate(t.valid_users);
        v
    } else {
        split.valid.clone()
    };
    // held to the end: one writer per run folder
    let _lock = match &opts.out {
        Some(out) => {
            let lock = create_run_folder(out, cfg)?;
            let data_dir = opts.data_dir.clone().unwrap_or_default();
            IdMaps::of(inputs.data, &data_dir).write(out)?;
            Some(lock)
        }
        None => None,
    };
    let epochs = if opts.quick { t.quick_epochs } else { t.epochs };
    // `perm` is shuffled in place every epoch (each epoch shuffles the previous order);
    // `order` is the examples in that order
    let mut perm: Vec<usize> = (0..split.train.len()).collect();
    let order_out = std::env::var_os(ORDER_ENV).map(PathBuf::from);
    if let Some(path) = &order_out {
        write_text(path, "")?; // this run's orders only
    }
    let (mut best, mut best_epoch, mut bad) = (f64::NEG_INFINITY, 0usize, 0usize);
    let mut best_values: Vec<Vec<f32>> = Vec::new();
    let mut log = Vec::new();
    let started = Instant::now();
    let mut train_seconds = 0.0;
    // the per-epoch validation ranks like the final one, without the transition prior
    let epoch_rule = RankRule {
        exclude_history: t.exclude_history,
        ..RankRule::default()
    };
    for epoch in 0..epochs {
        perm.shuffle(&mut StdRng::seed_from_u64(
            t.seed.wrapping_add(epoch as u64 + 1),
        ));
        if let Some(path) = &order_out {
            append_line(path, &json!(perm))?;
        }
        let order: Vec<&SeqExample> = perm.iter().map(|&i| &split.train[i]).collect();
        let bar = epoch_bar(order.len(), epoch, epochs, opts.progress);
        let t0 = Instant::now();
        g.set_training(true);
        let (loss_sum, task_sums, steps) = train_epoch(&mut g, &mut b, cfg, text, &order, &bar)?;
        bar.finish_and_clear();
        let secs = t0.elapsed().as_secs_f64();
        train_seconds += secs;
        let v = evaluate_rule(
            &b.model,
            &b.store,
            &mut g,
            &valid_sample,
            text,
            256,
            &epoch_rule,
        )?
        .remove(0);
        let line = json!({
            "epoch": epoch + 1,
            "train_loss": loss_sum / steps.max(1) as f64,
            "task_losses": task_sums.iter().map(|s| s / steps.max(1) as f64).collect::<Vec<_>>(),
            "valid": v,
            "train_seconds": secs,
            "samples_per_s": order.len() as f64 / secs.max(1e-9),
        });
        if opts.log {
            eprintln!(
                "epoch {:>3}/{epochs}  loss {:.4}  valid HR@10 {:.4}  NDCG@10 {:.4}  ({} users)  {:.0}s",
                epoch + 1,
                loss_sum / steps.max(1) as f64,
                v.hr10,
                v.ndcg10,
                v.users,
                secs
            );
        }
        if let Some(out) = &opts.out {
            append_line(&out.join("metrics.jsonl"), &line)?;
            if let Some(f) = opts.after_epoch {
                f(out)?;
            }
        }
        log.push(line);
        if v.ndcg10 > best {
            best = v.ndcg10;
            best_epoch = epoch + 1;
            bad = 0;
            best_values = b.store.ids().map(|id| b.store.value(id).to_vec()).collect();
        } else {
            bad += 1;
            // patience 0: never stop early (as in `mtrec train`)
            if t.patience > 0 && bad >= t.patience {
                break;
            }
        }
    }
    let Built {
        keywords,
        mut store,
        model,
        transferred,
        frozen_names,
        ..
    } = b;
    let ids: Vec<_> = store.ids().collect();
    for (id, vals) in ids.into_iter().zip(&best_values) {
        store.value_mut(id).copy_from_slice(vals);
    }
    // counted on what the model trains on: the training part of each sequence
    let counts = crate::baselines::Transitions::fit(
        split.train.iter().map(|e| e.items.as_slice()),
        inputs.data.num_items,
    );
    let (valid, test, prior) =
        eval::final_scores(cfg, &model, &store, &mut g, split, text, &counts)?;
    let mut summary = json!({
        "dataset": inputs.data.name,
        "users": inputs.data.seqs.len(),
        "items": inputs.data.num_items,
        "interactions": inputs.data.num_interactions(),
        "short_users": split.short_users,
        "item_input": cfg.model.item_input,
        "keywords": keywords.as_ref().map_or(0, Keywords::len),
        "parameters": store.num_scalars(),
        "init_from": t.init_from,
        "transferred": transferred,
        "frozen": frozen_names,
        "epochs_run": log.len(),
        "best_epoch": best_epoch,
        "valid": valid,
        "test": test,
        "train_seconds": train_seconds,
        "total_seconds": started.elapsed().as_secs_f64(),
        "threads": rayon::current_num_threads(),
        "train_samples_per_s": (split.train.len() * log.len()) as f64 / f64::max(train_seconds, 1e-9),
        "quick": opts.quick,
        "protocol": if t.exclude_history {
            "leave-last-out; full ranking over all items less the user's history items other than the target (model and baselines); ties count against the target"
        } else {
            "leave-last-out; full ranking over all items, nothing excluded; ties count against the target"
        },
    });
    if let Some(p) = prior {
        summary["transition_prior"] = p;
    }
    add_baselines(&mut summary, cfg, inputs, &counts, &test, opts.log)?;
    if let Some(out) = &opts.out {
        write_best(out, &store, best_epoch, &summary, opts)?;
    }
    Ok(SeqFit {
        model,
        store,
        summary,
        best_epoch,
        valid,
        test,
    })
}

/// The best epoch's weights and the summary into the run folder `out`.
fn write_best(
    out: &Path,
    store: &ParamStore,
    best_epoch: usize,
    summary: &Value,
    opts: &SeqFitOptions,
) -> Result<()> {
    let mut meta = std::collections::BTreeMap::new();
    meta.insert("model".to_string(), "sasrec".to_string());
    meta.insert("best_epoch".to_string(), best_epoch.to_string());
    crate::checkpoint::save_params(out.join("model.safetensors"), store, &meta)?;
    write_text(
        &out.join("summary.json"),
        &serde_json::to_string_pretty(summary).unwrap_or_default(),
    )?;
    if let Some(f) = opts.after_epoch {
        f(out)?;
    }
    Ok(())
}

/// Scores the next-item baselines (`crate::baselines::transition`) on the test targets
/// with the model's protocol; adds `"baselines"` and `"beats_baselines"` to `summary`
/// and, with `log`, prints the table.
fn add_baselines(
    summary: &mut Value,
    cfg: &SeqRunConfig,
    inputs: &SeqInputs<'_>,
    counts: &crate::baselines::Transitions,
    test: &SeqMetrics,
    log: bool,
) -> Result<()> {
    use crate::baselines::{report, transition};
    use crate::config::baselines::BaselineKind;
    let models = crate::baselines::seq_models(cfg.baselines.as_ref());
    if models.is_empty() {
        return Ok(());
    }
    let exclude = cfg.train.exclude_history;
    let compared = |hr10: f64, ndcg10: f64| -> report::Metrics {
        let m = [("hr10".to_string(), hr10), ("ndcg10".to_string(), ndcg10)];
        [("next_item".to_string(), m.into_iter().collect())].into()
    };
    let mut scored = Vec::new();
    let mut full = serde_json::Map::new();
    for m in models {
        let r = match m {
            BaselineKind::Transition => {
                transition::evaluate_ranked(&inputs.split.test, exclude, |h| {
                    counts.transition_scores(h)
                })?
            }
            // `biases` is refused by the config's validation
            _ => transition::evaluate_ranked(&inputs.split.test, exclude, |_| {
                counts.popularity_scores()
            })?,
        };
        full.insert(m.name().to_string(), json!(r));
        scored.push((m.name().to_string(), compared(r.hr10, r.ndcg10)));
    }
    let model = compared(test.hr10, test.ndcg10);
    let verdicts = report::verdicts(&model, &scored);
    summary["baselines"] = Value::Object(full);
    if let Some(v) = report::task_verdict(&verdicts, "next_item") {
        summary["beats_baselines"] = v;
    }
    if log {
        eprint!("{}", report::table(&model, &scored, "test"));
    }
    Ok(())
}

fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| io_err(path, e))
}

fn append_line(path: &Path, v: &Value) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io_err(path, e))?;
    writeln!(f, "{v}").map_err(|e| io_err(path, e))
}

/// Locks the run folder (see `train::run::folder`) and writes the resolved config;
/// refuses a folder that holds any run file.
fn create_run_folder(out: &Path, cfg: &SeqRunConfig) -> Result<folder::RunLock> {
    let lock = folder::lock(out)?;
    let found = folder::run_files_in(out)?;
    if !found.is_empty() {
        return Err(Error::Io {
            path: out.display().to_string(),
            message: format!(
                "already holds a run ({}); pass a new --out folder or delete this one",
                found.join(", ")
            ),
        });
    }
    write_text(&out.join("config.toml"), &cfg.to_toml()?)?;
    crate::train::run::info::write_run_info(out, false)?;
    Ok(lock)
}
