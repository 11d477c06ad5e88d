//! Which family each [`Launch`] belongs to: the backends route a launch to the file of its
//! family (`host/<family>.rs`, `cuda/dispatch/<family>.rs`), one small function each. The
//! match is exhaustive, so a new variant must be given a family here before it compiles.

use super::Launch;

/// A family of launches, one file per backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    /// Fill, unary, broadcast binary, scale / axpy, dropout, logit product.
    Elementwise,
    /// Reductions, row softmax, column blocks.
    Reduce,
    /// Embedding gathers and bags (forward and scatter-add backward).
    Embedding,
    /// Layer normalisation.
    LayerNorm,
    /// Matrix products and the fused linear layer.
    Gemm,
    /// The softmax gate's weighted sum of experts.
    Gate,
    /// Task losses.
    Loss,
    /// Gradient clipping by the global norm.
    Clip,
    /// The optimiser steps (dense blocks and touched table rows).
    Optim,
}

impl Launch {
    /// The family of this launch.
    pub(crate) fn family(&self) -> Family {
        use Launch::*;
        match self {
            Fill { .. }
            | Unary { .. }
            | UnaryBwd { .. }
            | Binary { .. }
            | BinaryBwdA { .. }
            | BinaryBwdB { .. }
            | Scale { .. }
            | Axpy { .. }
            | AxpyW { .. }
            | Dropout { .. }
            | DropoutBwd { .. }
            | LogitProduct { .. }
            | LogitProductBwd { .. } => Family::Elementwise,
            Reduce { .. } | ReduceBwd { .. } | Softmax { .. } | SoftmaxBwd { .. } | Cols { .. } => {
                Family::Reduce
            }
            Gather { .. } | GatherBwd { .. } | EmbeddingBag { .. } | EmbeddingBagBwd { .. } => {
                Family::Embedding
            }
            LayerNorm { .. } | LayerNormBwd { .. } => Family::LayerNorm,
            MatMul { .. } | LinearAct { .. } | LinearActBwd { .. } => Family::Gemm,
            GateCombine { .. } | GateCombineBwd { .. } => Family::Gate,
            Loss { .. } | LossBwd { .. } => Family::Loss,
            SumSq { .. } | ClipScale { .. } => Family::Clip,
            Sgd { .. } | SgdRows { .. } | Adam { .. } | AdamRows { .. } => Family::Optim,
        }
    }
}

/// The error of a family's launch function given a launch of another family (a routing
/// bug in the backend, never an input error).
pub(crate) fn misrouted(backend: &str, family: Family, l: &Launch) -> crate::Error {
    crate::Error::Handle {
        op: "Backend::launch",
        message: format!(
            "internal: the {backend} {family:?} launches were given {l:?} ({:?})",
            l.family()
        ),
    }
}
