//! [`Recommender`]: a loaded run ready to rank the catalogue for any user.
//!
//! Each side is encoded once with the run's [`FeatureSpec`] (same vocabularies, same
//! numeric scaling as at training, unseen values → the out-of-vocabulary id 0): the
//! catalogue when loaded, a user when asked. A (user, item) row is then assembled by
//! taking every user-side feature from the user's encoding and every item-side feature
//! from the item's: encoding is per cell, so this equals encoding the combined row.

use super::catalogue::SideTable;
use super::config::RecommendConfig;
use super::ensemble::{Ensemble, Member, UserRows};
use super::fusion::{Fusion, TaskScale};
use super::load::{self, LoadedModel, RunData, Sides};
use super::text::TextSource;
use super::topk::{top_k, top_k_capped, Scored};
use super::two_tower::{Partials, TwoTower};
use crate::config::TaskType;
use crate::data::features::Encoded;
use crate::data::ingest::RowSource;
use crate::error::{Error, Result};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

mod score;

/// Rows per forward pass when scoring.
pub const SCORE_BATCH: usize = 8192;

/// One entry of a ranked list.
#[derive(Clone, Debug, PartialEq)]
pub struct Ranked {
    /// Catalogue index of the item (`catalogue.ids[item]` is its id).
    pub item: u32,
    pub score: f32,
    /// Per task: probability (binary) or value (regression).    // (K,)
    pub tasks: Vec<f32>,
}

/// The task values of one user's candidates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScoredUser {
    pub cands: Vec<u32>,
    /// Row-major task values.                                  // (C, K)
    pub values: Vec<f32>,
}

/// What to rank for one request.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    pub k: usize,
    pub fusion: &'a Fusion,
    /// Allow-list of catalogue indices; `None` = the whole catalogue.
    pub candidates: Option<&'a [u32]>,
    pub exclude_history: bool,
    /// At most this many items per value of the diversity column.
    pub max_per_value: Option<usize>,
}

/// How pairs are scored (`--two-tower` / `--plain` of `mtrec recommend` and `mtrec serve`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Scoring {
    /// The two-tower split where the run has it (MMoE), else the plain path.
    #[default]
    Auto,
    /// The two-tower split; an error for a run that has none.
    TwoTower,
    /// Every pair's row through the whole network.
    Plain,
}

impl Scoring {
    /// From the flags `--two-tower` and `--plain` (clap keeps them exclusive).
    pub fn from_flags(two_tower: bool, plain: bool) -> Scoring {
        match (two_tower, plain) {
            (true, _) => Scoring::TwoTower,
            (false, true) => Scoring::Plain,
            (false, false) => Scoring::Auto,
        }
    }
}

/// A run loaded for recommendation.
pub struct Recommender {
    pub model: LoadedModel,
    pub rec: RecommendConfig,
    pub sides: Sides,
    pub catalogue: SideTable,
    /// Catalogue rows encoded (user-side columns hold a filler).  // N = catalogue size
    items: Encoded,
    /// Catalogue items with an out-of-vocabulary or missing item-side id.
    pub item_oov: usize,
    /// Diversity value code of each item (when `[recommend.diversity]` is set).
    pub category: Option<Vec<u32>>,
    /// The users of the training split with their user-side texts (first row).
    pub train_users: SideTable,
    /// User id → catalogue items of the user's training rows.
    pub history: HashMap<String, HashSet<u32>>,
    /// How each task's value is put on [0, 1] for fusion.
    pub scales: Vec<TaskScale>,
    /// The run's data and split (kept for `--eval`).
    pub data: RunData,
    /// Two-tower scoring ([`Recommender::use_two_tower`]): the split model and the
    /// catalogue's item-side partial products.
    split: Option<(TwoTower, Partials)>,
    /// Members 1 … M−1 and the combination rules, for an ensemble folder.
    ensemble: Option<Ensemble>,
    /// The lookups of `model.spec`, built once: a request's user row is encoded with
    /// them instead of hashing every vocabulary again.
    prepared: crate::data::features::SpecLookups,
    /// The encoder and cache of text features (`super::text`).
    text: TextSource,
    /// An ensemble scored with its members' two-tower splits (`split` is member 0's,
    /// with raw outputs; it may be `None` while another member's is set).
    ensemble_split: bool,
    /// Graphs of the plain path's forward passes, kept between calls (`graphs.rs`).
    graphs: super::graphs::GraphPool,
}

impl Recommender {
    /// Loads `run_dir` (model, spec; or every member of an ensemble folder) and the
    /// run's data under `data_dir` (split, histories, default catalogue); `rec` says
    /// which feature belongs to whom.
    pub fn load(run_dir: &Path, data_dir: &Path, rec: RecommendConfig) -> Result<Recommender> {
        Self::load_with_models(run_dir, data_dir, rec, None)
    }

