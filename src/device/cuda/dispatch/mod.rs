//! Every [`Launch`] as one (or, for a layer-norm backward with only one of dγ / dβ, a
//! scratch allocation and one) call of a launch wrapper of `crate::device::cuda::kernels`.
//! Sizes that a wrapper derives from buffer lengths are checked against the launch's own.
//! [`launch`] routes each launch to the file of its family (`Launch::family`), as the
//! host backend does.

mod clip;
mod elementwise;
mod embedding;
mod gate;
mod gemm;
mod layer_norm;
mod loss;
mod optim;
mod reduce;

use super::backend::CudaBackend;
use crate::device::cuda::kernels::{self as k, BinaryKind, UnaryKind};
use crate::device::family::Family;
use crate::device::{BinOp, Launch, PointLoss};
use crate::error::Result;

fn unary(f: Option<crate::autograd::UnaryFn>) -> UnaryKind {
    f.map_or(UnaryKind::Identity, UnaryKind::from)
}

fn binary(op: BinOp) -> BinaryKind {
    match op {
        BinOp::Add => BinaryKind::Add,
        BinOp::Sub => BinaryKind::Sub,
        BinOp::Mul => BinaryKind::Mul,
    }
}

fn point_loss(kind: PointLoss) -> k::PointLoss {
    match kind {
        PointLoss::Mse => k::PointLoss::Mse,
        PointLoss::Bce => k::PointLoss::BceLogits,
    }
}

pub(super) fn launch(be: &mut CudaBackend, l: &Launch) -> Result<()> {
    match l.family() {
        Family::Elementwise => elementwise::launch(be, l),
        Family::Reduce => reduce::launch(be, l),
        Family::Embedding => embedding::launch(be, l),
        Family::LayerNorm => layer_norm::launch(be, l),
        Family::Gemm => gemm::launch(be, l),
        Family::Gate => gate::launch(be, l),
        Family::Loss => loss::launch(be, l),
        Family::Clip => clip::launch(be, l),
        Family::Optim => optim::launch(be, l),
    }
}
