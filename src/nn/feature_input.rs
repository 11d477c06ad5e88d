//! The input layer of a tabular model: one embedding table per categorical and per
//! multi-hot feature, and the numeric features as they are, side by side.
//!
//! ```text
//! x = [ T_1[id_1] | … | T_F[id_F] | mean T'_1[bag_1] | … | mean T'_M[bag_M] | num | A_1(t_1) | … ]
//!      categorical, config order    multi-hot, config order                 (B, F_num)  text
//!
//! D_in = Σ_f dim_f + Σ_m dim_m + F_num + Σ_t dim_t
//! ```
//!
//! A text feature t contributes `A_t(t_t)`: the row's frozen text vector `t_t` (B, D_t)
//! through its learned adaptor `<name>.text_adaptor.<feature>` ([`TextAdaptor`]).
//!
//! Feature f's table is `<name>.emb.<feature name>`, `(V_f + 1, dim_f)`: row 0 is the
//! out-of-vocabulary / missing vector, rows 1..=V_f the vocabulary (or hash buckets).
//! Tables are drawn from N(0, 0.05²) by default ([`EMBEDDING_INIT`]): small enough that
//! 30 concatenated embeddings start near the scale of standardised numerics. PyTorch's
//! `nn.Embedding` default, N(0, 1), is [`FeatureInput::with_init`] with
//! `Init::Normal { std: 1.0 }`. Their gradients are row-sparse: a batch touches only
//! the rows it looked up.
//!
//! The layer knows the features through [`InputLayout`] (names, vocabulary sizes, widths,
//! adaptors), which the data layer's fitted `data::features::FeatureSpec` provides by
//! implementing [`InputSpec`], and reads batches laid out as [`EncodedBatch`]
//! (`nn::batch`): `nn` imports nothing from `config` or `data`.

use super::batch::EncodedBatch;
use super::init::Init;
use super::text_adaptor::{AdaptorKind, TextAdaptor};
use crate::autograd::{Graph, ParamId, ParamStore, Var};
use crate::error::{Error, Result};
use ndarray_rand::rand::Rng;

/// Default initialisation of the embedding tables: N(0, 0.05²).
pub const EMBEDDING_INIT: Init = Init::Normal { std: 0.05 };

/// One embedded (categorical or multi-hot) feature as the input layer sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbeddedFeature {
    pub name: String,
    /// V: ids 1..=V, row 0 for out-of-vocabulary.
    pub vocab: usize,
    /// Embedding width.
    pub dim: usize,
}

/// One text feature as the input layer sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextFeature {
    /// The id feature the text describes.
    pub name: String,
    /// D_t, the width of the frozen text vectors; 0 until the texts were embedded.
    pub d_text: usize,
    /// The adaptor's output width.
    pub dim: usize,
    pub adaptor: AdaptorKind,
}

/// What the input layer needs of the features, each group in feature order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InputLayout {
    pub categorical: Vec<EmbeddedFeature>,
    pub multi_hot: Vec<EmbeddedFeature>,
    /// F_num.
    pub n_num: usize,
    pub text: Vec<TextFeature>,
}

impl InputLayout {
    /// D_in = Σ embedding widths + F_num + Σ text widths.
    pub fn d_in(&self) -> usize {
        self.categorical.iter().map(|c| c.dim).sum::<usize>()
            + self.multi_hot.iter().map(|b| b.dim).sum::<usize>()
            + self.n_num
            + self.text.iter().map(|t| t.dim).sum::<usize>()
    }
}

/// A description of the features an input layer can be built from (the data layer's
/// fitted `FeatureSpec`, or an [`InputLayout`] itself).
pub trait InputSpec {
    fn input_layout(&self) -> InputLayout;
}

impl InputSpec for InputLayout {
    fn input_layout(&self) -> InputLayout {
        self.clone()
    }
}

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
    /// One per text feature, in feature order.
    pub text: Vec<TextInput>,
}

