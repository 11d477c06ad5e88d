//! From a run config to the objects a training run needs: the model, the optimiser,
//! the learning-rate schedule and the loss balancer.

use crate::autograd::ParamStore;
use crate::balance::{
    Balancer, DwaConfig, GradNormConfig, Method, PcGradConfig, TaskForm, UncertaintyConfig,
};
use crate::config::{
    Activation as CfgActivation, Arch, BalanceKind, ModelConfig, OptimizerKind, RunTrainConfig,
    ScheduleKind, TaskConfig, TaskType,
};
use crate::error::{Error, Result};
use crate::models::*;
use crate::nn::Activation;
use crate::optim::{Adam, AdamConfig, LrSchedule, Optimizer, Schedule, Sgd, SgdConfig};
use ndarray_rand::rand::rngs::StdRng;

fn activation(a: CfgActivation) -> Activation {
    match a {
        CfgActivation::Relu => Activation::Relu,
        CfgActivation::Tanh => Activation::Tanh,
        CfgActivation::Gelu => Activation::Gelu,
        CfgActivation::Sigmoid => Activation::Sigmoid,
        CfgActivation::None => Activation::None,
    }
}

/// The architecture `cfg.arch` for `tasks` on `d_in` input features.
pub fn build_model(
    cfg: &ModelConfig,
    d_in: usize,
    tasks: &[TaskConfig],
    store: &mut ParamStore,
    rng: &mut StdRng,
) -> Result<Box<dyn MultiTaskModel>> {
    let (k, act, dropout) = (tasks.len(), activation(cfg.activation), cfg.dropout as f32);
    let moe = MmoeConfig {
        d_in,
        num_experts: cfg.num_experts,
        expert: cfg.expert.clone(),
        tower: cfg.tower.clone(),
        num_tasks: k,
        activation: act,
        dropout,
    };
    let ple = |levels| PleConfig {
        d_in,
        levels,
        shared_experts: cfg.shared_experts,
        task_experts: cfg.task_experts,
        expert: cfg.expert.clone(),
        tower: cfg.tower.clone(),
        num_tasks: k,
        activation: act,
        dropout,
    };
    Ok(match cfg.arch {
        Arch::SingleTask => {
            let hidden = [&cfg.bottom[..], &cfg.tower[..]].concat();
            Box::new(SingleTask::new(
                store,
                &SingleTaskConfig {
                    d_in,
                    hidden,
                    num_tasks: k,
                    activation: act,
                    dropout,
                },
                rng,
            )?)
        }
        Arch::SharedBottom => Box::new(SharedBottom::new(
            store,
            &SharedBottomConfig {
                d_in,
                bottom: cfg.bottom.clone(),
                tower: cfg.tower.clone(),
                num_tasks: k,
                activation: act,
                dropout,
            },
            rng,
        )?),
        Arch::Omoe => Box::new(Omoe::new(store, &moe, rng)?),
        Arch::Mmoe => Box::new(Mmoe::new(store, &moe, rng)?),
        Arch::Cgc => Box::new(Ple::new(store, &ple(1), rng)?),
        Arch::Ple => Box::new(Ple::new(store, &ple(cfg.levels), rng)?),
        Arch::Esmm => {
            if k != 2 || tasks.iter().any(|t| t.kind != TaskType::Binary) {
                return Err(Error::Config {
                    what: "model.arch = \"esmm\"".into(),
                    message: "ESMM needs exactly two binary tasks: first the click (CTR), then click-and-convert (CTCVR)".into(),
                });
            }
            Box::new(Esmm::new(
                store,
                &EsmmConfig {
                    d_in,
                    tower: cfg.tower.clone(),
                    activation: act,
                    dropout,
                },
                rng,
            )?)
        }
        Arch::Aitm => Box::new(Aitm::new(
            store,
            &AitmConfig {
                d_in,
                num_tasks: k,
                bottom: cfg.bottom.clone(),
                tower: cfg.tower.clone(),
                constraint_weight: cfg.constraint_weight as f32,
                activation: act,
                dropout,
            },
            rng,
        )?),
    })
}

/// The optimiser of `[train]`.
pub fn build_optimizer(cfg: &RunTrainConfig) -> Result<Box<dyn Optimizer>> {
    let wd = cfg.weight_decay as f32;
    Ok(match cfg.optimizer {
        OptimizerKind::Sgd => Box::new(Sgd::new(SgdConfig {
            momentum: cfg.momentum as f32,
            nesterov: cfg.nesterov,
            weight_decay: wd,
        })?),
        OptimizerKind::Adam => Box::new(Adam::new(AdamConfig {
            weight_decay: wd,
            ..AdamConfig::default()
        })?),
        OptimizerKind::Adamw => Box::new(Adam::new(AdamConfig::adamw(wd))?),
    })
}

/// The learning rate at each step of a run of `total_steps`.
pub fn build_schedule(cfg: &RunTrainConfig, total_steps: usize) -> Result<LrSchedule> {
    let schedule = match cfg.schedule {
        ScheduleKind::Constant => Schedule::Constant,
        ScheduleKind::Step => Schedule::Step {
            every: cfg.step_every,
            gamma: cfg.step_gamma as f32,
        },
        ScheduleKind::Cosine => Schedule::Cosine {
            total_steps: total_steps.saturating_sub(cfg.warmup_steps).max(1),
            min_lr: cfg.min_lr as f32,
        },
    };
    let s = LrSchedule {
        base_lr: cfg.lr as f32,
        warmup_steps: cfg.warmup_steps,
        schedule,
    };
    s.validate()?;
    Ok(s)
}

/// The loss balancer of `[train] balance` (task weights from `[[tasks]] weight`).
pub fn build_balancer(
    cfg: &RunTrainConfig,
    tasks: &[TaskConfig],
    store: &mut ParamStore,
) -> Result<Balancer> {
    let forms: Vec<TaskForm> = tasks
        .iter()
        .map(|t| match t.kind {
            TaskType::Binary => TaskForm::Classification,
            TaskType::Regression => TaskForm::Regression,
        })
        .collect();
    let method = match cfg.balance {
        BalanceKind::Fixed => Method::Fixed(tasks.iter().map(|t| t.weight as f32).collect()),
        BalanceKind::Uncertainty => Method::Uncertainty(UncertaintyConfig::default()),
        BalanceKind::Gradnorm => Method::GradNorm(GradNormConfig {
            alpha: cfg.gradnorm_alpha as f32,
            ..GradNormConfig::default()
        }),
        BalanceKind::Dwa => Method::Dwa(DwaConfig {
            temperature: cfg.dwa_temperature as f32,
        }),
        BalanceKind::Pcgrad => Method::PcGrad(PcGradConfig { seed: cfg.seed }),
    };
    Balancer::new(method, &forms, store)
}
