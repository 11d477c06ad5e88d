//! Reverse-mode automatic differentiation: a graph-owned tape, the parameter store
//! and the backward walk. The ops themselves live in `crate::ops`, one folder each.

mod backward;
mod graph;
mod op;
mod params;

pub(crate) use backward::{for_each_input, one, three, with_two, In};
pub(crate) use graph::Node;
pub use graph::{Graph, Var};
pub(crate) use op::Op;
pub use op::{Axis, OpKind, UnaryFn};
pub use params::{ParamId, ParamInfo, ParamKind, ParamStore, SparseGrad, Table};
