//! The list of tape ops: one line per op (its `Op` variant and fields, then the
//! gradient-check names it records under). [`super::tape_op::tape_ops`] generates from it
//! `Op`, one struct per op (implementing [`super::tape_op::TapeOp`] in the op's folder),
//! `OpKind`, `OpKind::ALL` and the dispatch of `kind`, inputs, backward and lowering.
//!
//! The order of the registry names is the order of `OpKind` (and of `OpKind::ALL`).

use super::tape_op::tape_ops;
use crate::autograd::{Axis, ParamId, UnaryFn, Var};

tape_ops! {
    ops {
        /// `C = op(A)·op(B)` (`ops::matmul`).
        MatMul { a: Var, b: Var, ta: bool, tb: bool } => [MatMul],
        /// `a + b̃` with broadcasting (`ops::broadcast`).
        Add { a: Var, b: Var } => [Add],
        /// `a − b̃` with broadcasting (`ops::broadcast`).
        Sub { a: Var, b: Var } => [Sub],
        /// `a ⊙ b̃` with broadcasting (`ops::broadcast`).
        Mul { a: Var, b: Var } => [Mul],
        /// `c·a` (`ops::broadcast`).
        Scale { a: Var, c: f32 } => [Scale],
        /// Sum over all, rows or columns (`ops::reduce`).
        Sum { a: Var, axis: Axis } => [SumAll, SumRows, SumCols],
        /// Mean over all, rows or columns (`ops::reduce`).
        Mean { a: Var, axis: Axis } => [MeanAll, MeanRows, MeanCols],
        /// An elementwise function (`ops::unary`).
        Unary { a: Var, f: UnaryFn } => [Exp, Log, Relu, Sigmoid, Tanh, Gelu],
        /// Row softmax (`ops::softmax`).
        Softmax { a: Var } => [Softmax],
        /// Row log-softmax (`ops::softmax`).
        LogSoftmax { a: Var } => [LogSoftmax],
        /// Column concatenation; inputs are listed in the node's `idx` (`ops::columns`).
        ConcatCols => [ConcatCols],
        /// Columns `start..start + cols` (`ops::columns`).
        SliceCols { a: Var, start: usize } => [SliceCols],
        /// Embedding rows; row indices in `idx` (`ops::gather`).
        Gather { table: ParamId } => [Gather],
        /// Mean embedding bags; bag offsets (B + 1) then ids in `idx` (`ops::embedding_bag`).
        EmbeddingBag { table: ParamId } => [EmbeddingBag],
        /// Mask (already scaled by 1/(1−p)) in `aux` (`ops::dropout`).
        Dropout { a: Var } => [Dropout],
        /// Per-row mean and 1/σ in `aux` (`ops::layer_norm`).
        LayerNorm { x: Var, gamma: Var, beta: Var, eps: f32 } => [LayerNorm],
        /// Softmax gate weights `(B, E)` in `aux` (`ops::gate`).
        GateCombine { experts: Var, gate: Var, e: usize } => [GateCombine],
        /// `logit(σ(a)·σ(b))` (`ops::logit_product`).
        LogitProduct { a: Var, b: Var } => [LogitProduct],
        /// `aux` = per-row coefficients c (B) then targets (B·C) (`ops::mse`).
        Mse { pred: Var } => [MseLoss],
        /// `aux` = per-row coefficients c (B) then targets (B·C) (`ops::bce`).
        BceLogits { logits: Var } => [BceWithLogitsLoss],
        /// `aux` = per-row coefficients c (B) then softmax probabilities (B·V); classes in
        /// `idx` (`ops::softmax_ce`).
        SoftmaxCe { logits: Var } => [SoftmaxCrossEntropyLoss],
        /// Inputs in `idx`, weights in `aux` (`ops::weighted_sum`).
        WeightedSum => [WeightedSum],
        /// Multi-head attention; valid lengths (B) in `idx`, probabilities (B, H, T, T) in
        /// `aux` (`ops::attention`).
        Attention { q: Var, k: Var, v: Var, t: usize, heads: usize, causal: bool } => [Attention],
        /// Mean over each sequence's valid tokens; lengths (B) in `idx` (`ops::pooling`).
        MaskedMean { a: Var, t: usize } => [MaskedMean],
        /// Row L2 normalisation; divisors max(‖x‖, ε) (R) in `aux` (`ops::pooling`).
        L2Normalize { a: Var } => [L2Normalize],
        /// Row indices in `idx` (`ops::rows`).
        SelectRows { a: Var } => [SelectRows],
        /// `f(x·w + b)`; the pre-activation in `aux` when f′ needs it (GELU) (`ops::linear_act`).
        LinearAct { x: Var, w: Var, b: Var, f: Option<UnaryFn> } => [LinearAct],
        /// `f(x·w + b)` with `x` the concatenation of gathered tables and dense parts,
        /// factorised per table (`ops::embed_linear`): the plan in `idx`, the per-id products
        /// U (then the pre-activation when f′ needs it) in `aux`.
        EmbedLinear { x: Var, w: Var, b: Var, f: Option<UnaryFn> } => [EmbedLinear],
        /// `aux` = per-row coefficients c (B), the teacher's soft labels σ(z_t/T) (B·C), then
        /// T (`ops::distill`).
        DistillBce { logits: Var } => [DistillBceLoss],
        /// Full-softmax cross-entropy over the catalogue rows `first..` of `items`, fused
        /// with the logits `h · itemsᵀ`: coefficients (N), dH₁ (N·D) and the dE₁ partials
        /// in `aux`, classes in `idx` (`ops::catalogue_ce`).
        CatalogueCe { h: Var, items: Var, first: usize } => [CatalogueCrossEntropyLoss],
    }
    // Ops compiled only into the library's unit tests: the worked example of
    // docs/adding_an_op.md (`src/ops/example/`), recorded, dispatched and gradient-checked
    // through this same registry.
    examples {
        /// `y = x³`, the example op of docs/adding_an_op.md (`ops::example`).
        Cube { a: Var } => [ExampleCube],
    }
}
