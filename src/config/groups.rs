//! Feature groups: one `[[features]]` block naming several columns with shared settings.
//!
//! ```toml
//! [[features]]                 # one column, as before
//! name = "city"
//! kind = "categorical"
//!
//! [[features]]                 # a list: one feature per name, in this order
//! names = ["categorical_1", "categorical_2"]
//! kind = "categorical"
//! dim = 8
//!
//! [[features]]                 # a pattern: one feature per matching column, in
//! pattern = "numerical_*"      # the order of the file's columns
//! kind = "numeric"
//! ```
//!
//! A block gives exactly one of `name`, `names`, `pattern`. The groups are expanded
//! when the configuration is read, so the rest of mtrec (and the run folder's
//! `config.toml`) sees one feature per column. `*` in a pattern matches any run of
//! characters (also none); every other character matches itself. A pattern needs the
//! column names: `data.columns`, the fixed layout of `loader = "aliexpress"`, or (in
//! `mtrec train`, which knows `--data-dir`) the header of the first file. A pattern that matches nothing, or a column named by two
//! blocks of which one is a group, is an error naming the column and both blocks.

use super::data::{FeatureConfig, FeatureKind, Missing, Scale};
use super::text::TextConfig;
use crate::error::{Error, Result};
use serde::Deserialize;

/// `[[features]]` as written: one column (`name`) or a group (`names`, `pattern`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FeatureEntry {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    names: Option<Vec<String>>,
    #[serde(default)]
    pattern: Option<String>,
    kind: FeatureKind,
    #[serde(default = "super::data::default_dim")]
    dim: usize,
    #[serde(default = "super::data::default_min_count")]
    min_count: usize,
    #[serde(default)]
    hash_buckets: usize,
    #[serde(default = "super::data::default_separator")]
    separator: String,
    #[serde(default)]
    scale: Scale,
    #[serde(default)]
    missing: Option<Missing>,
    #[serde(default)]
    text: Option<TextConfig>,
}

/// Where an expanded feature came from: `None` for a `name` block, else the block's
/// index and how it is written (`pattern = "numerical_*"`).
pub(super) type Origin = Option<(usize, String)>;

/// True when `text` matches `pattern`, where `*` matches any run of characters.
///
/// Classic two-pointer glob: on a mismatch after a `*`, let that `*` swallow one
/// more character and retry; linear in practice, O(|p|·|t|) at worst.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None; // (index of `*` in p, ti when it was met)
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn bad(what: String, message: String) -> Error {
    Error::Config { what, message }
}

/// How block `i` is written, for messages: `features[3] (pattern = "numerical_*")`.
fn describe(i: usize, e: &FeatureEntry) -> String {
    match (&e.name, &e.names, &e.pattern) {
        (_, Some(names), _) => {
            let shown: Vec<&str> = names.iter().take(3).map(String::as_str).collect();
            let more = if names.len() > 3 { ", ..." } else { "" };
            format!("features[{i}] (names = [{}{more}])", shown.join(", "))
        }
        (_, _, Some(p)) => format!("features[{i}] (pattern = \"{p}\")"),
        (Some(n), _, _) => format!("features[{i}] (name = \"{n}\")"),
        _ => format!("features[{i}]"),
    }
}

/// Expands every block into one [`FeatureConfig`] per column. `columns`: the column
/// names in file order when they are known before reading (needed by patterns).
/// Returns the features and, for each, the group it came from.
pub(super) fn expand(
    entries: Vec<FeatureEntry>,
    columns: Option<&[String]>,
) -> Result<(Vec<FeatureConfig>, Vec<Origin>)> {
    let mut out: Vec<FeatureConfig> = Vec::new();
    let mut origins: Vec<Origin> = Vec::new();
    // column → (block index, is a group) of the block that named it first
    let mut owner: std::collections::HashMap<String, (usize, bool)> = Default::default();
    for (i, e) in entries.iter().enumerate() {
        let given = [e.name.is_some(), e.names.is_some(), e.pattern.is_some()];
        if given.iter().filter(|&&g| g).count() != 1 {
            return Err(bad(
                format!("features[{i}]"),
                "gives none or several of `name`, `names`, `pattern`; expected exactly one: \
                 name = \"col\" for one column, names = [\"a\", \"b\"] or pattern = \"prefix_*\" for a group"
                    .into(),
            ));
        }
        let cols: Vec<String> = if let Some(n) = &e.name {
            vec![n.clone()]
        } else if let Some(names) = &e.names {
            if names.is_empty() {
                return Err(bad(
                    format!("features[{i}].names"),
                    "is empty; list at least one column, e.g. names = [\"categorical_1\"]".into(),
                ));
            }
            names.clone()
        } else {
            let p = e.pattern.as_deref().expect("one of the three is given");
            let Some(columns) = columns else {
                return Err(bad(
                    format!("features[{i}].pattern (\"{p}\")"),
                    "needs the column names: this command reads them from the first file's header \
                     only in `mtrec train`; elsewhere list them in data.columns (header = false), \
                     or name the columns with names = [...]"
                        .into(),
                ));
            };
            let hit: Vec<String> = columns
                .iter()
                .filter(|c| glob_match(p, c))
                .cloned()
                .collect();
            if hit.is_empty() {
                let shown: Vec<&str> = columns.iter().take(8).map(String::as_str).collect();
                let more = if columns.len() > 8 { ", ..." } else { "" };
                return Err(bad(
                    format!("features[{i}].pattern (\"{p}\")"),
                    format!(
                        "matches no column; the columns are {}{more}; `*` matches any run of characters",
                        shown.join(", ")
                    ),
                ));
            }
            hit
        };
        let group = e.name.is_none();
        if group && e.text.is_some() {
            return Err(bad(
                format!("{}.text", describe(i, e)),
                "describes one column's ids; give that column its own block with name = \"...\""
                    .into(),
            ));
        }
        for col in cols {
            if let Some(&(j, other_group)) = owner.get(&col) {
                if group || other_group {
                    return Err(bad(
                        format!("features: column `{col}`"),
                        format!(
                            "is named by {} and by {}; a column is one feature: remove it from one of them",
                            describe(j, &entries[j]),
                            describe(i, e)
                        ),
                    ));
                }
                // two `name` blocks: left to the unique-name check of validate
            } else {
                owner.insert(col.clone(), (i, group));
            }
            origins.push(group.then(|| (i, describe(i, e))));
            out.push(FeatureConfig {
                name: col,
                kind: e.kind,
                dim: e.dim,
                min_count: e.min_count,
                hash_buckets: e.hash_buckets,
                separator: e.separator.clone(),
                scale: e.scale,
                missing: e.missing,
                text: e.text.clone(),
            });
        }
    }
    Ok((out, origins))
}

