//! Checks of `[model]`.

use super::{ensure, finite_in};
use crate::config::model::Arch;
use crate::config::task::TaskType;
use crate::config::RunConfig;
use crate::error::Result;

/// `[model]`: widths, expert counts and the options of the chosen architecture.
pub(super) fn check_model(c: &RunConfig) -> Result<()> {
    let m = &c.model;
    let widths = [
        ("model.expert", &m.expert),
        ("model.tower", &m.tower),
        ("model.bottom", &m.bottom),
    ];
    for (key, w) in widths {
        ensure(w.iter().all(|&x| x >= 1), key, || {
            format!("{w:?} has a width 0; expected widths ≥ 1")
        })?;
    }
    match m.arch {
        Arch::Omoe | Arch::Mmoe => {
            ensure(m.num_experts >= 1, "model.num_experts", || {
                "is 0; expected ≥ 1".into()
            })?;
            ensure(!m.expert.is_empty(), "model.expert", || {
                "is empty; expected at least one width".into()
            })?;
        }
        Arch::Cgc | Arch::Ple => {
            ensure(m.levels >= 1, "model.levels", || {
                "is 0; expected ≥ 1".into()
            })?;
            ensure(
                m.shared_experts + m.task_experts >= 1,
                "model.task_experts",
                || "and model.shared_experts are both 0; expected at least one expert".into(),
            )?;
            ensure(!m.expert.is_empty(), "model.expert", || {
                "is empty; expected at least one width".into()
            })?;
        }
        Arch::SharedBottom | Arch::Aitm => {
            ensure(!m.bottom.is_empty(), "model.bottom", || {
                "is empty; expected at least one width".into()
            })?;
        }
        Arch::SingleTask | Arch::Esmm => {}
    }
    finite_in(
        m.dropout,
        0.0,
        0.999_999,
        "model.dropout",
        "a probability in [0, 1)",
    )?;
    finite_in(
        m.constraint_weight,
        0.0,
        f64::MAX,
        "model.constraint_weight",
        "a finite number ≥ 0",
    )?;
    let all_binary = c.tasks.iter().all(|t| t.kind == TaskType::Binary);
    match m.arch {
        Arch::Esmm => ensure(c.tasks.len() == 2 && all_binary, "model.arch", || {
            "is \"esmm\", which needs exactly two binary tasks (click first, then purchase); fix [[tasks]] or choose another arch".into()
        }),
        Arch::Aitm => ensure(c.tasks.len() >= 2 && all_binary, "model.arch", || {
            "is \"aitm\", which needs two or more binary tasks in funnel order; fix [[tasks]] or choose another arch".into()
        }),
        _ => Ok(()),
    }
}
