//! Differentiable ops: one folder per op (or op family), each holding the graph method
//! that records it and the `# Derivation` of its backward pass (`mod.rs`), the CPU
//! kernels (`<op>_forward` / `<op>_backward`, llm.c argument order: outputs, inputs,
//! sizes), its `impl TapeOp` and its device lowering (`lower.rs`). The list of ops is
//! [`registry`]; docs/adding_an_op.md walks through adding one.

pub mod attention;
pub mod bce;
pub mod broadcast;
pub mod catalogue_ce;
pub mod columns;
pub mod distill;
pub mod dropout;
pub mod embed_linear;
pub mod embedding_bag;
#[cfg(test)]
pub(crate) mod example;
pub mod gate;
pub mod gather;
pub mod gemm;
pub mod gemm_i8;
pub mod layer_norm;
pub mod linear_act;
pub mod logit_product;
pub mod matmul;
pub mod mse;
pub mod pooling;
pub mod reduce;
pub(crate) mod registry;
pub mod rows;
pub mod softmax;
pub mod softmax_ce;
pub(crate) mod tape_op;
pub mod unary;
pub mod weighted_sum;