    /// [`Recommender::load`], looking for the encoder of text features under
    /// `models_dir` first (`--models-dir`; then `$MTREC_MODELS`, `<data-dir>/../models`,
    /// the working directory). The catalogue's item-side texts are embedded here, once
    /// (through the shared text cache).
    pub fn load_with_models(
        run_dir: &Path,
        data_dir: &Path,
        rec: RecommendConfig,
        models_dir: Option<&Path>,
    ) -> Result<Recommender> {
        let (model, ens) = if crate::ensemble::is_ensemble(run_dir) {
            let file = crate::ensemble::EnsembleFile::read(run_dir)?;
            let mut models = file
                .member_dirs(run_dir)
                .iter()
                .map(|dir| load::load_model(dir))
                .collect::<Result<Vec<_>>>()?;
            let first = models.remove(0);
            (first, Some((file, models)))
        } else {
            (load::load_model(run_dir)?, None)
        };
        let mut features: Vec<String> = Vec::new();
        for spec in std::iter::once(&model.spec)
            .chain(ens.iter().flat_map(|(_, ms)| ms.iter().map(|m| &m.spec)))
        {
            features.extend(spec.feature_columns().iter().map(|f| f.to_string()));
        }
        let features: Vec<&str> = features.iter().map(|f| f.as_str()).collect();
        let sides = load::sides_in(&model.spec, &rec, &features)?;
        let mut cfgs = vec![&model.cfg];
        cfgs.extend(ens.iter().flat_map(|(_, ms)| ms.iter().map(|m| &m.cfg)));
        let data = load::load_data(&cfgs, &rec, data_dir)?;
        let catalogue = load::catalogue(&rec, &data, &model.cfg, data_dir)?;
        let train_users = SideTable::from_rows(
            &data.table,
            &data.train,
            rec.user_column(),
            &rec.user_features,
            "the training split's users",
        )?;
        if train_users.is_empty() {
            return Err(Error::Config {
                what: "training split".into(),
                message: "has no rows".into(),
            });
        }
        let history = train_histories(&data, &rec, &catalogue);
        let labels = train_labels(&model, &data)?;
        let scales = Fusion::scales(&model.cfg.tasks, &labels);
        let category = category_codes(&rec, &catalogue);
        let prepared = model.spec.prepare();
        let mut r = Recommender {
            prepared,
            model,
            rec,
            sides,
            catalogue,
            items: Encoded::default(),
            item_oov: 0,
            category,
            train_users,
            history,
            scales,
            data,
            split: None,
            ensemble: None,
            text: TextSource::new(run_dir, data_dir, models_dir),
            ensemble_split: false,
            graphs: Default::default(),
        };
        let cat = r.catalogue.clone();
        r.items = r.encode_side(false, &cat)?;
        r.item_oov = r.oov_rows(false, &r.items);
        if let Some((file, models)) = ens {
            let mut others = Vec::with_capacity(models.len());
            for model in models {
                let sides = load::sides_in(&model.spec, &r.rec, &features)?;
                let items = r.encode_with(&model.spec, &sides, false, &cat)?;
                others.push(Member {
                    model,
                    sides,
                    items,
                    split: None,
                });
            }
            r.ensemble = Some(Ensemble { file, others });
        }
        Ok(r)
    }

    /// Whether this was loaded from an ensemble folder.
    pub fn is_ensemble(&self) -> bool {
        self.ensemble.is_some()
    }

    /// Encodes users (a side table of [`Recommender::user_table`]) with the spec of
    /// every member.
    pub fn encode_users(&self, rows: &SideTable) -> Result<UserRows> {
        let others = match &self.ensemble {
            None => Vec::new(),
            Some(e) => e
                .others
                .iter()
                .map(|m| self.encode_with(&m.model.spec, &m.sides, true, rows))
                .collect::<Result<_>>()?,
        };
        Ok(UserRows {
            first: self.encode_side(true, rows)?,
            others,
        })
    }

    /// Encodes the rows of a side table (`user`: the user side) with the spec; the
    /// other side's columns hold the first row of that side (never read).
    pub fn encode_side(&self, user: bool, rows: &SideTable) -> Result<Encoded> {
        self.encode_with(&self.model.spec, &self.sides, user, rows)
    }

