//! Model parameters to and from a `.safetensors` file, by name and shape.
//!
//! Every parameter of a [`ParamStore`] becomes one 2-D F32 tensor named as in the store
//! (`mmoe.experts.first.w`, `emb.user.table`): dense parameters `(rows, cols)`, embedding
//! tables `(V, D)`. Loading requires exactly the same names with the same shapes.

use super::safetensors_io::{read_safetensors, write_safetensors, Checkpoint, TensorOut};
use super::{FORMAT_VERSION, KIND_PARAMS, KIND_TRAIN_STATE, META_KIND, META_VERSION};
use crate::autograd::ParamStore;
use crate::error::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every parameter of `store` as `<prefix><name>`, shape `[rows, cols]`, in store order.
pub fn param_tensors<'a>(store: &'a ParamStore, prefix: &str) -> Vec<TensorOut<'a>> {
    store
        .ids()
        .map(|id| {
            let info = store.info(id);
            TensorOut::new(
                format!("{prefix}{}", info.name),
                vec![info.rows, info.cols],
                store.value(id),
            )
        })
        .collect()
}

/// Rejects user metadata keys in the `mtrec.` namespace, which this module writes.
pub(crate) fn check_user_metadata(path: &Path, metadata: &BTreeMap<String, String>) -> Result<()> {
    match metadata.keys().find(|k| k.starts_with("mtrec.")) {
        None => Ok(()),
        Some(k) => Err(Error::Io {
            path: path.display().to_string(),
            message: format!(
                "metadata key `{k}` is reserved (the `mtrec.` prefix is written by mtrec itself); rename it"
            ),
        }),
    }
}

/// Writes every parameter of `store` (see the module documentation) and `metadata` to
/// `path`, atomically. Keys starting with `mtrec.` are reserved; `mtrec.kind` = `params`
/// and `mtrec.format_version` are added.
pub fn save_params(
    path: impl AsRef<Path>,
    store: &ParamStore,
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    let path = path.as_ref();
    check_user_metadata(path, metadata)?;
    let mut meta = metadata.clone();
    meta.insert(META_KIND.into(), KIND_PARAMS.into());
    meta.insert(META_VERSION.into(), FORMAT_VERSION.into());
    write_safetensors(path, &param_tensors(store, ""), &meta)
}

/// [`save_params`] with `extra` tensors (pruning masks, `<name>.mask`) beside the weights.
pub fn save_params_with(
    path: impl AsRef<Path>,
    store: &ParamStore,
    metadata: &BTreeMap<String, String>,
    extra: Vec<TensorOut<'_>>,
) -> Result<()> {
    let path = path.as_ref();
    check_user_metadata(path, metadata)?;
    let mut meta = metadata.clone();
    meta.insert(META_KIND.into(), KIND_PARAMS.into());
    meta.insert(META_VERSION.into(), FORMAT_VERSION.into());
    let mut tensors = param_tensors(store, "");
    tensors.extend(extra);
    write_safetensors(path, &tensors, &meta)
}

/// Loads the values of every parameter of `store` from `path`: a file written by
/// [`save_params`], or a training state (`state.safetensors`, whose `param/<name>`
/// tensors are read). Names and shapes must match exactly; the error lists every missing,
/// unexpected or misshapen tensor. On error `store` is unchanged. Returns the file's
/// metadata.
pub fn load_params(
    path: impl AsRef<Path>,
    store: &mut ParamStore,
) -> Result<BTreeMap<String, String>> {
    let ckpt = read_safetensors(path.as_ref())?;
    let prefix = match ckpt.metadata().get(META_KIND).map(String::as_str) {
        Some(KIND_TRAIN_STATE) => "param/",
        _ => "",
    };
    load_params_from(&ckpt, store, prefix)?;
    Ok(ckpt.metadata().clone())
}

/// Loads `store` from the tensors `<prefix><name>` of `ckpt` (other tensors are ignored
/// when `prefix` is not empty). See [`load_params`].
pub fn load_params_from(ckpt: &Checkpoint, store: &mut ParamStore, prefix: &str) -> Result<()> {
    check_params_in(ckpt, store, prefix)?;
    let ids: Vec<_> = store.ids().collect();
    for id in ids {
        let info = store.info(id);
        let name = format!("{prefix}{}", info.name);
        let shape = [info.rows, info.cols];
        let values = ckpt.expect(&name, &shape)?;
        store.value_mut(id).copy_from_slice(values);
    }
    // pruned runs: `<name>.mask` beside the weights (see `masks`)
    super::masks::apply_masks_in(ckpt, store, prefix)
}

/// Checks, without loading, that the tensors `<prefix><name>` of `ckpt` are exactly the
/// parameters of `store` with their shapes; the error lists every problem.
pub fn check_params_in(ckpt: &Checkpoint, store: &ParamStore, prefix: &str) -> Result<()> {
    let in_file: BTreeSet<&str> = ckpt
        .tensors()
        .keys()
        .filter_map(|k| k.strip_prefix(prefix))
        .filter(|k| !super::masks::is_mask_of_param(store, k))
        .collect();
    let in_model: BTreeSet<&str> = store.ids().map(|id| store.info(id).name.as_str()).collect();
    let quote = |names: Vec<&str>| -> String {
        names
            .iter()
            .map(|n| format!("`{prefix}{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let missing: Vec<&str> = in_model.difference(&in_file).copied().collect();
    let unexpected: Vec<&str> = in_file.difference(&in_model).copied().collect();
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!(
            "{} missing from the checkpoint: {}",
            missing.len(),
            quote(missing)
        ));
    }
    if !unexpected.is_empty() {
        problems.push(format!(
            "{} in the checkpoint but not in the model: {}",
            unexpected.len(),
            quote(unexpected)
        ));
    }
    if !problems.is_empty() {
        return Err(ckpt.error(format!(
            "the checkpoint's parameters are not the model's: {}; was it trained with another config (model, tasks, features, widths)?",
            problems.join("; ")
        )));
    }
    let mut shape_errors = Vec::new();
    for id in store.ids() {
        let info = store.info(id);
        let name = format!("{prefix}{}", info.name);
        if let Err(e) = ckpt.expect(&name, &[info.rows, info.cols]) {
            shape_errors.push(match e {
                Error::Io { message, .. } => message,
                other => other.to_string(),
            });
        }
    }
    if !shape_errors.is_empty() {
        return Err(ckpt.error(shape_errors.join("; ")));
    }
    Ok(())
}
