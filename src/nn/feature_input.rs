//! The input layer of a tabular model: one embedding table per categorical and per
//! multi-hot feature, and the numeric features as they are, side by side.
//!
//! ```text
//! x = [ T_1[id_1] | … | T_F[id_F] | mean T'_1[bag_1] | … | mean T'_M[bag_M] | num ]   (B, D_in)
//!      categorical, config order    multi-hot, config order                  (B, F_num)
//!
//! D_in = Σ_f dim_f + Σ_m dim_m + F_num
//! ```
//!
//! Feature f's table is `<name>.emb.<feature name>`, `(V_f + 1, dim_f)`: row 0 is the
//! out-of-vocabulary / missing vector, rows 1..=V_f the vocabulary (or hash buckets).
//! Tables are drawn from N(0, 0.05²) by default ([`EMBEDDING_INIT`]): small enough that
//! 30 concatenated embeddings start near the scale of standardised numerics. PyTorch's
//! `nn.Embedding` default, N(0, 1), is [`FeatureInput::with_init`] with
//! `Init::Normal { std: 1.0 }`. Their gradients are row-sparse: a batch touches only
//! the rows it looked up.
//!
//! (This layer reads the fitted [`FeatureSpec`] and the [`EncodedBatch`] layout of
//! `data::features` directly: the one place where `nn` knows the data layer's types.)

use super::init::Init;
use crate::autograd::{Graph, ParamId, ParamStore, Var};
use crate::data::features::{EncodedBatch, FeatureSpec};
use crate::error::{Error, Result};
use ndarray_rand::rand::Rng;

/// Default initialisation of the embedding tables: N(0, 0.05²).
pub const EMBEDDING_INIT: Init = Init::Normal { std: 0.05 };

/// One embedding table of the input layer.
#[derive(Clone, Debug)]
pub struct InputTable {
    /// The feature's name.
    pub feature: String,
    /// `(V + 1, dim)`, named `<name>.emb.<feature>`.
    pub table: ParamId,
    pub rows: usize,
    pub dim: usize,
}

/// Embeddings of every categorical and multi-hot feature, then the numerics.
#[derive(Clone, Debug)]
pub struct FeatureInput {
    /// One per categorical feature, in feature order.
    pub categorical: Vec<InputTable>,
    /// One per multi-hot feature (mean of the bag's rows), in feature order.
    pub multi_hot: Vec<InputTable>,
    /// F_num.
    pub n_num: usize,
}

impl FeatureInput {
    /// Adds a table per embedded feature of `spec`, drawn with [`EMBEDDING_INIT`].
    pub fn new<R: Rng + ?Sized>(
        store: &mut ParamStore,
        name: &str,
        spec: &FeatureSpec,
        rng: &mut R,
    ) -> Result<FeatureInput> {
        Self::with_init(store, name, spec, EMBEDDING_INIT, rng)
    }

    /// Like [`FeatureInput::new`], with the tables drawn from `init`.
    pub fn with_init<R: Rng + ?Sized>(
        store: &mut ParamStore,
        name: &str,
        spec: &FeatureSpec,
        init: Init,
        rng: &mut R,
    ) -> Result<FeatureInput> {
        if spec.d_in() == 0 {
            return Err(Error::Config {
                what: format!("input layer `{name}`"),
                message: "has no features; add at least one [[features]] table".into(),
            });
        }
        let mut add = |feature: &str, v: usize, dim: usize| -> Result<InputTable> {
            let rows = v + 1;
            let table = store.add_table(
                &format!("{name}.emb.{feature}"),
                rows,
                dim,
                init.draw(rng, rows, dim),
            )?;
            Ok(InputTable {
                feature: feature.to_string(),
                table,
                rows,
                dim,
            })
        };
        let categorical = spec
            .categorical
            .iter()
            .map(|c| add(&c.name, c.encoder.size(), c.dim))
            .collect::<Result<Vec<_>>>()?;
        let multi_hot = spec
            .multi_hot
            .iter()
            .map(|b| add(&b.name, b.encoder.size(), b.dim))
            .collect::<Result<Vec<_>>>()?;
        Ok(FeatureInput {
            categorical,
            multi_hot,
            n_num: spec.numeric.len(),
        })
    }

    /// D_in = Σ embedding widths + F_num.
    pub fn d_in(&self) -> usize {
        self.categorical.iter().map(|t| t.dim).sum::<usize>()
            + self.multi_hot.iter().map(|t| t.dim).sum::<usize>()
            + self.n_num
    }

    /// `batch → (B, D_in)`, columns in the order of the module docs.
    pub fn forward(&self, g: &mut Graph, store: &ParamStore, batch: &EncodedBatch) -> Result<Var> {
        let b = batch.rows;
        let ok = batch.cat.len() == self.categorical.len()
            && batch.bags.len() == self.multi_hot.len()
            && batch.n_num == self.n_num
            && batch.num.len() == b * self.n_num
            && batch.cat.iter().all(|c| c.len() == b)
            && batch.bags.iter().all(|x| x.len() == b);
        if !ok {
            return Err(Error::Config {
                what: "feature batch".into(),
                message: format!(
                    "has {} categorical, {} multi-hot and {} numeric features for {b} rows; this input layer expects {}, {} and {}: encode the data with the same FeatureSpec",
                    batch.cat.len(),
                    batch.bags.len(),
                    batch.n_num,
                    self.categorical.len(),
                    self.multi_hot.len(),
                    self.n_num
                ),
            });
        }
        let mut parts = g.take_vars(); // recycled: no allocation in a steady-state step
        for (t, ids) in self.categorical.iter().zip(&batch.cat) {
            parts.push(g.gather(store, t.table, ids)?); // (B, dim_f)
        }
        for (t, bags) in self.multi_hot.iter().zip(&batch.bags) {
            parts.push(g.embedding_bag(store, t.table, &bags.offsets, &bags.ids)?);
            // (B, dim_m)
        }
        if self.n_num > 0 {
            parts.push(g.input_slice(b, self.n_num, &batch.num)?); // (B, F_num)
        }
        let x = if parts.len() == 1 {
            Ok(parts[0])
        } else {
            g.concat_cols(&parts) // (B, D_in)
        };
        g.give_vars(parts);
        x
    }
}
