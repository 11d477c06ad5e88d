//! The tape's vocabulary: which op produced a node and what its backward pass needs.
//!
//! `Op` is small and `Copy`: input handles and scalars only. Larger saved state lives
//! in the node's reusable buffers (`aux` for f32, `idx` for integers), so recording a
//! step allocates nothing once the buffers have grown to size.

use super::{ParamId, Var};

/// Which reduction a `sum` / `mean` performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axis {
    /// Every element: `(R, C) → (1, 1)`.
    All,
    /// Each row: `(R, C) → (R, 1)`.
    Rows,
    /// Each column: `(R, C) → (1, C)`.
    Cols,
}

/// Elementwise functions with an `f` / `df` pair in `ops::unary`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryFn {
    Exp,
    Log,
    Relu,
    Sigmoid,
    Tanh,
    Gelu,
}

/// How a node was made. Inputs always precede their consumers on the tape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Op {
    /// Data fed in (features, labels); never needs a gradient.
    Input,
    /// A copy of a dense parameter; its gradient is added to the store.
    Param(ParamId),
    MatMul {
        a: Var,
        b: Var,
        ta: bool,
        tb: bool,
    },
    Add {
        a: Var,
        b: Var,
    },
    Sub {
        a: Var,
        b: Var,
    },
    Mul {
        a: Var,
        b: Var,
    },
    Scale {
        a: Var,
        c: f32,
    },
    Sum {
        a: Var,
        axis: Axis,
    },
    Mean {
        a: Var,
        axis: Axis,
    },
    Unary {
        a: Var,
        f: UnaryFn,
    },
    Softmax {
        a: Var,
    },
    LogSoftmax {
        a: Var,
    },
    /// Inputs are listed in the node's `idx`.
    ConcatCols,
    SliceCols {
        a: Var,
        start: usize,
    },
    /// Row indices in `idx`.
    Gather {
        table: ParamId,
    },
    /// Bag offsets (B + 1) then ids in `idx`.
    EmbeddingBag {
        table: ParamId,
    },
    /// Mask (already scaled by 1/(1−p)) in `aux`.
    Dropout {
        a: Var,
    },
    /// Per-row mean and 1/σ in `aux`.
    LayerNorm {
        x: Var,
        gamma: Var,
        beta: Var,
        eps: f32,
    },
    LogitProduct {
        a: Var,
        b: Var,
    },
    /// Softmax gate weights `(B, E)` in `aux`.
    GateCombine {
        experts: Var,
        gate: Var,
        e: usize,
    },
    /// `aux` = per-row coefficients c (B) then targets (B·C).
    Mse {
        pred: Var,
    },
    /// `aux` = per-row coefficients c (B) then targets (B·C).
    BceLogits {
        logits: Var,
    },
    /// `aux` = per-row coefficients c (B), the teacher's soft labels σ(z_t/T) (B·C), then T.
    DistillBce {
        logits: Var,
    },
    /// `aux` = per-row coefficients c (B) then softmax probabilities (B·V); classes in `idx`.
    SoftmaxCe {
        logits: Var,
    },
    /// Inputs in `idx`, weights in `aux`.
    WeightedSum,
    /// Multi-head attention; valid lengths (B) in `idx`, probabilities (B, H, T, T) in `aux`.
    Attention {
        q: Var,
        k: Var,
        v: Var,
        t: usize,
        heads: usize,
        causal: bool,
    },
    /// Mean over each sequence's valid tokens; lengths (B) in `idx`.
    MaskedMean {
        a: Var,
        t: usize,
    },
    /// Row L2 normalisation; divisors max(‖x‖, ε) (R) in `aux`.
    L2Normalize {
        a: Var,
    },
    /// Row indices in `idx`.
    SelectRows {
        a: Var,
    },
    /// `f(x·w + b)`; the pre-activation in `aux` when f′ needs it (GELU).
    LinearAct {
        x: Var,
        w: Var,
        b: Var,
        f: Option<UnaryFn>,
    },
    /// `f(x·w + b)` with `x` the concatenation of gathered tables and dense parts,
    /// factorised per table (`ops::embed_linear`): the plan in `idx`, the per-id products
    /// U (then the pre-activation when f′ needs it) in `aux`.
    EmbedLinear {
        x: Var,
        w: Var,
        b: Var,
        f: Option<UnaryFn>,
    },
}

/// The name of every differentiable op and loss, for the gradient-check registry
/// (`tests/gradcheck.rs` fails if any of these has no check).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    MatMul,
    Add,
    Sub,
    Mul,
    Scale,
    SumAll,
    SumRows,
    SumCols,
    MeanAll,
    MeanRows,
    MeanCols,
    Exp,
    Log,
    Relu,
    Sigmoid,
    Tanh,
    Gelu,
    Softmax,
    LogSoftmax,
    ConcatCols,
    SliceCols,
    Gather,
    EmbeddingBag,
    Dropout,
    LayerNorm,
    GateCombine,
    LogitProduct,
    MseLoss,
    BceWithLogitsLoss,
    SoftmaxCrossEntropyLoss,
    WeightedSum,
    Attention,
    MaskedMean,
    L2Normalize,
    SelectRows,
    LinearAct,
    EmbedLinear,
    DistillBceLoss,
}

