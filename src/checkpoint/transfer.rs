//! Transfer learning: start a run from another run's weights, with chosen parts frozen.
//!
//! - [`init_from`] fills a freshly built [`ParamStore`] from the `model.safetensors` of a
//!   run folder (or any parameter file), **by name**: a parameter whose name is in the
//!   file is loaded (the shapes must agree: a mismatch is an error naming every such
//!   parameter and both shapes); a parameter absent from the file keeps its fresh
//!   initial value (a new task head, a new text adaptor); tensors of the file that the
//!   model does not have are listed as unused. The [`TransferReport`] says which is which.
//! - [`freeze_groups`] turns names of parameter groups (`"experts"`, `"text_adaptor"`,
//!   `"tower.1"`, `"input.emb.user_id"`) into the parameters to freeze; the optimiser
//!   wrapper [`crate::optim::Frozen`] then leaves them bit for bit unchanged.
//!
//! A group name matches a parameter when its dot-separated segments appear, contiguous and
//! in order, among the segments of the parameter's name: `experts` matches
//! `mmoe.experts.first.w`, `tower.1` matches `mmoe.tower.1.0.w`, and a full name matches
//! itself. [`group_names`] lists the names a store offers (each single segment that is
//! not a number, and each two-segment prefix); an entry that matches nothing is an error
//! that lists them.

use super::safetensors_io::read_safetensors;
use crate::autograd::{ParamId, ParamStore};
use crate::error::{Error, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What [`init_from`] did, parameter by parameter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TransferReport {
    /// The file the values came from.
    pub source: PathBuf,
    /// Parameters loaded from the file, in store order.
    pub loaded: Vec<String>,
    /// Parameters the file does not have: they keep their fresh initial values.
    pub new: Vec<String>,
    /// Tensors of the file that the model has no parameter for.
    pub unused: Vec<String>,
    /// Parameters the caller asked to keep fresh ([`init_from_except`]) though the file
    /// has them.
    pub kept_fresh: Vec<String>,
}

impl TransferReport {
    /// Two or three lines for the console.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "init_from {}: {} parameters loaded, {} new (fresh initial values), {} unused in the checkpoint",
            self.source.display(),
            self.loaded.len(),
            self.new.len(),
            self.unused.len()
        );
        if !self.new.is_empty() {
            s.push_str(&format!("\n  new: {}", self.new.join(", ")));
        }
        if !self.unused.is_empty() {
            s.push_str(&format!("\n  unused: {}", self.unused.join(", ")));
        }
        if !self.kept_fresh.is_empty() {
            s.push_str(&format!("\n  kept fresh: {}", self.kept_fresh.join(", ")));
        }
        s
    }
}

/// The parameter file of `source`: `source/model.safetensors` for a run folder, else
/// `source` itself.
pub fn source_file(source: &Path) -> PathBuf {
    if source.is_dir() {
        source.join("model.safetensors")
    } else {
        source.to_path_buf()
    }
}

/// Loads every parameter of `store` that `source` (a run folder or a parameter file) has,
/// by name; see the module docs. On error `store` is unchanged.
pub fn init_from(store: &mut ParamStore, source: &Path) -> Result<TransferReport> {
    init_from_except(store, source, &[])
}

/// [`init_from`], except that parameters of the groups `fresh` (group names as for
/// [`freeze_groups`]) keep their fresh values even where the file has them: `mtrec seq`
/// moving to another catalogue keeps its own item table and heads.
pub fn init_from_except(
    store: &mut ParamStore,
    source: &Path,
    fresh: &[&str],
) -> Result<TransferReport> {
    let file = source_file(source);
    if !file.is_file() {
        return Err(Error::Io {
            path: file.display().to_string(),
            message: "no such parameter file; train.init_from must name a finished run folder (holding model.safetensors) or a .safetensors file".into(),
        });
    }
    let ckpt = read_safetensors(&file)?;
    let prefix = match ckpt.metadata().get(super::META_KIND).map(String::as_str) {
        Some(super::KIND_TRAIN_STATE) => "param/",
        _ => "",
    };
    let mut report = TransferReport {
        source: file.clone(),
        ..TransferReport::default()
    };
    let mut mismatched = Vec::new();
    let mut plan: Vec<(ParamId, &[f32])> = Vec::new();
    for id in store.ids() {
        let info = store.info(id);
        let name = format!("{prefix}{}", info.name);
        if fresh.iter().any(|g| group_matches(g, &info.name)) {
            if ckpt.get(&name).is_some() {
                report.kept_fresh.push(info.name.clone());
            } else {
                report.new.push(info.name.clone());
            }
            continue;
        }
        match ckpt.get(&name) {
            None => report.new.push(info.name.clone()),
            Some(t) if t.shape == [info.rows, info.cols] => {
                report.loaded.push(info.name.clone());
                plan.push((id, &t.data));
            }
            Some(t) => mismatched.push(format!(
                "`{}`: {:?} in the checkpoint, [{}, {}] in this model",
                info.name, t.shape, info.rows, info.cols
            )),
        }
    }
    if !mismatched.is_empty() {
        return Err(Error::Config {
            what: format!("train.init_from ({})", file.display()),
            message: format!(
                "{} parameters have a different shape: {}; the features, vocabularies or model widths differ from the source run: \
                 make them equal, or rename the parameter's part so that it starts fresh",
                mismatched.len(),
                mismatched.join("; ")
            ),
        });
    }
    let in_model: BTreeSet<String> = store.ids().map(|id| store.info(id).name.clone()).collect();
    report.unused = ckpt
        .tensors()
        .keys()
        .filter_map(|k| k.strip_prefix(prefix))
        .filter(|k| !in_model.contains(*k))
        .map(str::to_string)
        .collect();
    for (id, values) in plan {
        store.value_mut(id).copy_from_slice(values);
    }
    Ok(report)
}

/// Whether group `group` matches parameter `name` (see the module docs).
pub fn group_matches(group: &str, name: &str) -> bool {
    let g: Vec<&str> = group.split('.').collect();
    let n: Vec<&str> = name.split('.').collect();
    !g.is_empty() && g.len() <= n.len() && n.windows(g.len()).any(|w| w == g.as_slice())
}

/// The group names `store` offers: each non-numeric segment of a name, and each
/// two-segment prefix, sorted.
pub fn group_names(store: &ParamStore) -> Vec<String> {
    let mut out = BTreeSet::new();
    for id in store.ids() {
        let name = &store.info(id).name;
        let segs: Vec<&str> = name.split('.').collect();
        for s in &segs[..segs.len().saturating_sub(1)] {
            if s.parse::<usize>().is_err() {
                out.insert(s.to_string());
            }
        }
        if segs.len() > 2 {
            out.insert(format!("{}.{}", segs[0], segs[1]));
        }
    }
    out.into_iter().collect()
}

/// The parameters matched by any of `groups`, in store order. A group that matches no
/// parameter is an error listing the available names.
pub fn freeze_groups(store: &ParamStore, groups: &[String]) -> Result<Vec<ParamId>> {
    let mut ids = BTreeSet::new();
    for group in groups {
        let hit: Vec<ParamId> = store
            .ids()
            .filter(|&id| group_matches(group, &store.info(id).name))
            .collect();
        if hit.is_empty() {
            return Err(Error::Config {
                what: format!("train.freeze entry `{group}`"),
                message: format!(
                    "matches no parameter of this model; available groups: {}",
                    group_names(store).join(", ")
                ),
            });
        }
        ids.extend(hit);
    }
    Ok(ids.into_iter().collect())
}
