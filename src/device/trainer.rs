//! [`DeviceTrainer`]: parameters and Adam state on a backend, one [`Program`] per batch
//! shape, and the step that runs it.
//!
//! ```text
//! step(g, objective, losses, lr):      g recorded with set_record_only(true)
//!   program = the one whose tape matches g, else lower g (first batch of each shape)
//!   feed → forward → zero dense grads → backward → read [objective, L_1..L_K]
//!   if the objective is finite: clip (optional) → Adam or SGD (dense, touched rows)
//! ```
//!
//! The host copies of the parameters and of Adam's moments are stale while training
//! runs on the backend; [`DeviceTrainer::download`] brings them back (every epoch, for
//! validation and checkpoints).

use super::params::DeviceParams;
use super::program::Program;
use super::Backend;
use crate::autograd::{Graph, ParamStore, Var};
use crate::error::{Error, Result};
use crate::optim::Optimizer;

/// The training state on one backend; see the module documentation.
pub struct DeviceTrainer {
    backend: Box<dyn Backend>,
    params: DeviceParams,
    programs: Vec<Program>,
    scalars: Vec<f32>,
}

impl DeviceTrainer {
    /// Copies every parameter of `store` and the state of `opt` (Adam / AdamW / SGD, or
    /// `Frozen` around one) to `backend`.
    pub fn new<O: Optimizer + ?Sized>(
        mut backend: Box<dyn Backend>,
        store: &mut ParamStore,
        opt: &mut O,
    ) -> Result<DeviceTrainer> {
        let params = DeviceParams::upload(backend.as_mut(), store, opt)?;
        Ok(DeviceTrainer {
            backend,
            params,
            programs: Vec::new(),
            scalars: Vec::new(),
        })
    }

    /// Leaves `ids` unchanged by the optimiser steps (`optim::Frozen`).
    pub fn set_frozen(&mut self, ids: &[crate::autograd::ParamId]) {
        self.params.set_frozen(ids);
    }

    /// The backend, in words.
    pub fn device_name(&self) -> String {
        self.backend.name()
    }

    /// Number of programs lowered so far (one per batch shape).
    pub fn programs(&self) -> usize {
        self.programs.len()
    }

    /// Launches per step of each kind, of the most recently lowered program.
    pub fn launch_counts(&self) -> std::collections::BTreeMap<String, usize> {
        self.programs
            .last()
            .map(Program::launch_counts)
            .unwrap_or_default()
    }

    /// Launches per step of the most recently lowered program.
    pub fn launches_per_step(&self) -> usize {
        self.programs.last().map_or(0, Program::launches)
    }

    /// One optimisation step on the tape recorded in `g` (record-only): backward from
    /// `objective` (1, 1), gradient clipping to `clip_norm` (0: none), then Adam at
    /// learning rate `lr`; clipping and Adam are skipped when the objective is not
    /// finite. Returns `[objective, losses[0], …]` as computed on the backend.
    pub fn step(
        &mut self,
        g: &Graph,
        objective: Var,
        losses: &[Var],
        lr: f32,
        clip_norm: f32,
    ) -> Result<&[f32]> {
        if g.computes() {
            return Err(Error::Handle {
                op: "DeviceTrainer::step",
                message: "record the step with Graph::set_record_only(true)".into(),
            });
        }
        let k = match self.programs.iter().position(|p| p.matches(g)) {
            Some(k) => k,
            None => {
                let p = Program::lower(self.backend.as_mut(), &self.params, g, objective, losses)?;
                self.programs.push(p);
                self.programs.len() - 1
            }
        };
        let (p, be) = (&self.programs[k], self.backend.as_mut());
        p.feed(be, &mut self.params, g)?;
        p.forward(be)?;
        self.params.zero_dense_grads(be)?;
        p.backward(be)?;
        self.scalars.resize(p.n_scalars(), 0.0);
        p.read_scalars(be, &mut self.scalars)?;
        if self.scalars[0].is_finite() {
            self.params.write_rows(be)?;
            if clip_norm > 0.0 {
                self.params.clip(be, clip_norm)?;
            }
            self.params.step(be, lr)?;
        }
        Ok(&self.scalars)
    }

    /// Copies the parameters into `store` and the optimiser state into `opt`.
    pub fn download<O: Optimizer + ?Sized>(
        &mut self,
        store: &mut ParamStore,
        opt: &mut O,
    ) -> Result<()> {
        self.params.download(self.backend.as_mut(), store, opt)
    }
}
