//! Embedding lookup: row `idx[i]` of a `(V, D)` table for each sample. The table's
//! gradient is row-sparse (only the rows a batch touched), see `autograd::ParamStore`.

use super::init::Init;
use crate::autograd::{Graph, ParamId, ParamStore, Var};
use crate::error::{Error, Result};
use ndarray_rand::rand::Rng;

/// A table of `V` vectors of width `D`.
#[derive(Clone, Debug)]
pub struct Embedding {
    /// `(V, D)`, named `<name>.table`.
    pub table: ParamId,
    pub vocab: usize,
    pub dim: usize,
}

impl Embedding {
    /// Adds `<name>.table` drawn with `init` (typically `Init::Normal { std: 0.01 }`).
    pub fn new<R: Rng + ?Sized>(
        store: &mut ParamStore,
        name: &str,
        vocab: usize,
        dim: usize,
        init: Init,
        rng: &mut R,
    ) -> Result<Embedding> {
        if vocab == 0 || dim == 0 {
            return Err(Error::Config {
                what: format!("embedding `{name}`"),
                message: format!(
                    "vocabulary and width must be positive, got V = {vocab}, D = {dim}"
                ),
            });
        }
        let table = store.add_table(
            &format!("{name}.table"),
            vocab,
            dim,
            init.draw(rng, vocab, dim),
        )?;
        Ok(Embedding { table, vocab, dim })
    }

    /// `idx (B) → rows (B, D)`; an index ≥ V is an `Error::Index`.
    pub fn forward(&self, g: &mut Graph, store: &ParamStore, idx: &[u32]) -> Result<Var> {
        g.gather(store, self.table, idx) // (B, D)
    }
}