/// The learned adaptor of one text feature.
#[derive(Clone, Debug)]
pub struct TextInput {
    /// The id feature the text describes.
    pub feature: String,
    /// D_t, the width of the frozen text vectors.
    pub d_text: usize,
    pub adaptor: TextAdaptor,
}

impl FeatureInput {
    /// Adds a table per embedded feature of `spec`, drawn with [`EMBEDDING_INIT`].
    pub fn new<S: InputSpec + ?Sized, R: Rng + ?Sized>(
        store: &mut ParamStore,
        name: &str,
        spec: &S,
        rng: &mut R,
    ) -> Result<FeatureInput> {
        Self::with_init(store, name, spec, EMBEDDING_INIT, rng)
    }

    /// Like [`FeatureInput::new`], with the tables drawn from `init`.
    pub fn with_init<S: InputSpec + ?Sized, R: Rng + ?Sized>(
        store: &mut ParamStore,
        name: &str,
        spec: &S,
        init: Init,
        rng: &mut R,
    ) -> Result<FeatureInput> {
        let spec = spec.input_layout();
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
            .map(|c| add(&c.name, c.vocab, c.dim))
            .collect::<Result<Vec<_>>>()?;
        let multi_hot = spec
            .multi_hot
            .iter()
            .map(|b| add(&b.name, b.vocab, b.dim))
            .collect::<Result<Vec<_>>>()?;
        let text = spec
            .text
            .iter()
            .map(|t| {
                if t.d_text == 0 {
                    return Err(Error::Config {
                        what: format!("text feature `{}`", t.name),
                        message: "has no text vectors yet; embed the texts (data::features::attach_texts) before building the input layer".into(),
                    });
                }
                let adaptor = TextAdaptor::new(
                    store,
                    &format!("{name}.text_adaptor.{}", t.name),
                    t.d_text,
                    t.dim,
                    t.adaptor,
                    rng,
                )?;
                Ok(TextInput {
                    feature: t.name.clone(),
                    d_text: t.d_text,
                    adaptor,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(FeatureInput {
            categorical,
            multi_hot,
            n_num: spec.n_num,
            text,
        })
    }

    /// D_in = Σ embedding widths + F_num.
    pub fn d_in(&self) -> usize {
        self.categorical.iter().map(|t| t.dim).sum::<usize>()
            + self.multi_hot.iter().map(|t| t.dim).sum::<usize>()
            + self.n_num
            + self.text.iter().map(|t| t.adaptor.d_out()).sum::<usize>()
    }

    /// `batch → (B, D_in)`, columns in the order of the module docs.
    pub fn forward(&self, g: &mut Graph, store: &ParamStore, batch: &EncodedBatch) -> Result<Var> {
        let b = batch.rows;
        let ok = batch.cat.len() == self.categorical.len()
            && batch.bags.len() == self.multi_hot.len()
            && batch.n_num == self.n_num
            && batch.num.len() == b * self.n_num
            && batch.cat.iter().all(|c| c.len() == b)
            && batch.bags.iter().all(|x| x.len() == b)
            && batch.text.len() == self.text.len()
            && batch
                .text
                .iter()
                .zip(&self.text)
                .all(|(x, t)| x.len() == b * t.d_text);
        if !ok {
            return Err(Error::Config {
                what: "feature batch".into(),
                message: format!(
                    "has {} categorical, {} multi-hot, {} numeric and {} text features for {b} rows; this input layer expects {}, {}, {} and {}: encode the data with the same FeatureSpec (and attach the texts)",
                    batch.cat.len(),
                    batch.bags.len(),
                    batch.n_num,
                    batch.text.len(),
                    self.categorical.len(),
                    self.multi_hot.len(),
                    self.n_num,
                    self.text.len()
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
        for (t, vecs) in self.text.iter().zip(&batch.text) {
            let x = g.input_slice(b, t.d_text, vecs)?; // (B, D_t), frozen
            parts.push(t.adaptor.forward(g, store, x)?); // (B, dim_t)
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
