//! Entire Space Multi-task Model (ESMM).
//!
//! X. Ma, L. Zhao, G. Huang, Z. Wang, Z. Hu, X. Zhu, K. Gai, "Entire Space Multi-Task
//! Model: An Effective Approach for Estimating Post-Click Conversion Rate", SIGIR 2018.
//!
//! Conversion is only observed after a click, so a CVR model trained on clicked samples
//! alone sees a biased, sparse sample. ESMM models, over **all impressions**,
//!
//! ```text
//! pCTR   = σ(ctr_tower(x))              trained on click labels
//! pCTCVR = pCTR · pCVR,  pCVR = σ(cvr_tower(x))   trained on click-and-convert labels
//! ```
//! and never trains pCVR directly: its tower learns through the product, from clicked and
//! unclicked impressions alike. The product is formed in logit space
//! ([`Graph::logit_product`]) so both task losses are stable `bce_with_logits`.
//!
//! Task 0 is CTR (label: click), task 1 is CTCVR (label: click and conversion).

use super::blocks::{towers, TowersConfig};
use super::{check_common, MultiTaskModel};
use crate::autograd::{Graph, ParamId, ParamStore, Var};
use crate::error::Result;
use crate::nn::{Activation, Mlp};
use ndarray_rand::rand::Rng;

#[derive(Clone, Debug, PartialEq)]
pub struct EsmmConfig {
    pub d_in: usize,
    /// Hidden widths of the CTR and CVR towers.
    pub tower: Vec<usize>,
    pub activation: Activation,
    pub dropout: f32,
}

/// Towers `esmm.tower.0` (CTR) and `esmm.tower.1` (CVR).
#[derive(Clone, Debug)]
pub struct Esmm {
    pub ctr: Mlp,
    pub cvr: Mlp,
}

impl Esmm {
    pub fn new<R: Rng + ?Sized>(
        store: &mut ParamStore,
        cfg: &EsmmConfig,
        rng: &mut R,
    ) -> Result<Esmm> {
        check_common("ESMM", cfg.d_in, 2, cfg.dropout)?;
        let mut t = towers(
            store,
            "esmm.tower",
            TowersConfig {
                d_in: cfg.d_in,
                tower: &cfg.tower,
                num_tasks: 2,
                activation: cfg.activation,
                dropout: cfg.dropout,
            },
            rng,
        )?;
        let cvr = t.pop().expect("two towers");
        let ctr = t.pop().expect("two towers");
        Ok(Esmm { ctr, cvr })
    }

    /// `[CTR logit, CVR logit, CTCVR logit]`, each `(B, 1)`.
    pub fn forward_all(&self, g: &mut Graph, store: &ParamStore, x: Var) -> Result<[Var; 3]> {
        let ctr = self.ctr.forward(g, store, x)?; // (B, 1) logit of pCTR
        let cvr = self.cvr.forward(g, store, x)?; // (B, 1) logit of pCVR
        let ctcvr = g.logit_product(ctr, cvr)?; // (B, 1) logit of pCTR·pCVR
        Ok([ctr, cvr, ctcvr])
    }
}

impl MultiTaskModel for Esmm {
    fn name(&self) -> &str {
        "esmm"
    }

    fn shared_params(&self) -> Vec<ParamId> {
        Vec::new() // ESMM shares only the embeddings (tables), not dense layers
    }

    fn num_tasks(&self) -> usize {
        2
    }

    fn forward(&self, g: &mut Graph, store: &ParamStore, x: Var) -> Result<Vec<Var>> {
        let [ctr, _cvr, ctcvr] = self.forward_all(g, store, x)?;
        Ok(vec![ctr, ctcvr]) // the two supervised outputs: CTR and CTCVR
    }
}
