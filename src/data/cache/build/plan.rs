//! What the streaming build reads of the run config: the table's columns (the needed
//! ones, in `RunConfig::needed_columns` order, as the in-memory table has them), where
//! each feature and task is among them, and whether this config can be streamed at all.

use crate::config::data::Loader;
use crate::config::{FeatureKind, Format, Missing, RunConfig};
use crate::data::features::LabelSpec;

/// The columns and roles of one streamed build.
pub(super) struct Plan<'a> {
    pub cfg: &'a RunConfig,
    /// Table columns: the needed ones (with `[[data.join]]`: those the data files
    /// give), then the funnel's columns if not among them, then the joined ones.
    pub names: Vec<String>,
    /// Table columns of the needed ones, in order (the texts of a dropped row; a
    /// column's number in messages is its place here).
    pub needed: Vec<usize>,
    /// Columns read from the data files: `names[..n_main]`; the rest are joined.
    pub n_main: usize,
    /// `[[data.join]]` (join.rs).
    pub joins: Option<super::join::Joins>,
    /// `[split] kind = "column"`: the table column of each row's set (split_stream.rs).
    pub set_col: Option<usize>,
    /// `[split] kind = "temporal"` / `"item_holdout"`: the table column of each row's
    /// time / item (split_scan.rs).
    pub split_col: Option<usize>,
    /// Table column of each categorical feature, numeric feature, task.
    pub cat: Vec<usize>,
    pub num: Vec<usize>,
    pub tasks: Vec<(usize, LabelSpec)>,
    /// Table column and list separator of each multi-hot feature.
    pub bags: Vec<(usize, String)>,
    /// Per categorical, per numeric feature: `missing = "error"` (a missing cell is
    /// the run's error, found in pass 1: missing.rs).
    pub cat_error: Vec<bool>,
    pub num_error: Vec<bool>,
    /// `(earlier, later)` table columns of the data set's funnel.
    pub funnel: Option<(usize, usize)>,
    /// `data.missing_values`, trimmed.
    pub missing: Vec<String>,
    /// Per multi-hot feature: `missing = "error"` (missing.rs).
    pub bag_error: Vec<bool>,
    /// Table column of each text feature (`FeatureSpec::text` order; text.rs).
    pub text: Vec<usize>,
    /// `data.dedup` (dedup.rs).
    pub dedup: bool,
}

/// Whether categorical feature `f` has an id embedding (not `[features.text]` with
/// `mode = "text"`): the features of `FeatureSpec::categorical`.
pub(super) fn has_id(f: &crate::config::FeatureConfig) -> bool {
    f.text.as_ref().is_none_or(|t| t.mode.uses_id())
}

/// Why `cfg` is built through the in-memory reader instead (`None`: it streams).
pub(super) fn not_streamable(cfg: &RunConfig) -> Option<String> {
    let d = &cfg.data;
    let why = if std::env::var("MTREC_STREAM").is_ok_and(|v| v == "0") {
        "MTREC_STREAM=0".to_string()
    } else if !matches!(
        d.loader,
        Loader::Csv | Loader::AliCcp | Loader::Aliexpress | Loader::Kuairand
    ) {
        format!("data.loader = {:?}", d.loader)
    } else if !d.header && d.columns.is_none() && d.format != Format::Parquet {
        "data.header = false without data.columns".into()
    } else {
        return None;
    };
    Some(why)
}

impl<'a> Plan<'a> {
    pub(super) fn new(
        cfg: &'a RunConfig,
        funnel: Option<(&str, &str)>,
        sides: Option<super::join::SideTables>,
    ) -> Plan<'a> {
        let mut names: Vec<String> = match &sides {
            Some(s) => s.main_needed.clone(),
            None => cfg.needed_columns().iter().map(|s| s.to_string()).collect(),
        };
        let index = |names: &mut Vec<String>, n: &str| match names.iter().position(|x| x == n) {
            Some(i) => i,
            None => {
                names.push(n.to_string());
                names.len() - 1
            }
        };
        let funnel = funnel.map(|(e, l)| (index(&mut names, e), index(&mut names, l)));
        let n_main = names.len();
        let joins =
            sides.map(|s| super::join::Joins::new(s, &mut names, n_main, &cfg.data.missing_values));
        let needed = (cfg.needed_columns().iter())
            .filter_map(|n| names.iter().position(|x| x == n))
            .collect();
        let of = |kind: FeatureKind| -> Vec<usize> {
            (cfg.features.iter())
                .filter(|f| f.kind == kind && has_id(f))
                .filter_map(|f| names.iter().position(|n| *n == f.name))
                .collect()
        };
        let (cat, num) = (of(FeatureKind::Categorical), of(FeatureKind::Numeric));
        let bags = (cfg.features.iter())
            .filter(|f| f.kind == FeatureKind::MultiHot)
            .filter_map(|f| {
                Some((
                    names.iter().position(|n| *n == f.name)?,
                    f.separator.clone(),
                ))
            })
            .collect();
        let error_of = |kind: FeatureKind| -> Vec<bool> {
            (cfg.features.iter())
                .filter(|f| f.kind == kind && has_id(f))
                .filter(|f| names.contains(&f.name))
                .map(|f| f.missing_policy() == Missing::Error)
                .collect()
        };
        let (cat_error, num_error) = (
            error_of(FeatureKind::Categorical),
            error_of(FeatureKind::Numeric),
        );
        let bag_error = (cfg.features.iter())
            .filter(|f| f.kind == FeatureKind::MultiHot && names.contains(&f.name))
            .map(|f| f.missing_policy() == Missing::Error)
            .collect();
        let text = (cfg.features.iter())
            .filter(|f| f.kind == FeatureKind::Categorical)
            .filter_map(|f| f.text.as_ref().filter(|t| t.mode.uses_text()))
            .filter_map(|t| names.iter().position(|n| *n == t.column))
            .collect();
        let tasks = (cfg.tasks.iter())
            .filter_map(|t| {
                let c = names.iter().position(|n| *n == t.column)?;
                Some((c, LabelSpec::new(t)))
            })
            .collect();
        let mut plan = Plan {
            cfg,
            missing: (cfg.data.missing_values.iter())
                .map(|m| m.trim().to_string())
                .collect(),
            names,
            needed,
            n_main,
            joins,
            cat,
            num,
            cat_error,
            num_error,
            tasks,
            bags,
            funnel,
            bag_error,
            text,
            dedup: cfg.data.dedup,
            set_col: None,
            split_col: None,
        };
        plan.set_col = super::split_stream::set_column(&plan);
        plan.split_col = super::split_scan::split_column(&plan);
        plan
    }

    /// The 1-based number of table column `c` in messages: its place among the needed
    /// columns (the in-memory table's), as `RawTable::cell_error` numbers it.
    pub(super) fn column_number(&self, c: usize) -> usize {
        self.needed.iter().position(|&n| n == c).unwrap_or(c) + 1
    }
}
