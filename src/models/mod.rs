//! Multi-task architectures. Each file implements [`MultiTaskModel`]: dense features in,
//! one `(B, 1)` output per task out. Files start with the paper they implement, a typed
//! configuration, and a forward pass with a shape comment on each line.
//!
//! | model | file | idea |
//! |---|---|---|
//! | Single-Task | `single_task.rs` | K independent MLPs, nothing shared (baseline) |
//! | Shared-Bottom | `shared_bottom.rs` | one shared MLP bottom, K task towers (Caruana 1997) |
//! | OMoE | `omoe.rs` | E experts, one softmax gate for all tasks (Ma et al. 2018, ablation) |
//! | MMoE | `mmoe.rs` | E experts, one softmax gate per task (Ma et al., KDD 2018) |
//! | CGC | `cgc.rs` | task-owned + shared experts, per-task gates (Tang et al., RecSys 2020) |
//! | PLE | `ple.rs` | stacked CGC levels with a shared gate between levels (Tang et al. 2020) |
//! | ESMM | `esmm.rs` | pCTCVR = pCTR × pCVR over the entire impression space (Ma et al., SIGIR 2018) |
//! | AITM | `aitm.rs` | attention-based transfer along a conversion funnel + label constraint (Xi et al., KDD 2021) |
//! | SASRec | `sasrec.rs` | causal self-attention over a user's item sequence, next-item softmax + heads on the next interaction (Kang & McAuley, ICDM 2018); not a `MultiTaskModel` (sequence input) |

pub mod aitm;
mod blocks;
pub mod cgc;
pub mod diagnostics;
pub mod esmm;
pub mod mmoe;
pub mod omoe;
pub mod ple;
pub mod sasrec;
pub mod shared_bottom;
pub mod single_task;

pub use aitm::{Aitm, AitmConfig};
pub use diagnostics::gate_weights;
pub use esmm::{Esmm, EsmmConfig};
pub use mmoe::{Mmoe, MmoeConfig};
pub use omoe::{Omoe, OmoeConfig};
pub use ple::{Ple, PleConfig};

pub use shared_bottom::{SharedBottom, SharedBottomConfig};
pub use single_task::{SingleTask, SingleTaskConfig};

use crate::autograd::{Graph, ParamId, ParamStore, Var};
use crate::error::{Error, Result};

/// A model that predicts K tasks from one batch of dense features.
pub trait MultiTaskModel {
    /// Short name used in logs and tables (`"shared-bottom"`).
    fn name(&self) -> &str;

    /// K, the number of outputs of [`MultiTaskModel::forward`].
    fn num_tasks(&self) -> usize;

    /// `x (B, D_in)` → K outputs of shape `(B, 1)`: a logit for a binary task, a value
    /// for a regression task.
    fn forward(&self, g: &mut Graph, store: &ParamStore, x: Var) -> Result<Vec<Var>>;

    /// Dense parameters every task's loss reaches (the shared bottom, the experts), with
    /// the last shared layer's weight **last** (GradNorm normalises gradients there).
    /// Loss balancing and the task-conflict diagnostic work on these. Empty when nothing
    /// is shared between tasks.
    fn shared_params(&self) -> Vec<ParamId> {
        Vec::new()
    }

    /// A model-specific term added to the training objective, computed from the task
    /// outputs (AITM's label constraint); `None` for most models.
    fn extra_loss(&self, _g: &mut Graph, _outputs: &[Var]) -> Result<Option<Var>> {
        Ok(None)
    }
}

/// Checks the settings every model shares; `what` names the model in the message.
pub(crate) fn check_common(what: &str, d_in: usize, num_tasks: usize, dropout: f32) -> Result<()> {
    if d_in == 0 {
        return Err(Error::Config {
            what: format!("{what} d_in"),
            message: "the input must have at least one feature".into(),
        });
    }
    if num_tasks == 0 {
        return Err(Error::Config {
            what: format!("{what} num_tasks"),
            message: "a multi-task model needs at least one task".into(),
        });
    }
    if !(0.0..1.0).contains(&dropout) {
        return Err(Error::Config {
            what: format!("{what} dropout"),
            message: format!("must be in [0, 1), got {dropout}"),
        });
    }
    Ok(())
}