    /// [`Recommender::encode_side`] with the spec `spec` and its `sides` (an ensemble
    /// member's). Text features of this side are embedded (`super::text`).
    fn encode_with(
        &self,
        spec: &crate::data::features::FeatureSpec,
        sides: &Sides,
        user: bool,
        rows: &SideTable,
    ) -> Result<Encoded> {
        let names: Vec<String> = spec
            .feature_columns()
            .iter()
            .map(|s| s.to_string())
            .collect();
        let other = if user {
            &self.catalogue
        } else {
            &self.train_users
        };
        let mut src: Vec<(&[String], bool)> = Vec::new(); // per column: texts, from `rows`
        for n in &names {
            let mine = if user {
                &self.rec.user_features
            } else {
                &self.rec.item_features
            };
            if mine.contains(n) {
                let col = rows.column(n).ok_or_else(|| Error::Config {
                    what: format!("feature `{n}`"),
                    message: format!("has no value in {}", rows.origin),
                })?;
                src.push((col, true));
            } else {
                src.push((
                    other
                        .column(n)
                        .expect("side tables hold their side's features"),
                    false,
                ));
            }
        }
        let table = SideTable::raw_table(&names, rows.len(), &rows.origin, |c, r| {
            let (col, own) = src[c];
            if own {
                col[r].clone()
            } else {
                col[0].clone()
            }
        });
        let prepared = std::ptr::eq(spec, &self.model.spec).then_some(&self.prepared);
        let mut enc = spec.encode_prepared(&table, prepared)?;
        self.text.attach(spec, sides, user, &table, &mut enc)?;
        Ok(enc)
    }

    /// Scores with the two-tower split of the first layers from now on (MMoE runs):
    /// the catalogue's item-side partial products are computed here, once. For an
    /// ensemble folder, every MMoE member gets its own split (raw outputs, combined by
    /// the ensemble's rule); the others stay on the plain path, said once on stderr. An
    /// error when no model can split.
    pub fn use_two_tower(&mut self) -> Result<()> {
        let Some(ens) = &self.ensemble else {
            let tt = TwoTower::new(self)?;
            let items = tt.partials(self, &self.items, false)?;
            self.split = Some((tt, items));
            return Ok(());
        };
        let mut splits = Vec::with_capacity(ens.others.len());
        let mut plain = Vec::new();
        let first = std::iter::once((&self.model, &self.sides, &self.items));
        let others = ens.others.iter().map(|m| (&m.model, &m.sides, &m.items));
        for (j, (model, sides, items)) in first.chain(others).enumerate() {
            let split = match TwoTower::of(model, sides) {
                Ok(tt) => {
                    let tt = tt.raw();
                    let p = tt.partials_of(model, items, false)?;
                    Some((tt, p))
                }
                Err(_) => {
                    plain.push(format!("{j} ({:?})", model.cfg.model.arch));
                    None
                }
            };
            splits.push(split);
        }
        if splits.iter().all(Option::is_none) {
            return Err(Error::Config {
                what: "--two-tower".into(),
                message: "no member of this ensemble is an MMoE run, so none has the two-tower split; drop --two-tower (or use --plain)".into(),
            });
        }
        if !plain.is_empty() {
            eprintln!(
                "two-tower: ensemble member(s) {} have no two-tower split (not MMoE); they score on the plain path",
                plain.join(", ")
            );
        }
        let mut splits = splits.into_iter();
        self.split = splits.next().expect("member 0");
        let ens = self.ensemble.as_mut().expect("an ensemble");
        for (m, s) in ens.others.iter_mut().zip(splits) {
            m.split = s;
        }
        self.ensemble_split = true;
        Ok(())
    }

    /// Scores as `mode` says: [`Scoring::Auto`] takes the two-tower split where the run
    /// has it (MMoE, or an ensemble with an MMoE member; scores equal to the plain
    /// path's within 1e-5) and the plain path otherwise. Returns whether the split is
    /// used.
    pub fn set_scoring(&mut self, mode: Scoring) -> Result<bool> {
        let mmoe = |m: &LoadedModel| m.cfg.model.arch == crate::config::Arch::Mmoe;
        let split = match mode {
            Scoring::Plain => false,
            Scoring::TwoTower => true,
            Scoring::Auto => {
                mmoe(&self.model)
                    || (self.ensemble.iter()).any(|e| e.others.iter().any(|m| mmoe(&m.model)))
            }
        };
        self.split = None;
        self.ensemble_split = false;
        if let Some(e) = self.ensemble.as_mut() {
            e.others.iter_mut().for_each(|m| m.split = None);
        }
        if split {
            self.use_two_tower()?;
        }
        Ok(split)
    }

