//! The CUDA kernel sources of `kernels/`, embedded with `include_str!`. Always compiled
//! (no `cudarc` needed), so the NVRTC test and the docs can list them without a GPU.
//!
//! Each module's source is `common.cuh` (block reductions, the unary `f` / `df` pairs),
//! then `gemm_tile.cuh` for the two SGEMM users, then its `.cu` file: NVRTC compiles one
//! string per module and gets no include path.

/// One `.cu` file: a module compiled by NVRTC once per device.
#[derive(Clone, Copy, Debug)]
pub struct KernelModule {
    /// Module name: the `.cu` file's stem (`"matmul"` for `kernels/matmul.cu`).
    pub name: &'static str,
    /// The full source handed to NVRTC (headers prepended).
    pub source: &'static str,
    /// Every `extern "C"` kernel the module defines; the NVRTC test checks that each one
    /// appears as an entry in the PTX.
    pub functions: &'static [&'static str],
}

macro_rules! module {
    ($name:literal, [$($f:literal),* $(,)?]) => {
        KernelModule {
            name: $name,
            source: concat!(
                include_str!("../../../kernels/common.cuh"),
                include_str!(concat!("../../../kernels/", $name, ".cu"))
            ),
            functions: &[$($f),*],
        }
    };
    ($name:literal, gemm, [$($f:literal),* $(,)?]) => {
        KernelModule {
            name: $name,
            source: concat!(
                include_str!("../../../kernels/common.cuh"),
                include_str!("../../../kernels/gemm_tile.cuh"),
                include_str!(concat!("../../../kernels/", $name, ".cu"))
            ),
            functions: &[$($f),*],
        }
    };
}

/// Every kernel module, one per op family.
pub const MODULES: &[KernelModule] = &[
    module!(
        "elementwise",
        [
            "unary_fwd_f32",
            "unary_bwd_f32",
            "binary_fwd_f32",
            "binary_bwd_f32",
            "binary_bwd_b_f32",
            "dropout_fwd_f32",
            "dropout_bwd_f32",
        ]
    ),
    module!("reduce", ["reduce_fwd_f32", "reduce_bwd_f32"]),
    module!(
        "softmax",
        [
            "softmax_fwd_f32",
            "softmax_bwd_f32",
            "log_softmax_fwd_f32",
            "log_softmax_bwd_f32",
        ]
    ),
    module!(
        "layer_norm",
        [
            "layer_norm_fwd_f32",
            "layer_norm_bwd_f32",
            "layer_norm_bwd_params_f32",
        ]
    ),
    module!("matmul", gemm, ["matmul_fwd_f32"]),
    module!(
        "linear_act",
        gemm,
        ["linear_act_fwd_f32", "linear_act_bwd_f32"]
    ),
    module!(
        "embedding",
        [
            "gather_fwd_f32",
            "gather_bwd_f32",
            "embedding_bag_fwd_f32",
            "embedding_bag_bwd_f32",
        ]
    ),
    module!(
        "gate",
        [
            "gate_combine_fwd_f32",
            "gate_combine_bwd_f32",
            "gate_combine_bwd_logits_f32",
        ]
    ),
    module!(
        "loss",
        [
            "mse_fwd_f32",
            "mse_bwd_f32",
            "bce_fwd_f32",
            "bce_bwd_f32",
            "softmax_ce_fwd_f32",
            "softmax_ce_bwd_f32",
        ]
    ),
    module!(
        "optim",
        [
            "sgd_step_f32",
            "sgd_rows_f32",
            "adam_step_f32",
            "adam_rows_f32"
        ]
    ),
    module!(
        "tape",
        [
            "fill_f32",
            "scale_fwd_f32",
            "axpy_f32",
            "axpy_w_f32",
            "copy_cols_f32",
            "logit_product_fwd_f32",
            "logit_product_bwd_f32",
            "sum_sq_f32",
            "clip_scale_f32",
        ]
    ),
];

/// The module called `name`, if there is one.
pub fn module(name: &str) -> Option<&'static KernelModule> {
    MODULES.iter().find(|m| m.name == name)
}
