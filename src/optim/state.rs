//! Per-scalar optimiser state (momentum buffer, Adam moments) laid out like the store.

use super::StateTensor;
use crate::autograd::{ParamId, ParamStore};
use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// One f32 of state per parameter scalar, allocated on the first step.
///
/// `dense` mirrors [`ParamStore::dense_mut`] element for element; `tables[i]` mirrors the
/// values of the i-th table, `(N_i, D_i)` row-major, so row `r` of a table's state is
/// `tables[i][r·D_i..(r+1)·D_i]`, the same range as the row's values.
#[derive(Clone, Debug, Default)]
pub(crate) struct State {
    /// `None` until the first step.
    pub sizes: Option<Sizes>,
    pub dense: Vec<f32>,       // (P,)  P = number of dense scalars
    pub tables: Vec<Vec<f32>>, // per table (N, D)
}

/// The store layout the state was built for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sizes {
    dense: usize,
    tables: Vec<usize>,
}

impl Sizes {
    fn of(store: &mut ParamStore) -> Sizes {
        let dense = store.dense_mut().0.len();
        let tables = store.tables_mut().iter().map(|t| t.value.len()).collect();
        Sizes { dense, tables }
    }

    /// Whether `store` still has this layout, without allocating (checked every step).
    fn fits(&self, store: &mut ParamStore) -> bool {
        store.dense_mut().0.len() == self.dense
            && store.tables_mut().len() == self.tables.len()
            && store
                .tables_mut()
                .iter()
                .zip(&self.tables)
                .all(|(t, &n)| t.value.len() == n)
    }
}

impl State {
    /// Allocates zeroed state for `store` on the first call; afterwards checks that the
    /// store still has the layout the state was built for.
    pub fn ensure(&mut self, optimiser: &'static str, store: &mut ParamStore) -> Result<()> {
        if self.sizes.as_ref().is_some_and(|s| s.fits(store)) {
            return Ok(());
        }
        let now = Sizes::of(store);
        match &self.sizes {
            None => {
                self.dense = vec![0.0; now.dense];
                self.tables = now.tables.iter().map(|&n| vec![0.0; n]).collect();
                self.sizes = Some(now);
                Ok(())
            }
            Some(s) if *s == now => Ok(()),
            Some(s) => Err(Error::Config {
                what: format!("{optimiser} state"),
                message: format!(
                    "was built for a store with {} dense scalars and table sizes {:?}, but this store has {} and {:?}; \
                     create one optimiser per parameter store, after all parameters are added",
                    s.dense, s.tables, now.dense, now.tables
                ),
            }),
        }
    }
}

impl State {
    /// The state of parameter `id`: its range of the dense state, or the whole `(N, D)`
    /// state of its table. `None` before the first step or for an id not in the store.
    pub fn of(&self, store: &ParamStore, id: ParamId) -> Option<&[f32]> {
        self.sizes.as_ref()?;
        store.check("optimiser state", id).ok()?;
        if let Some(offset) = store.dense_offset(id) {
            let info = store.info(id);
            self.dense.get(offset..offset + info.rows * info.cols)
        } else {
            self.tables
                .get(store.table_index(id)?)
                .map(|t| t.as_slice())
        }
    }
}

impl State {
    /// Like [`State::of`], writable; allocates the state for `store` first if needed.
    pub fn of_mut(&mut self, store: &mut ParamStore, id: ParamId) -> Result<&mut [f32]> {
        self.ensure("optimiser state", store)?;
        store.check("optimiser state", id)?;
        let info = store.info(id);
        let n = info.rows * info.cols;
        Ok(match store.dense_offset(id) {
            Some(offset) => &mut self.dense[offset..offset + n],
            None => {
                let i = store
                    .table_index(id)
                    .expect("a parameter is dense or a table");
                &mut self.tables[i]
            }
        })
    }
}

/// Export and import for checkpoints ([`super::Optimizer::export_state`]).
impl State {
    /// `<kind>/<name>`, `[rows, cols]` and the state of every parameter of `store`, in
    /// store order; empty before the first step.
    pub fn export<'a>(&'a self, store: &ParamStore, kind: &str) -> Vec<StateTensor<'a>> {
        store
            .ids()
            .filter_map(|id| {
                let info = store.info(id);
                Some(StateTensor {
                    name: format!("{kind}/{}", info.name),
                    shape: vec![info.rows, info.cols],
                    values: self.of(store, id)?,
                })
            })
            .collect()
    }

    /// Replaces the state by the tensors named `<kind>/<name>` in `tensors`, which must
    /// hold exactly one per parameter of `store`, of its shape. With no tensor of this
    /// kind at all the state becomes "before the first step" and the result is `false`.
    /// On error the state is also reset; the message lists every problem.
    pub fn import(
        &mut self,
        optimiser: &str,
        store: &ParamStore,
        kind: &str,
        tensors: &[StateTensor<'_>],
    ) -> Result<bool> {
        *self = State::default();
        let prefix = format!("{kind}/");
        let mut given: BTreeMap<&str, &StateTensor<'_>> = BTreeMap::new();
        let mut problems = Vec::new();
        for t in tensors.iter().filter(|t| t.name.starts_with(&prefix)) {
            if given.insert(&t.name, t).is_some() {
                problems.push(format!("tensor `{}` is given twice", t.name));
            }
        }
        if given.is_empty() && problems.is_empty() {
            return Ok(false);
        }
        let mut fresh = State {
            sizes: Some(Sizes {
                dense: store.dense().len(),
                tables: store.tables().iter().map(|t| t.value.len()).collect(),
            }),
            dense: vec![0.0; store.dense().len()],
            tables: store
                .tables()
                .iter()
                .map(|t| vec![0.0; t.value.len()])
                .collect(),
        };
        let mut missing = Vec::new();
        for id in store.ids() {
            let info = store.info(id);
            let name = format!("{prefix}{}", info.name);
            let Some(t) = given.remove(name.as_str()) else {
                missing.push(format!("`{name}`"));
                continue;
            };
            let n = info.rows * info.cols;
            if t.shape != [info.rows, info.cols] || t.values.len() != n {
                problems.push(format!(
                    "tensor `{name}` has shape {:?} ({} values) but the parameter is [{}, {}]",
                    t.shape,
                    t.values.len(),
                    info.rows,
                    info.cols
                ));
                continue;
            }
            if let Some(offset) = store.dense_offset(id) {
                fresh.dense[offset..offset + n].copy_from_slice(t.values);
            } else if let Some(ti) = store.table_index(id) {
                fresh.tables[ti].copy_from_slice(t.values); // (N, D)
            }
        }
        if !missing.is_empty() {
            problems.push(format!("missing: {}", missing.join(", ")));
        }
        if !given.is_empty() {
            let names: Vec<String> = given.keys().map(|k| format!("`{k}`")).collect();
            problems.push(format!(
                "not parameters of this model: {}",
                names.join(", ")
            ));
        }
        if !problems.is_empty() {
            return Err(Error::Config {
                what: format!("{optimiser} state `{kind}`"),
                message: format!(
                    "does not fit the model's parameters: {}; resume with the model configuration the state was saved with",
                    problems.join("; ")
                ),
            });
        }
        *self = fresh;
        Ok(true)
    }
}
