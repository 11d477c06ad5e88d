//! Loss balancing: how the K task losses of a step become one gradient.
//!
//! | method | idea | file |
//! |---|---|---|
//! | [`Method::Fixed`] | `Σ_k λ_k L_k`, λ hand-set | `fixed.rs` |
//! | [`Method::Uncertainty`] | learned noise σ_k² per task (Kendall et al., 2018) | `uncertainty.rs` |
//! | [`Method::GradNorm`] | weights equalising gradient norms on the last shared layer (Chen et al., 2018) | `gradnorm.rs` |
//! | [`Method::Dwa`] | weights from last epoch's loss ratios (Liu et al., 2019) | `dwa.rs` |
//! | [`Method::PcGrad`] | project away conflicting gradient components (Yu et al., 2020) | `pcgrad.rs` |
//!
//! `diagnostics.rs` gives the pairwise cosine of task gradients; `grads.rs` the K
//! backward passes (one per task, from a zeroed store) that GradNorm, PCGrad and the
//! diagnostic need.
//!
//! ## One call per step
//!
//! ```text
//! g.reset(); outs = model.forward(g, store, x); L_k = loss_k(outs[k])     K × (1, 1)
//! info = balancer.backward(&mut g, &mut store, &losses, &shared)?        store: ∇θ of the balanced objective
//! opt.step(&mut store, lr)?
//! ... at the end of each epoch:  balancer.end_epoch(&mean_train_loss_per_task)?
//! ```
//!
//! [`Balancer::backward`] zeroes the store itself. `shared` lists the **dense**
//! parameters every task reaches (the shared bottom, the experts); GradNorm takes its
//! layer W from the **last** entry, so list the last shared layer's weight last.
//! Uncertainty weighting adds its log-variances to the store in [`Balancer::new`]: build
//! the balancer before the optimiser's first step (its state is sized from the store).

pub mod diagnostics;
pub mod dwa;
pub mod fixed;
pub mod gradnorm;
pub mod grads;
pub mod pcgrad;
mod persist;
pub mod uncertainty;

pub use diagnostics::{cosine_matrix, task_gradient_cosines};
pub use dwa::DwaConfig;
pub use gradnorm::GradNormConfig;
pub use grads::TaskGrads;
pub use pcgrad::PcGradConfig;
pub use uncertainty::UncertaintyConfig;

use crate::autograd::{Graph, ParamId, ParamStore, Var};
use crate::error::{Dims, Error, Result};
use dwa::DwaState;
use gradnorm::GradNormState;
use pcgrad::PcGradState;

/// Which likelihood a task's loss comes from (it sets uncertainty weighting's form).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskForm {
    /// MSE: `½·e^(−s)·L + ½·s`.
    Regression,
    /// Cross-entropy / BCE: `e^(−s)·L + ½·s`.
    Classification,
}

/// A balancing method and its settings.
#[derive(Clone, Debug, PartialEq)]
pub enum Method {
    /// `Σ_k λ_k L_k` with one λ_k ≥ 0 per task.
    Fixed(Vec<f32>),
    Uncertainty(UncertaintyConfig),
    GradNorm(GradNormConfig),
    Dwa(DwaConfig),
    PcGrad(PcGradConfig),
}

impl Method {
    /// The method called `name` (`fixed` = all weights 1, `uncertainty`, `gradnorm`,
    /// `dwa`, `pcgrad`) with default settings, for K tasks.
    pub fn by_name(name: &str, k: usize) -> Result<Method> {
        Ok(match name {
            "fixed" | "equal" => Method::Fixed(vec![1.0; k]),
            "uncertainty" => Method::Uncertainty(UncertaintyConfig::default()),
            "gradnorm" => Method::GradNorm(GradNormConfig::default()),
            "dwa" => Method::Dwa(DwaConfig::default()),
            "pcgrad" => Method::PcGrad(PcGradConfig::default()),
            _ => {
                return Err(Error::Config {
                    what: format!("loss-balancing method `{name}`"),
                    message: "unknown; use one of fixed, uncertainty, gradnorm, dwa, pcgrad".into(),
                })
            }
        })
    }

    /// Short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Method::Fixed(_) => "fixed",
            Method::Uncertainty(_) => "uncertainty",
            Method::GradNorm(_) => "gradnorm",
            Method::Dwa(_) => "dwa",
            Method::PcGrad(_) => "pcgrad",
        }
    }
}

