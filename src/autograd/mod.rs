//! Reverse-mode automatic differentiation: a graph-owned tape, the parameter store
//! and the backward walk. The ops themselves live in `crate::ops`, one folder each.

mod backward;
mod graph;
mod op;
mod params;
mod var;

pub(crate) use backward::{for_each_input, one, three, with_two, In};
pub use graph::Graph;
pub(crate) use graph::Node;
pub(crate) use op::Op;
pub use op::{Axis, OpKind, UnaryFn};
pub use params::{ParamId, ParamInfo, ParamKind, ParamStore, SparseGrad, Table};
pub use var::Var;
