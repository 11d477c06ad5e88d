//! Loading a run folder for recommendation: the model with its saved weights, the
//! feature spec, and the run's data split exactly as at training (same loader, same
//! split seed), from which come the users' histories, the default catalogue, the
//! regression tasks' label ranges and the held-out interactions.

use super::catalogue::SideTable;
use super::config::RecommendConfig;
use crate::config::RunConfig;
use crate::data::features::{split_rows, FeatureSpec};
use crate::data::ingest::RawTable;
use crate::data::loaders::load_table;
use crate::error::{Error, Result};
use std::path::Path;

/// The model of a run folder: config, spec, input layer, model and weights.
pub use crate::train::run::saved::SavedRun as LoadedModel;

/// [`load_saved`](crate::train::run::saved::load_saved). A run with text features is
/// loaded as any other: the texts of each side are embedded when that side is encoded
/// (`super::text`).
pub fn load_model(run_dir: &Path) -> Result<LoadedModel> {
    crate::train::run::saved::load_saved(run_dir)
}

/// Which side each encoded feature comes from: `true` = user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sides {
    pub cat: Vec<bool>,
    pub bags: Vec<bool>,
    pub num: Vec<bool>,
    /// One per text feature (`spec.text`), by the side of its text column.
    pub text: Vec<bool>,
}

/// Checks that every feature of `spec` is in exactly one of the two lists and that
/// the lists name only features.
pub fn sides(spec: &FeatureSpec, rec: &RecommendConfig) -> Result<Sides> {
    sides_in(spec, rec, &spec.feature_columns())
}

/// [`sides`] of one member of an ensemble: the lists may also name `features`, the
/// features of the other members (a name must be a feature of some member).
pub fn sides_in(spec: &FeatureSpec, rec: &RecommendConfig, features: &[&str]) -> Result<Sides> {
    for (list, key) in [
        (&rec.user_features, "user_features"),
        (&rec.item_features, "item_features"),
    ] {
        if let Some(n) = list.iter().find(|n| !features.contains(&n.as_str())) {
            return Err(Error::Config {
                what: format!("recommend.{key}"),
                message: format!(
                    "names `{n}`, which is not a feature of the run; its features are: {}",
                    features.join(", ")
                ),
            });
        }
    }
    let side = |name: &str| -> Result<bool> {
        let u = rec.user_features.iter().any(|n| n == name);
        let i = rec.item_features.iter().any(|n| n == name);
        match (u, i) {
            (true, false) => Ok(true),
            (false, true) => Ok(false),
            (true, true) => Err(Error::Config {
                what: format!("feature `{name}`"),
                message: "is in both recommend.user_features and recommend.item_features; keep it in one".into(),
            }),
            (false, false) => Err(Error::Config {
                what: format!("feature `{name}`"),
                message: "is not assigned: add it to recommend.user_features (--user-features) or recommend.item_features (--item-features)".into(),
            }),
        }
    };
    Ok(Sides {
        cat: spec
            .categorical
            .iter()
            .map(|c| side(&c.name))
            .collect::<Result<_>>()?,
        bags: spec
            .multi_hot
            .iter()
            .map(|b| side(&b.name))
            .collect::<Result<_>>()?,
        num: spec
            .numeric
            .iter()
            .map(|x| side(&x.name))
            .collect::<Result<_>>()?,
        text: spec
            .text
            .iter()
            .map(|t| side(&t.column))
            .collect::<Result<_>>()?,
    })
}

/// The run's data table (the run's columns plus the user, item and diversity columns)
/// and its split, as at training.
pub struct RunData {
    pub table: RawTable,
    pub train: Vec<usize>,
    pub valid: Vec<usize>,
    pub test: Vec<usize>,
}

/// `cfgs`: the run's config, or each member's of an ensemble (same `[data]` and
/// `[split]`; the columns read are those any member needs).
pub fn load_data(cfgs: &[&RunConfig], rec: &RecommendConfig, data_dir: &Path) -> Result<RunData> {
    let cfg = cfgs[0];
    let mut needed = cfg.needed_columns();
    for c in cfgs[1..].iter().flat_map(|c| c.needed_columns()) {
        if !needed.contains(&c) {
            needed.push(c);
        }
    }
    let extra = [
        Some(rec.user_column()),
        Some(rec.item_column()),
        rec.diversity.as_ref().map(|div| div.column.as_str()),
    ];
    for c in extra.into_iter().flatten() {
        if !needed.contains(&c) {
            needed.push(c);
        }
    }
    let table = load_table(&cfg.data, data_dir, &needed)?;
    let rows = split_rows(&table, &cfg.split, &cfg.data.missing_values)?;
    Ok(RunData {
        table,
        train: rows.train,
        valid: rows.valid,
        test: rows.test,
    })
}

/// The catalogue: `rec.catalogue` (a CSV with the item column and every item feature);
/// else, for `data.loader = "movielens"` with item column `item_id` and item-side
/// columns that `u.item` has, every movie of `u.item` (so movies rated only in the
/// validation or test split are candidates too); else the distinct items of the
/// training rows. [`SideTable::origin`] says which.
pub fn catalogue(
    rec: &RecommendConfig,
    data: &RunData,
    cfg: &RunConfig,
    data_dir: &Path,
) -> Result<SideTable> {
    let mut cols = rec.item_features.clone();
    if let Some(div) = &rec.diversity {
        if !cols.contains(&div.column) {
            cols.push(div.column.clone());
        }
    }
    use crate::data::loaders::movielens;
    let from_u_item = cfg.data.loader == crate::config::data::Loader::Movielens
        && rec.item_column() == "item_id"
        && cols
            .iter()
            .all(|c| movielens::ITEM_COLUMNS[1..].contains(&c.as_str()) || c == "item_id");
    let out = match &rec.catalogue {
        Some(path) => SideTable::read_csv(Path::new(path), rec.item_column(), &cols, &[])?,
        None if from_u_item => {
            let (items, files) = movielens::items(&cfg.data, data_dir)?;
            let rows = items
                .into_iter()
                .map(|(id, texts)| {
                    let vals = cols
                        .iter()
                        .map(|c| match c.as_str() {
                            "item_id" => id.to_string(),
                            c => {
                                let at = movielens::ITEM_COLUMNS[1..]
                                    .iter()
                                    .position(|n| *n == c)
                                    .expect("checked above");
                                texts[at].clone()
                            }
                        })
                        .collect();
                    (id.to_string(), vals)
                })
                .collect();
            SideTable::from_ordered(&files.join(", "), cols.clone(), rows)
        }
        None => SideTable::from_rows(
            &data.table,
            &data.train,
            rec.item_column(),
            &cols,
            "the training split's items",
        )?,
    };
    if out.is_empty() {
        return Err(Error::Config {
            what: "catalogue".into(),
            message: format!("{} has no items", out.origin),
        });
    }
    Ok(out)
}