    /// The two-tower split and the catalogue's partials, when pairs are scored with it
    /// (a single run's: an ensemble's members are scored by `score_ensemble_split`).
    pub(crate) fn split(&self) -> Option<&(TwoTower, Partials)> {
        self.split.as_ref().filter(|_| !self.ensemble_split)
    }

    /// Forward passes of the plain path run so far (each over up to [`SCORE_BATCH`]
    /// pair rows, of one request or of several scored together).
    pub fn plain_passes(&self) -> u64 {
        self.graphs.passes()
    }

    /// Whether pairs are scored with the two-tower split (an ensemble: by some member).
    pub fn uses_two_tower(&self) -> bool {
        self.split.is_some() || self.ensemble_split
    }

    /// Catalogue indices of item ids (for [`Request::candidates`]), and how many of
    /// `ids` are not in the catalogue.
    pub fn item_indices<S: AsRef<str>>(&self, ids: &[S]) -> (Vec<u32>, usize) {
        let mut out = Vec::with_capacity(ids.len());
        let mut unknown = 0;
        for id in ids {
            match self.catalogue.position(id.as_ref()) {
                Some(i) => out.push(i as u32),
                None => unknown += 1,
            }
        }
        (out, unknown)
    }

    /// The catalogue encoded (the user-side columns hold a filler).     // (N_items, ·)
    pub fn items(&self) -> &Encoded {
        &self.items
    }

    /// Rows of `enc` with id 0 (unknown or missing) in a categorical feature of the side.
    pub fn oov_rows(&self, user: bool, enc: &Encoded) -> usize {
        let fc = enc.n_cat;
        (0..enc.len())
            .filter(|&r| (0..fc).any(|f| self.sides.cat[f] == user && enc.cat[r * fc + f] == 0))
            .count()
    }

    /// The user-side texts of user `id`: `given` (column → text) first, then the
    /// user's first training row. A user with neither gets an error naming the feature.
    pub fn user_table(
        &self,
        users: &[(String, BTreeMap<String, String>)],
        origin: &str,
    ) -> Result<SideTable> {
        let mut rows = Vec::with_capacity(users.len());
        for (id, given) in users {
            let known = self.train_users.position(id);
            let mut vals = Vec::new();
            for f in &self.rec.user_features {
                let v = match (given.get(f).filter(|v| !v.trim().is_empty()), known) {
                    (Some(v), _) => v.clone(),
                    (None, Some(r)) => self.train_users.column(f).expect("user feature")[r].clone(),
                    (None, None) => {
                        return Err(Error::Config {
                            what: format!("user `{id}`"),
                            message: format!("is not in the training data and {origin} gives no `{f}`: add the column"),
                        })
                    }
                };
                vals.push(v);
            }
            rows.push((id.clone(), vals));
        }
        Ok(SideTable::from_ordered(
            origin,
            self.rec.user_features.clone(),
            rows,
        ))
    }
}

/// Each training user's items, as catalogue indices (what `exclude_history` removes).
fn train_histories(
    data: &RunData,
    rec: &RecommendConfig,
    catalogue: &SideTable,
) -> HashMap<String, HashSet<u32>> {
    let item_col = data
        .table
        .column(rec.item_column())
        .expect("loaded with the item column");
    let user_col = data
        .table
        .column(rec.user_column())
        .expect("loaded with the user column");
    let mut history: HashMap<String, HashSet<u32>> = HashMap::new();
    for &r in &data.train {
        if let Some(i) = catalogue.position(item_col.get(r)) {
            history
                .entry(user_col.get(r).to_string())
                .or_default()
                .insert(i as u32);
        }
    }
    history
}

/// Each task's labelled training values (the fusion's scales are fitted on them).
fn train_labels(model: &LoadedModel, data: &RunData) -> Result<Vec<Vec<f32>>> {
    let mv = &model.spec.missing_values;
    let mut labels = Vec::new();
    for l in &model.spec.tasks {
        let (y, m) = l.encode(&data.table, mv)?;
        labels.push(
            data.train
                .iter()
                .filter(|&&r| m[r] > 0.0)
                .map(|&r| y[r])
                .collect::<Vec<f32>>(),
        );
    }
    Ok(labels)
}

/// `recommend.diversity`: each catalogue item's category as a code 0, 1, … in order of
/// first appearance.
fn category_codes(rec: &RecommendConfig, catalogue: &SideTable) -> Option<Vec<u32>> {
    rec.diversity.as_ref().map(|div| {
        let col = catalogue
            .column(&div.column)
            .expect("catalogue read with the diversity column");
        let mut codes = HashMap::new();
        col.iter()
            .map(|v| {
                let n = codes.len() as u32;
                *codes.entry(v.clone()).or_insert(n)
            })
            .collect()
    })
}
