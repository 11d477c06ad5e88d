//! The plain-text summary of the prepared sets (`Prepared::report`, the run's
//! `data_report.txt`): set sizes, vocabulary sizes, out-of-vocabulary rates, labels per
//! task. The counts come from wherever the rows are — encoded in memory
//! ([`SetCounts::of_encoded`]) or written to the data cache's columns (the cache build
//! counts them segment by segment) — and [`write`] turns them into the one text both
//! paths print.

use super::{Encoded, Encoder, FeatureSpec};
use crate::config::TaskType;
use std::fmt::Write;

/// What the report says of one task in one set.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct TaskCounts {
    /// Rows whose mask is on.
    pub labelled: usize,
    /// Labelled rows with a label > 0.5 (binary tasks).
    pub positive: usize,
    /// Σ label · mask over the set, in f64 in row order (regression tasks).
    pub sum: f64,
}

impl TaskCounts {
    /// Adds one row: label `y`, mask `m`.
    pub fn add(&mut self, y: f32, m: f32) {
        if m > 0.0 {
            self.labelled += 1;
            if y > 0.5 {
                self.positive += 1;
            }
        }
        self.sum += (y * m) as f64;
    }
}

/// What the report says of one set.
#[derive(Clone, Debug, Default)]
pub(crate) struct SetCounts {
    pub name: String,
    pub rows: usize,
    /// Per categorical feature: rows with id 0 (unseen or missing).
    pub cat_zeros: Vec<usize>,
    /// Per multi-hot feature: (tokens, tokens with id 0).
    pub bag_tokens: Vec<(usize, usize)>,
    /// Per task.
    pub tasks: Vec<TaskCounts>,
}

impl SetCounts {
    /// The counts of a set encoded in memory.
    pub fn of_encoded(name: &str, e: &Encoded) -> SetCounts {
        let cat_zeros = (0..e.n_cat)
            .map(|f| {
                (0..e.len())
                    .filter(|&r| e.cat[r * e.n_cat + f] == 0)
                    .count()
            })
            .collect();
        let bag_tokens = (e.bags.iter())
            .map(|b| (b.ids.len(), b.ids.iter().filter(|&&i| i == 0).count()))
            .collect();
        let tasks = (0..e.n_tasks)
            .map(|k| {
                let (y, m) = e.task_column(k);
                let mut t = TaskCounts::default();
                y.iter().zip(&m).for_each(|(&y, &m)| t.add(y, m));
                t
            })
            .collect();
        SetCounts {
            name: name.to_string(),
            rows: e.len(),
            cat_zeros,
            bag_tokens,
            tasks,
        }
    }
}

fn pct(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

fn kind_of(e: &Encoder) -> &'static str {
    match e {
        Encoder::Vocab { .. } => "vocabulary",
        Encoder::Hash { .. } => "hashed",
    }
}

/// The report text: one line for the sets, one for the input width, then one per
/// feature (categorical, multi-hot, text, numeric) and one per task.
pub(crate) fn write(spec: &FeatureSpec, sets: &[SetCounts]) -> String {
    let mut s = String::new();
    let n: usize = sets.iter().map(|c| c.rows).sum();
    let sizes: Vec<String> = (sets.iter())
        .map(|c| format!("{} {} ({:.1}%)", c.name, c.rows, pct(c.rows, n)))
        .collect();
    let _ = writeln!(s, "rows: {n}: {}", sizes.join(", "));
    let _ = writeln!(
        s,
        "input width d_in = {} ({} categorical, {} multi-hot, {} numeric features)",
        spec.d_in(),
        spec.categorical.len(),
        spec.multi_hot.len(),
        spec.numeric.len()
    );
    for (f, c) in spec.categorical.iter().enumerate() {
        let oov: Vec<String> = (sets.iter())
            .map(|e| format!("{} {:.2}%", e.name, pct(e.cat_zeros[f], e.rows)))
            .collect();
        let _ = writeln!(
            s,
            "  categorical {}: V = {} ({}), dim {}; id 0 (unseen/missing): {}",
            c.name,
            c.encoder.size(),
            kind_of(&c.encoder),
            c.dim,
            oov.join(", ")
        );
    }
    for (f, b) in spec.multi_hot.iter().enumerate() {
        let oov: Vec<String> = (sets.iter())
            .map(|e| {
                let (tokens, zeros) = e.bag_tokens.get(f).copied().unwrap_or((0, 0));
                let mean = if e.rows == 0 {
                    0.0
                } else {
                    tokens as f64 / e.rows as f64
                };
                format!(
                    "{} {:.2}% of tokens, {mean:.2} per row",
                    e.name,
                    pct(zeros, tokens)
                )
            })
            .collect();
        let _ = writeln!(
            s,
            "  multi-hot {}: V = {} ({}), dim {}; id 0: {}",
            b.name,
            b.encoder.size(),
            kind_of(&b.encoder),
            b.dim,
            oov.join(", ")
        );
    }
    for t in &spec.text {
        let _ = writeln!(
            s,
            "  text {} (column {}, mode {:?}): encoder {}, D_t = {}, {:?} adaptor to dim {}",
            t.name, t.column, t.mode, t.encoder, t.d_text, t.adaptor, t.dim
        );
    }
    for x in &spec.numeric {
        let _ = writeln!(
            s,
            "  numeric {}: scale {:?}, center {:.6}, spread {:.6}, missing {:?} → {:.6}",
            x.name, x.scale, x.center, x.spread, x.missing, x.fill
        );
    }
    for (k, t) in spec.tasks.iter().enumerate() {
        let parts: Vec<String> = (sets.iter())
            .map(|e| {
                let c = e.tasks[k];
                match t.kind {
                    TaskType::Binary => format!(
                        "{} {} positive of {} labelled ({:.2}%)",
                        e.name,
                        c.positive,
                        c.labelled,
                        pct(c.positive, c.labelled)
                    ),
                    TaskType::Regression => {
                        let mean = if c.labelled == 0 {
                            0.0
                        } else {
                            c.sum / c.labelled as f64
                        };
                        format!("{} {} labelled, mean {mean:.4}", e.name, c.labelled)
                    }
                }
            })
            .collect();
        let _ = writeln!(
            s,
            "  task {} ({:?}, column {}): {}",
            t.name,
            t.kind,
            t.column,
            parts.join("; ")
        );
    }
    s
}