/// What one [`Balancer::backward`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct StepInfo {
    /// Value of the balanced objective: `Σ_k w_k L_k`; for uncertainty weighting the
    /// full `Σ_k c_k e^(−s_k) L_k + ½ s_k`; for PCGrad `Σ_k L_k`.
    pub objective: f32,
    /// `L_k` of this step.
    pub task_losses: Vec<f32>,
    /// The weight on each `L_k` in the gradient this step (uncertainty: `c_k·e^(−s_k)`;
    /// PCGrad: 1 before surgery).
    pub weights: Vec<f32>,
    /// `(K, K)` task-gradient cosines on the shared parameters, where the method
    /// computed per-task gradients of all of them anyway (PCGrad).
    pub cosines: Option<Vec<f32>>,
}

impl StepInfo {
    pub(crate) fn new(objective: f32, g: &Graph, losses: &[Var], weights: Vec<f32>) -> StepInfo {
        StepInfo {
            objective,
            task_losses: losses.iter().map(|&l| g.scalar(l)).collect(),
            weights,
            cosines: None,
        }
    }
}

#[derive(Clone, Debug)]
enum State {
    Fixed(Vec<f32>),
    Uncertainty(Vec<ParamId>),
    GradNorm(Box<GradNormState>),
    Dwa(DwaState),
    PcGrad(Box<PcGradState>),
}

/// Turns the K task losses of a step into the gradient of a balanced objective.
#[derive(Clone, Debug)]
pub struct Balancer {
    forms: Vec<TaskForm>,
    state: State,
}

impl Balancer {
    /// A balancer for the tasks `forms` (K = `forms.len()` ≥ 1). Uncertainty weighting
    /// adds `balance.log_var.{k}` to `store`; the other methods leave it unchanged.
    pub fn new(method: Method, forms: &[TaskForm], store: &mut ParamStore) -> Result<Balancer> {
        let k = forms.len();
        if k == 0 {
            return Err(Error::Config {
                what: "loss balancing".into(),
                message: "needs at least one task".into(),
            });
        }
        let state = match method {
            Method::Fixed(w) => {
                fixed::validate(&w, k)?;
                State::Fixed(w)
            }
            Method::Uncertainty(cfg) => {
                State::Uncertainty(uncertainty::add_log_vars(store, k, &cfg)?)
            }
            Method::GradNorm(cfg) => State::GradNorm(Box::new(GradNormState::new(cfg, k)?)),
            Method::Dwa(cfg) => State::Dwa(DwaState::new(cfg, k)?),
            Method::PcGrad(cfg) => State::PcGrad(Box::new(PcGradState::new(cfg))),
        };
        Ok(Balancer {
            forms: forms.to_vec(),
            state,
        })
    }

    /// K.
    pub fn num_tasks(&self) -> usize {
        self.forms.len()
    }