impl OpKind {
    /// Every op and loss the engine offers.
    pub const ALL: [OpKind; 38] = [
        OpKind::MatMul,
        OpKind::Add,
        OpKind::Sub,
        OpKind::Mul,
        OpKind::Scale,
        OpKind::SumAll,
        OpKind::SumRows,
        OpKind::SumCols,
        OpKind::MeanAll,
        OpKind::MeanRows,
        OpKind::MeanCols,
        OpKind::Exp,
        OpKind::Log,
        OpKind::Relu,
        OpKind::Sigmoid,
        OpKind::Tanh,
        OpKind::Gelu,
        OpKind::Softmax,
        OpKind::LogSoftmax,
        OpKind::ConcatCols,
        OpKind::SliceCols,
        OpKind::Gather,
        OpKind::EmbeddingBag,
        OpKind::Dropout,
        OpKind::LayerNorm,
        OpKind::GateCombine,
        OpKind::LogitProduct,
        OpKind::MseLoss,
        OpKind::BceWithLogitsLoss,
        OpKind::SoftmaxCrossEntropyLoss,
        OpKind::WeightedSum,
        OpKind::Attention,
        OpKind::MaskedMean,
        OpKind::L2Normalize,
        OpKind::SelectRows,
        OpKind::LinearAct,
        OpKind::EmbedLinear,
        OpKind::DistillBceLoss,
    ];
}

impl Op {
    /// The registry name of this op (`None` for leaves).
    pub(crate) fn kind(&self) -> Option<OpKind> {
        Some(match *self {
            Op::Input | Op::Param(_) => return None,
            Op::MatMul { .. } => OpKind::MatMul,
            Op::Add { .. } => OpKind::Add,
            Op::Sub { .. } => OpKind::Sub,
            Op::Mul { .. } => OpKind::Mul,
            Op::Scale { .. } => OpKind::Scale,
            Op::Sum {
                axis: Axis::All, ..
            } => OpKind::SumAll,
            Op::Sum {
                axis: Axis::Rows, ..
            } => OpKind::SumRows,
            Op::Sum {
                axis: Axis::Cols, ..
            } => OpKind::SumCols,
            Op::Mean {
                axis: Axis::All, ..
            } => OpKind::MeanAll,
            Op::Mean {
                axis: Axis::Rows, ..
            } => OpKind::MeanRows,
            Op::Mean {
                axis: Axis::Cols, ..
            } => OpKind::MeanCols,
            Op::Unary {
                f: UnaryFn::Exp, ..
            } => OpKind::Exp,
            Op::Unary {
                f: UnaryFn::Log, ..
            } => OpKind::Log,
            Op::Unary {
                f: UnaryFn::Relu, ..
            } => OpKind::Relu,
            Op::Unary {
                f: UnaryFn::Sigmoid,
                ..
            } => OpKind::Sigmoid,
            Op::Unary {
                f: UnaryFn::Tanh, ..
            } => OpKind::Tanh,
            Op::Unary {
                f: UnaryFn::Gelu, ..
            } => OpKind::Gelu,
            Op::Softmax { .. } => OpKind::Softmax,
            Op::LogSoftmax { .. } => OpKind::LogSoftmax,
            Op::ConcatCols => OpKind::ConcatCols,
            Op::SliceCols { .. } => OpKind::SliceCols,
            Op::Gather { .. } => OpKind::Gather,
            Op::EmbeddingBag { .. } => OpKind::EmbeddingBag,
            Op::Dropout { .. } => OpKind::Dropout,
            Op::LayerNorm { .. } => OpKind::LayerNorm,
            Op::GateCombine { .. } => OpKind::GateCombine,
            Op::LogitProduct { .. } => OpKind::LogitProduct,
            Op::Mse { .. } => OpKind::MseLoss,
            Op::BceLogits { .. } => OpKind::BceWithLogitsLoss,
            Op::SoftmaxCe { .. } => OpKind::SoftmaxCrossEntropyLoss,
            Op::WeightedSum => OpKind::WeightedSum,
            Op::Attention { .. } => OpKind::Attention,
            Op::MaskedMean { .. } => OpKind::MaskedMean,
            Op::L2Normalize { .. } => OpKind::L2Normalize,
            Op::SelectRows { .. } => OpKind::SelectRows,
            Op::LinearAct { .. } => OpKind::LinearAct,
            Op::EmbedLinear { .. } => OpKind::EmbedLinear,
            Op::DistillBce { .. } => OpKind::DistillBceLoss,
        })
    }
}
