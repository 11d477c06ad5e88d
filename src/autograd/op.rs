//! The tape's vocabulary: which op produced a node and what its backward pass needs.
//!
//! `Op`, `OpKind` and their dispatch are generated from the list of ops in
//! `src/ops/registry.rs`; the op options that are not inputs are here.

pub(crate) use crate::ops::registry::Op;
pub use crate::ops::registry::OpKind;

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
