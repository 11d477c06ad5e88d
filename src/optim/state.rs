//! Per-scalar optimiser state (momentum buffer, Adam moments) laid out like the store.

use crate::autograd::{ParamId, ParamStore};
use crate::error::{Error, Result};

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
}

impl State {
    /// Allocates zeroed state for `store` on the first call; afterwards checks that the
    /// store still has the layout the state was built for.
    pub fn ensure(&mut self, optimiser: &'static str, store: &mut ParamStore) -> Result<()> {
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