    pub fn name(&self) -> &'static str {
        match self.state {
            State::Fixed(_) => "fixed",
            State::Uncertainty(_) => "uncertainty",
            State::GradNorm(_) => "gradnorm",
            State::Dwa(_) => "dwa",
            State::PcGrad(_) => "pcgrad",
        }
    }

    /// The learned log-variances `s_k` (uncertainty weighting only; empty otherwise).
    pub fn log_vars(&self) -> &[ParamId] {
        match &self.state {
            State::Uncertainty(ids) => ids,
            _ => &[],
        }
    }

    /// The weights the next step will use (uncertainty: `c_k·e^(−s_k)` read from `store`;
    /// PCGrad: all 1).
    pub fn weights(&self, store: &ParamStore) -> Vec<f32> {
        match &self.state {
            State::Fixed(w) => w.clone(),
            State::Uncertainty(ids) => ids
                .iter()
                .zip(&self.forms)
                .map(|(&id, &f)| uncertainty::coefficient(f) * (-store.value(id)[0]).exp())
                .collect(),
            State::GradNorm(s) => s.weights.clone(),
            State::Dwa(s) => s.weights.clone(),
            State::PcGrad(_) => vec![1.0; self.forms.len()],
        }
    }

    /// Zeroes `store`, then leaves in it the gradient of the balanced objective with
    /// respect to every parameter, from the `(1, 1)` task losses `losses` recorded on `g`.
    /// `shared`: the dense parameters all tasks share (GradNorm uses the last; PCGrad
    /// projects on all of them; the other methods ignore it).
    pub fn backward(
        &mut self,
        g: &mut Graph,
        store: &mut ParamStore,
        losses: &[Var],
        shared: &[ParamId],
    ) -> Result<StepInfo> {
        self.check(g, losses, shared)?;
        match &mut self.state {
            State::Fixed(w) => fixed::fixed_backward(g, store, losses, w),
            State::Dwa(s) => fixed::fixed_backward(g, store, losses, &s.weights),
            State::Uncertainty(ids) => {
                uncertainty::uncertainty_backward(g, store, losses, &self.forms, ids)
            }
            State::GradNorm(s) => {
                let layer = *shared.last().expect("checked: shared is not empty");
                gradnorm::gradnorm_backward(s, g, store, losses, layer)
            }
            State::PcGrad(s) => pcgrad::pcgrad_backward(s, g, store, losses, shared),
        }
    }

    /// [`Balancer::backward`] into an existing `info`: fixed weights and DWA reuse its
    /// buffers (no allocation in a steady-state step); the other methods replace it.
    pub fn backward_into(
        &mut self,
        g: &mut Graph,
        store: &mut ParamStore,
        losses: &[Var],
        shared: &[ParamId],
        info: &mut StepInfo,
    ) -> Result<()> {
        self.check(g, losses, shared)?;
        match &mut self.state {
            State::Fixed(w) => fixed::fixed_backward_into(g, store, losses, w, info),
            State::Dwa(s) => fixed::fixed_backward_into(g, store, losses, &s.weights, info),
            _ => {
                *info = self.backward(g, store, losses, shared)?;
                Ok(())
            }
        }
    }

    /// Whether the balanced objective is a function of the task losses and parameters
    /// alone (fixed weights, DWA's weights of the epoch, uncertainty weighting), so that
    /// [`Balancer::record_objective`] can put it on the tape for a device to run; false
    /// for GradNorm and PCGrad, which work on per-task gradients.
    pub fn records_objective(&self) -> bool {
        matches!(
            self.state,
            State::Fixed(_) | State::Dwa(_) | State::Uncertainty(_)
        )
    }

    /// Records the balanced objective (1, 1) of the task losses `losses` on `g`: the
    /// weighted sum of [`Balancer::backward`] without running backward. `None` where
    /// [`Balancer::records_objective`] is false.
    pub fn record_objective(
        &self,
        g: &mut Graph,
        store: &ParamStore,
        losses: &[Var],
    ) -> Result<Option<Var>> {
        Ok(match &self.state {
            State::Fixed(w) => Some(g.weighted_sum(losses, w)?),
            State::Dwa(s) => Some(g.weighted_sum(losses, &s.weights)?),
            State::Uncertainty(ids) => {
                Some(uncertainty::uncertainty_objective(g, store, losses, &self.forms, ids)?.0)
            }
            _ => None,
        })
    }

    /// Ends an epoch with its mean training loss of each task (DWA sets the next epoch's
    /// weights from them; the other methods only check them).
    pub fn end_epoch(&mut self, mean_task_losses: &[f32]) -> Result<()> {
        if mean_task_losses.len() != self.forms.len() {
            return Err(Error::Length {
                op: "Balancer::end_epoch",
                what: "mean task losses".into(),
                len: mean_task_losses.len(),
                expected: self.forms.len(),
            });
        }
        match &mut self.state {
            State::Dwa(s) => s.end_epoch(mean_task_losses),
            _ => Ok(()),
        }
    }

    fn check(&self, g: &Graph, losses: &[Var], shared: &[ParamId]) -> Result<()> {
        if losses.len() != self.forms.len() {
            return Err(Error::Length {
                op: "Balancer::backward",
                what: "task losses".into(),
                len: losses.len(),
                expected: self.forms.len(),
            });
        }
        for &l in losses {
            if l.index() >= g.len() {
                return Err(Error::Handle {
                    op: "Balancer::backward",
                    message: format!("task loss node #{} is not part of this step's graph; record the losses after Graph::reset", l.index()),
                });
            }
            let (r, c) = g.shape(l);
            if (r, c) != (1, 1) {
                return Err(Error::Shape {
                    op: "Balancer::backward",
                    shapes: vec![Dims(r, c)],
                    expected: "(1, 1) task losses; reduce each with a loss function or mean".into(),
                });
            }
        }
        if shared.is_empty() && matches!(self.state, State::GradNorm(_) | State::PcGrad(_)) {
            return Err(Error::Config {
                what: format!("shared parameters for {}", self.name()),
                message: "none given; list the dense parameters every task reaches (for GradNorm the last shared layer's weight last)".into(),
            });
        }
        Ok(())
    }
}
