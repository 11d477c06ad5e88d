//! The next-item baselines scored beside an `mtrec seq` run (`summary.json`'s
//! `baselines` and `beats_baselines`).

use super::{SeqInputs, SeqMetrics, SeqRunConfig};
use crate::error::Result;
use serde_json::{json, Value};

/// Scores the next-item baselines (`crate::baselines::transition`) on the test targets
/// with the model's protocol; adds `"baselines"` and `"beats_baselines"` to `summary`
/// and, with `log`, prints the table.
pub(super) fn add_baselines(
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
