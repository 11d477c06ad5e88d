//! The parameter store: every trainable tensor of a model and its gradient.
//!
//! Dense parameters (weights, biases, gains) live in **one allocation** (`dense`), with
//! their gradients in a second one of the same layout (`dense_grad`): zeroing every
//! gradient is one fill and an optimiser step is one flat loop (llm.c).
//!
//! Embedding tables are kept apart: their gradient is **row-sparse**. A batch touches
//! B rows of a table of N rows, so the backward pass records only those rows
//! ([`SparseGrad`]) and the optimiser updates only them. Step time does not grow with N.

use crate::error::{Error, Result};

/// Handle to one parameter in a [`ParamStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamId(pub(crate) u32);

impl ParamId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Dense (whole-tensor gradient) or table (row-sparse gradient).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    Dense,
    Table,
}

/// Name and shape of a parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamInfo {
    pub name: String,
    pub rows: usize,
    pub cols: usize,
    pub kind: ParamKind,
}

#[derive(Clone, Copy, Debug)]
enum Loc {
    Dense { offset: usize },
    Table { index: usize },
}

/// Gradient of an embedding table: only the rows a batch touched.
///
/// `rows[k]` is the k-th touched table row (first-touch order, so deterministic);
/// `values[k*D..(k+1)*D]` its accumulated gradient. `slot[r]` maps a table row to k
/// (`u32::MAX` when untouched); clearing resets only the touched slots.
#[derive(Clone, Debug, Default)]
pub struct SparseGrad {
    cols: usize,
    rows: Vec<u32>,
    values: Vec<f32>,
    slot: Vec<u32>,
}

impl SparseGrad {
    fn new(table_rows: usize, cols: usize) -> SparseGrad {
        SparseGrad {
            cols,
            rows: Vec::new(),
            values: Vec::new(),
            slot: vec![u32::MAX; table_rows],
        }
    }

    /// D, the width of a row.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The touched table rows, in first-touch order.
    pub fn touched(&self) -> &[u32] {
        &self.rows
    }

    /// Accumulated gradient of the k-th touched row.
    pub fn row(&self, k: usize) -> &[f32] {
        &self.values[k * self.cols..(k + 1) * self.cols]
    }

    /// All touched rows' gradients, `(touched.len(), D)` row-major.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// Gradient row for table row `r`, created (zeroed) on first touch.
    pub fn row_mut(&mut self, r: u32) -> &mut [f32] {
        let mut k = self.slot[r as usize];
        if k == u32::MAX {
            k = self.rows.len() as u32;
            self.slot[r as usize] = k;
            self.rows.push(r);
            self.values.resize(self.values.len() + self.cols, 0.0);
        }
        let k = k as usize;
        &mut self.values[k * self.cols..(k + 1) * self.cols]
    }

    /// Forget all touched rows; cost proportional to the rows touched, not the table.
    pub fn clear(&mut self) {
        for &r in &self.rows {
            self.slot[r as usize] = u32::MAX;
        }
        self.rows.clear();
        self.values.clear();
    }

    /// Scale every stored gradient value (used by gradient clipping).
    pub fn scale(&mut self, s: f32) {
        self.values.iter_mut().for_each(|v| *v *= s);
    }
}

/// One embedding table: its values `(N, D)` and its row-sparse gradient.
#[derive(Clone, Debug)]
pub struct Table {
    pub value: Vec<f32>,
    pub grad: SparseGrad,
}

/// All trainable parameters of a model.
#[derive(Clone, Debug, Default)]
pub struct ParamStore {
    infos: Vec<ParamInfo>,
    locs: Vec<Loc>,
    dense: Vec<f32>,
    dense_grad: Vec<f32>,
    tables: Vec<Table>,
    /// Int8 versions of dense weights (`mtrec compress --int8`), by parameter index: in
    /// evaluation mode [`crate::nn::Linear`] multiplies with these instead of the f32
    /// values (which then hold the dequantised weights).
    int8: std::collections::BTreeMap<usize, std::sync::Arc<crate::ops::gemm_i8::QuantMatrix>>,
}

impl ParamStore {
    pub fn new() -> ParamStore {
        ParamStore::default()
    }