/// Adds the group to an error about expanded feature `k` (`features[k].dim (feature
/// `x`)` → `... (feature `x`), from features[2] (pattern = "numerical_*")`), so the
/// user finds the block to edit.
pub(super) fn locate(err: Error, origins: &[Origin]) -> Error {
    let Error::Config { what, message } = err else {
        return err;
    };
    let k = what
        .strip_prefix("features[")
        .and_then(|rest| rest.split(']').next())
        .and_then(|n| n.parse::<usize>().ok());
    match k.and_then(|k| origins.get(k)).and_then(|o| o.as_ref()) {
        Some((_, desc)) => Error::Config {
            what: format!("{what}, from {desc}"),
            message,
        },
        None => Error::Config { what, message },
    }
}

/// The run's column names for patterns: `data.columns`, else the fixed layout of a
/// loader that has one, else (with `data_dir` and `header = true`) the first file's
/// header, read only when a pattern needs it.
fn known_columns(
    data: &super::DataConfig,
    data_dir: Option<&std::path::Path>,
) -> Result<Option<Vec<String>>> {
    if let Some(c) = &data.columns {
        return Ok(Some(c.clone()));
    }
    match (data.loader, data_dir) {
        (super::data::Loader::Aliexpress, _) => {
            Ok(Some(crate::data::loaders::aliexpress_columns()))
        }
        (super::data::Loader::Csv, Some(dir))
            if data.header || data.format == super::data::Format::Parquet =>
        {
            crate::data::ingest::read_header(data, dir).map(Some)
        }
        _ => Ok(None),
    }
}

/// [`super::RunConfig`] as written, before the groups are expanded: the same keys with
/// the same defaults, `[[features]]` read as [`FeatureEntry`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRunConfig {
    data: super::DataConfig,
    features: Vec<FeatureEntry>,
    tasks: Vec<super::TaskConfig>,
    #[serde(default)]
    split: super::SplitConfig,
    #[serde(default)]
    model: super::ModelConfig,
    #[serde(default)]
    train: super::RunTrainConfig,
    #[serde(default)]
    recommend: Option<super::recommend::RecommendConfig>,
    #[serde(default)]
    baselines: Option<super::baselines::BaselinesConfig>,
}

impl RawRunConfig {
    /// The run configuration with every group expanded; see [`expand`].
    /// `data_dir`: where `data.files` are, to read a header for patterns (None: only
    /// `data.columns` or a loader's fixed layout name the columns).
    pub(super) fn expand(
        self,
        data_dir: Option<&std::path::Path>,
    ) -> Result<(super::RunConfig, Vec<Origin>)> {
        let columns = match self.features.iter().any(|f| f.pattern.is_some()) {
            true => known_columns(&self.data, data_dir)?,
            false => None,
        };
        let (features, origins) = expand(self.features, columns.as_deref())?;
        let cfg = super::RunConfig {
            data: self.data,
            features,
            tasks: self.tasks,
            split: self.split,
            model: self.model,
            train: self.train,
            recommend: self.recommend,
            baselines: self.baselines,
        };
        Ok((cfg, origins))
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn glob_matches_stars_anywhere() {
        assert!(glob_match("numerical_*", "numerical_12"));
        assert!(glob_match("numerical_*", "numerical_"));
        assert!(!glob_match("numerical_*", "categorical_1"));
        assert!(glob_match("*_1", "categorical_1"));
        assert!(!glob_match("*_1", "categorical_11"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(glob_match("*", ""));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
    }
}
