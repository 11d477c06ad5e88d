//! Pruning masks in checkpoints: tensor `<param>.mask` (same shape as `<param>`, values
//! 0 = pruned, 1 = kept) beside the parameter it belongs to, in `model.safetensors` and
//! (as `param/<param>.mask`) in `state.safetensors`.
//!
//! Loading a parameter that has a mask multiplies it by the mask (`W ← M ⊙ W`), so every
//! reader of a run folder (`eval`, `predict`, `serve`, `--resume`) computes with the
//! pruned weights; [`masks_in`] hands the masks themselves to a run that keeps pruning.

use super::safetensors_io::{Checkpoint, TensorOut};
use crate::autograd::{ParamId, ParamStore};
use crate::error::Result;

/// The suffix of a mask tensor's name.
pub const MASK_SUFFIX: &str = ".mask";

/// `<prefix><name>.mask` tensors for `masks` (parameter, mask of the parameter's size).
pub fn mask_tensors<'a>(
    store: &ParamStore,
    masks: &'a [(ParamId, Vec<f32>)],
    prefix: &str,
) -> Vec<TensorOut<'a>> {
    masks
        .iter()
        .map(|(id, m)| {
            let info = store.info(*id);
            TensorOut::new(
                format!("{prefix}{}{MASK_SUFFIX}", info.name),
                vec![info.rows, info.cols],
                m,
            )
        })
        .collect()
}

/// Whether tensor `key` (prefix already stripped) is the mask of a parameter of `store`.
pub(crate) fn is_mask_of_param(store: &ParamStore, key: &str) -> bool {
    key.strip_suffix(MASK_SUFFIX)
        .is_some_and(|p| store.find(p).is_some())
}

/// The masks `<prefix><name>.mask` of `ckpt` for parameters of `store`, checked: the
/// parameter's shape and only 0 or 1 inside.
pub fn masks_in(
    ckpt: &Checkpoint,
    store: &ParamStore,
    prefix: &str,
) -> Result<Vec<(ParamId, Vec<f32>)>> {
    let mut out = Vec::new();
    for id in store.ids() {
        let info = store.info(id);
        let name = format!("{prefix}{}{MASK_SUFFIX}", info.name);
        if ckpt.get(&name).is_none() {
            continue;
        }
        let m = ckpt.expect(&name, &[info.rows, info.cols])?;
        if let Some(i) = m.iter().position(|&x| x != 0.0 && x != 1.0) {
            return Err(ckpt.error(format!(
                "mask `{name}` holds {} at position {i}; a pruning mask holds only 0 (pruned) and 1 (kept)",
                m[i]
            )));
        }
        out.push((id, m.to_vec()));
    }
    Ok(out)
}

/// `W ← M ⊙ W` for every mask of `ckpt` (see [`masks_in`]).
pub fn apply_masks_in(ckpt: &Checkpoint, store: &mut ParamStore, prefix: &str) -> Result<()> {
    for (id, m) in masks_in(ckpt, store, prefix)? {
        store
            .value_mut(id)
            .iter_mut()
            .zip(&m)
            .for_each(|(w, k)| *w *= k);
    }
    Ok(())
}

/// The masks of the parameter file or training state at `path` (see
/// [`super::params::load_params`] for which tensors each holds).
pub fn read_masks(path: &std::path::Path, store: &ParamStore) -> Result<Vec<(ParamId, Vec<f32>)>> {
    let ckpt = super::read_safetensors(path)?;
    let prefix = match ckpt.metadata().get(super::META_KIND).map(String::as_str) {
        Some(super::KIND_TRAIN_STATE) => "param/",
        _ => "",
    };
    masks_in(&ckpt, store, prefix)
}
