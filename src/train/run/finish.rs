//! The end of a run ([`EpochLoop::finish`]): the best epoch's weights scored on the
//! validation, test and cold sets, the reference models beside them, `summary.json`.

use super::epochs::EpochLoop;
use super::implicit::ImplicitRun;
use super::transfer_run;
use super::{model_path, persist, predict, task_metrics, AfterEpoch, TaskMetrics};
use crate::config::RunConfig;
use crate::data::rows::Rows;
use crate::error::{Error, Result};
use serde_json::json;
use std::time::Instant;

/// What the end of a run reads besides the loop's state.
pub(super) struct Finish<'a> {
    pub baseline_plan: &'a crate::baselines::Plan,
    pub implicit_run: Option<&'a ImplicitRun>,
    pub started: Instant,
    /// [`super::Setup::data_seconds`]: `summary.json`'s `data_seconds`.
    pub data_seconds: f64,
    pub after_epoch: AfterEpoch<'a>,
}

impl EpochLoop<'_, '_> {
    /// After the last epoch. A rank that does not write returns its epoch count; the
    /// writing rank restores the best epoch's weights, scores them and writes the summary.
    pub fn finish(mut self, end: Finish<'_>) -> Result<serde_json::Value> {
        let (run, out) = (self.run, &self.run.opts.out);
        let (cfg, st) = (run.cfg, &self.st);
        if !run.writes {
            // the writing rank tests the best weights and writes the summary
            return Ok(json!({ "rank": self.sync.map(|s| s.rank()), "epochs_run": st.epoch }));
        }
        // The best epoch's weights, then the test split.
        if st.best.is_none() {
            return Err(Error::Config {
                what: "train.early_stopping".into(),
                message: format!(
                    "no epoch gave a finite valid {} of `{}`, so the run has no best model; check the validation split's labels, lower train.lr, or choose another metric",
                    self.metric_name, cfg.train.early_stopping.task
                ),
            });
        }
        let saved = persist::load_params(&model_path(out), &mut self.store)?;
        if saved.epoch.is_some_and(|e| e != st.best_epoch)
            || saved.run.as_ref().is_some_and(|r| *r != st.run_id)
        {
            return Err(Error::Io {
                path: model_path(out).display().to_string(),
                message: format!(
                    "holds epoch {:?} of run {:?}, not the best epoch {} of this run ({}): it was replaced during the run; train again with --overwrite",
                    saved.epoch, saved.run, st.best_epoch, st.run_id
                ),
            });
        }
        let valid = self.score(run.sets.valid)?;
        let test = self.score(run.sets.test)?;
        let seconds = end.started.elapsed().as_secs_f64();
        let summary = persist::summary(cfg, &self.st, &valid, &test, seconds, run.prepared);
        let mut summary = summary;
        // the data preparation alone, measured inside the run (the scale benchmark's
        // "ingest": comparable with the PyTorch reference's read + encode + split)
        summary["data_seconds"] = json!(end.data_seconds);
        if let Some(c) = run.cached {
            let [tr, va, te, _] = c.sizes();
            summary["rows"] = json!({ "train": tr, "valid": va, "test": te });
            summary["data_cache"] = json!(c.dir.display().to_string());
        }
        let cold_rows = run.sets.cold;
        if !cold_rows.is_empty() {
            let cold = self.score(cold_rows)?;
            transfer_run::add_cold(&mut summary, cfg, &cold, cold_rows.len());
        }
        transfer_run::add_transfer(&mut summary, &self.transfer);
        self.compress.add_summary(&mut summary, cfg);
        add_baselines(&mut summary, cfg, end.baseline_plan, &run.sets, &test)?;
        if let Some(implicit) = end.implicit_run {
            let g = &mut self.g;
            if let Some((value, table)) =
                implicit.ranking(cfg, g, run.input, run.model, &self.store)?
            {
                eprint!("{table}");
                summary["ranking"] = value;
            }
            // the same ranking on the validation pairs (issue #15): for choosing settings
            // without reading the test split
            let valid = crate::data::loaders::interactions::Set::Valid;
            if let Some((value, table)) =
                implicit.ranking_on(valid, cfg, g, run.input, run.model, &self.store)?
            {
                eprint!("{table}");
                summary["ranking_valid"] = value;
            }
        }
        persist::write_summary(out, &summary)?;
        (end.after_epoch)(out)?;
        if !run.skipped.is_empty() {
            eprintln!("{}", run.skipped.report());
        }
        Ok(summary)
    }

    /// The task metrics of the current weights on `rows`.
    fn score(&mut self, rows: &dyn Rows) -> Result<TaskMetrics> {
        let (run, batch_size) = (self.run, self.run.cfg.train.batch_size.max(1024));
        let out = predict(
            &mut self.g,
            run.input,
            run.model,
            &self.store,
            rows,
            batch_size,
        )?;
        task_metrics(&run.cfg.tasks, &out, rows)
    }
}

/// Scores the planned baselines on the test split with the model's metrics, adds
/// `"baselines"` and each task's `"beats_baselines"` to `summary`, and prints the table.
fn add_baselines(
    summary: &mut serde_json::Value,
    cfg: &RunConfig,
    plan: &crate::baselines::Plan,
    sets: &super::epochs::Sets<'_>,
    test: &TaskMetrics,
) -> Result<()> {
    use crate::baselines::report;
    if !plan.skipped.is_empty() {
        eprintln!("baselines skipped: {}", plan.skipped.join("; "));
        summary["baselines_skipped"] = json!(plan.skipped);
    }
    if plan.models.is_empty() {
        return Ok(());
    }
    // the training and test rows in memory, or memory-mapped from the data cache
    let outs = crate::baselines::tabular_outputs(plan, &cfg.tasks, sets.train, &[sets.test]);
    let mut scored = Vec::with_capacity(outs.len());
    for (kind, out) in outs {
        scored.push((
            kind.name().to_string(),
            task_metrics(&cfg.tasks, &out[0], sets.test)?,
        ));
    }
    let verdicts = report::verdicts(test, &scored);
    summary["baselines"] = report::baselines_json(&scored);
    for t in &cfg.tasks {
        if let Some(v) = report::task_verdict(&verdicts, &t.name) {
            summary["tasks"][&t.name]["beats_baselines"] = v;
        }
    }
    eprint!("{}", report::table(test, &scored, "test"));
    Ok(())
}