    /// Attaches the int8 version of dense weight `id` (see the `int8` field).
    pub fn set_int8(&mut self, id: ParamId, w: crate::ops::gemm_i8::QuantMatrix) {
        self.int8.insert(id.index(), std::sync::Arc::new(w));
    }

    /// The int8 version of dense weight `id`, if the run was compressed.
    pub fn int8(&self, id: ParamId) -> Option<&crate::ops::gemm_i8::QuantMatrix> {
        self.int8.get(&id.index()).map(|w| &**w)
    }

    /// Number of weights with an int8 version.
    pub fn num_int8(&self) -> usize {
        self.int8.len()
    }

    fn check_new(
        &self,
        op: &'static str,
        name: &str,
        rows: usize,
        cols: usize,
        init: &[f32],
    ) -> Result<()> {
        if self.find(name).is_some() {
            return Err(Error::Config {
                what: format!("parameter name `{name}`"),
                message: "already used in this store; give each parameter a unique name".into(),
            });
        }
        if init.len() != rows * cols {
            return Err(Error::Length {
                op,
                what: format!("initial value of `{name}`"),
                len: init.len(),
                expected: rows * cols,
            });
        }
        Ok(())
    }

    /// Adds a dense `(rows, cols)` parameter with the given initial values.
    pub fn add_dense(
        &mut self,
        name: &str,
        rows: usize,
        cols: usize,
        init: Vec<f32>,
    ) -> Result<ParamId> {
        self.check_new("ParamStore::add_dense", name, rows, cols, &init)?;
        let offset = self.dense.len();
        self.dense.extend_from_slice(&init);
        self.dense_grad.resize(self.dense.len(), 0.0);
        self.push(name, rows, cols, ParamKind::Dense, Loc::Dense { offset })
    }

    /// Adds an embedding table of `rows` entries of width `cols` (row-sparse gradient).
    pub fn add_table(
        &mut self,
        name: &str,
        rows: usize,
        cols: usize,
        init: Vec<f32>,
    ) -> Result<ParamId> {
        self.check_new("ParamStore::add_table", name, rows, cols, &init)?;
        let index = self.tables.len();
        self.tables.push(Table {
            value: init,
            grad: SparseGrad::new(rows, cols),
        });
        self.push(name, rows, cols, ParamKind::Table, Loc::Table { index })
    }

    fn push(
        &mut self,
        name: &str,
        rows: usize,
        cols: usize,
        kind: ParamKind,
        loc: Loc,
    ) -> Result<ParamId> {
        self.infos.push(ParamInfo {
            name: name.to_string(),
            rows,
            cols,
            kind,
        });
        self.locs.push(loc);
        Ok(ParamId(self.infos.len() as u32 - 1))
    }

    /// Number of parameters (tensors, not scalars).
    pub fn len(&self) -> usize {
        self.infos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.infos.is_empty()
    }

    /// All parameter handles in creation order.
    pub fn ids(&self) -> impl Iterator<Item = ParamId> {
        (0..self.infos.len() as u32).map(ParamId)
    }

    /// Total number of scalars.
    pub fn num_scalars(&self) -> usize {
        self.dense.len() + self.tables.iter().map(|t| t.value.len()).sum::<usize>()
    }

    pub fn info(&self, id: ParamId) -> &ParamInfo {
        &self.infos[id.index()]
    }

    /// The parameter called `name`, if any.
    pub fn find(&self, name: &str) -> Option<ParamId> {
        self.infos
            .iter()
            .position(|i| i.name == name)
            .map(|i| ParamId(i as u32))
    }

    /// Checks that `id` belongs to this store (an id from another store is a caller bug
    /// that would otherwise read the wrong tensor).
    pub fn check(&self, op: &'static str, id: ParamId) -> Result<()> {
        if id.index() < self.infos.len() {
            Ok(())
        } else {
            Err(Error::Handle {
                op,
                message: format!(
                    "parameter #{} does not exist in this store ({} parameters)",
                    id.0,
                    self.infos.len()
                ),
            })
        }
    }

