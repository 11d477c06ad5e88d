//! Differentiable ops. One file per op family, each holding the CPU kernels
//! (`<op>_forward` / `<op>_backward`, llm.c argument order: outputs, inputs, sizes),
//! the `Graph` method that records the op, and a `# Derivation` of its backward pass.

pub mod attention;
pub mod broadcast;
pub mod columns;
pub mod dropout;
pub mod embed_linear;
pub mod embedding_bag;
pub mod gate;
pub mod gather;
pub mod gemm;
pub mod gemm_i8;
pub mod layer_norm;
pub mod linear_act;
pub mod logit_product;
pub mod matmul;
pub mod pooling;
pub mod reduce;
pub mod rows;
pub mod softmax;
pub mod unary;
