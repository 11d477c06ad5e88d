//! `mtrec train --device cuda`: the training step as a device program (`crate::device`).
//!
//! ```text
//! g.set_record_only(true)
//! x, out_k, L_k, L = Σ_k w_k L_k        recorded: shapes, ids, labels, masks, weights
//! trainer.step(g, L, [L_k], lr)         feed → forward → backward → Adam on the device
//! info ← [L, L_1..L_K] read back        (the same StepInfo as the CPU step)
//! ```
//!
//! What the device step runs: Adam / AdamW or SGD (momentum, Nesterov), fixed task weights, DWA (the weights are
//! data of the step) or uncertainty weighting (its log-variances are parameters on the
//! device), gradient clipping, frozen groups. Anything else is refused before
//! training starts, with the setting to change.

use super::step::{record_task_losses, StepParts};
use crate::autograd::{Graph, ParamStore};
use crate::balance::{Balancer, StepInfo};
use crate::data::features::EncodedBatch;
use crate::device::{open_backend, DeviceTrainer, StepDevice};
use crate::error::{Error, Result};
use crate::optim::Optimizer;

fn refuse(device: StepDevice, setting: &str, fix: &str) -> Error {
    Error::Device {
        device: device.to_string(),
        what: format!("{setting} is not supported by the device training step yet"),
        fix: fix.into(),
    }
}

/// Checks that this run can train on `device`, opens it and copies the parameters and
/// the optimiser state there. `None` for the CPU.
pub fn start(
    device: StepDevice,
    store: &mut ParamStore,
    opt: &mut dyn Optimizer,
    balancer: &Balancer,
) -> Result<Option<DeviceTrainer>> {
    if device == StepDevice::Cpu {
        return Ok(None);
    }
    if !balancer.records_objective() {
        return Err(refuse(
            device,
            &format!("train.balance = \"{}\"", balancer.name()),
            "use fixed, dwa or uncertainty, or train on the CPU (`--device cpu`)",
        ));
    }
    let name = opt.name();
    if opt.as_adam_mut().is_none() && opt.as_sgd_mut().is_none() {
        return Err(refuse(
            device,
            &format!("train.optimizer = \"{name}\""),
            "use adam, adamw or sgd, or train on the CPU (`--device cpu`)",
        ));
    }
    let frozen = opt.frozen().to_vec();
    let backend = open_backend(device)?.expect("not the CPU");
    let mut trainer = DeviceTrainer::new(backend, store, opt)?;
    trainer.set_frozen(&frozen);
    Ok(Some(trainer))
}

/// One training step of `batch` on the device; fills `info` as `encoded_step` does.
pub fn device_step(
    g: &mut Graph,
    p: &mut StepParts<'_>,
    trainer: &mut DeviceTrainer,
    batch: &EncodedBatch,
    lr: f32,
    info: &mut StepInfo,
) -> Result<()> {
    g.reset();
    g.set_record_only(true);
    let stepped = (|| {
        let x = p.input.forward(g, p.store, batch)?; // (B, D_in)
        let outs = p.model.forward(g, p.store, x)?; // K × (B, 1)
        let mut losses = g.take_vars();
        let recorded = record_task_losses(g, p.kinds, p.model, &outs, batch, &mut losses);
        g.give_vars(outs);
        recorded?;
        let total = p
            .balancer
            .record_objective(g, p.store, &losses)?
            .expect("checked by start()"); // (1, 1)
        let s = trainer.step(g, total, &losses, lr, p.clip_norm)?; // [L, L_1..L_K]
        info.objective = s[0];
        info.task_losses.clear();
        info.task_losses.extend_from_slice(&s[1..]);
        // the weights of the epoch, as far as the host knows (uncertainty weighting's
        // log-variances are on the device: the loop reads them after the download)
        info.weights.clear();
        info.weights.extend(p.balancer.weights(p.store));
        info.cosines = None;
        g.give_vars(losses);
        Ok(())
    })();
    g.set_record_only(false);
    stepped
}