    /// Current values, row-major.
    pub fn value(&self, id: ParamId) -> &[f32] {
        let info = &self.infos[id.index()];
        match self.locs[id.index()] {
            Loc::Dense { offset } => &self.dense[offset..offset + info.rows * info.cols],
            Loc::Table { index } => &self.tables[index].value,
        }
    }

    pub fn value_mut(&mut self, id: ParamId) -> &mut [f32] {
        let n = self.infos[id.index()].rows * self.infos[id.index()].cols;
        match self.locs[id.index()] {
            Loc::Dense { offset } => &mut self.dense[offset..offset + n],
            Loc::Table { index } => &mut self.tables[index].value,
        }
    }

    /// Gradient of a dense parameter; `None` for a table (see [`ParamStore::sparse_grad`]).
    pub fn grad(&self, id: ParamId) -> Option<&[f32]> {
        let n = self.infos[id.index()].rows * self.infos[id.index()].cols;
        match self.locs[id.index()] {
            Loc::Dense { offset } => Some(&self.dense_grad[offset..offset + n]),
            Loc::Table { .. } => None,
        }
    }

    /// Mutable gradient of a dense parameter, where backward passes accumulate.
    pub fn grad_mut(&mut self, id: ParamId) -> Option<&mut [f32]> {
        let n = self.infos[id.index()].rows * self.infos[id.index()].cols;
        match self.locs[id.index()] {
            Loc::Dense { offset } => Some(&mut self.dense_grad[offset..offset + n]),
            Loc::Table { .. } => None,
        }
    }

    /// Row-sparse gradient of a table; `None` for a dense parameter.
    pub fn sparse_grad(&self, id: ParamId) -> Option<&SparseGrad> {
        match self.locs[id.index()] {
            Loc::Table { index } => Some(&self.tables[index].grad),
            Loc::Dense { .. } => None,
        }
    }

    pub fn sparse_grad_mut(&mut self, id: ParamId) -> Option<&mut SparseGrad> {
        match self.locs[id.index()] {
            Loc::Table { index } => Some(&mut self.tables[index].grad),
            Loc::Dense { .. } => None,
        }
    }

    /// The gradient of any parameter as a dense row-major copy (tests, diagnostics).
    pub fn grad_to_vec(&self, id: ParamId) -> Vec<f32> {
        match self.grad(id) {
            Some(g) => g.to_vec(),
            None => {
                let info = &self.infos[id.index()];
                let sg = self
                    .sparse_grad(id)
                    .expect("a parameter is dense or a table");
                let mut out = vec![0.0; info.rows * info.cols];
                for (k, &r) in sg.touched().iter().enumerate() {
                    out[r as usize * info.cols..(r as usize + 1) * info.cols]
                        .copy_from_slice(sg.row(k));
                }
                out
            }
        }
    }

    /// Zeroes every gradient: one fill for the dense block, touched rows for tables.
    pub fn zero_grad(&mut self) {
        self.dense_grad.fill(0.0);
        for t in &mut self.tables {
            t.grad.clear();
        }
    }

    /// The flat dense block and its gradient, for optimisers (one loop over all of it).
    pub fn dense_mut(&mut self) -> (&mut [f32], &mut [f32]) {
        (&mut self.dense, &mut self.dense_grad)
    }

    /// The flat dense values (read-only).
    pub fn dense(&self) -> &[f32] {
        &self.dense
    }

    /// The flat dense gradient (read-only).
    pub fn dense_grad(&self) -> &[f32] {
        &self.dense_grad
    }

    /// Offset of a dense parameter inside the flat block (`None` for tables).
    pub fn dense_offset(&self, id: ParamId) -> Option<usize> {
        match self.locs[id.index()] {
            Loc::Dense { offset } => Some(offset),
            Loc::Table { .. } => None,
        }
    }

    /// The embedding tables in creation order, mutable (for optimisers).
    pub fn tables_mut(&mut self) -> &mut [Table] {
        &mut self.tables
    }

    pub fn tables(&self) -> &[Table] {
        &self.tables
    }

    /// Index of a table parameter among [`ParamStore::tables`] (`None` for dense).
    pub fn table_index(&self, id: ParamId) -> Option<usize> {
        match self.locs[id.index()] {
            Loc::Table { index } => Some(index),
            Loc::Dense { .. } => None,
        }
    }
}
