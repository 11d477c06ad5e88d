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

mod baselines;
mod build;
pub mod config;
mod data;
pub mod eval;
mod files;
pub mod pairs;
mod step;
pub mod text;

pub use build::{init_from, model_config};
pub use config::SeqRunConfig;
pub use data::load_data;
pub use eval::{evaluate, evaluate_rule, RankRule, SeqMetrics, LIKE_THRESHOLD};
pub use step::record_loss;

use crate::autograd::{Graph, ParamStore};
use crate::data::sequences::{IdMaps, Keywords, SeqData, SeqExample, Split};
use crate::error::Result;
use crate::models::sasrec::SasRec;
use crate::train::run::progress::epoch_bar;
use baselines::add_baselines;
use build::{build, Built};
use files::{append_line, create_run_folder, write_best, write_text};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::seq::SliceRandom;
use ndarray_rand::rand::SeedableRng;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Instant;
use step::train_epoch;

/// Environment variable naming a file to which `fit` appends, before each epoch, one JSON
/// list: the indices into `Split::train` in that epoch's order (its batches are the
/// consecutive chunks of `train.batch_size`). For reference implementations that must
/// train on exactly mtrec's batches (reference/sasrec/train_sasrec.py `--orders`).
pub const ORDER_ENV: &str = "MTREC_SEQ_ORDER_OUT";

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
