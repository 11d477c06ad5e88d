//! Gradient checks as properties: for every op and loss, random shapes and values, the
//! analytic backward against central finite differences.
//!
//! For an op with output y and a random projection R (same shape as y), the scalar
//! `f(θ) = Σ R ⊙ y(θ)` has `∂f/∂θ = backward(seed = R)`. Each parameter element is
//! perturbed by ±h and `(f(θ+h) − f(θ−h)) / 2h` is accumulated in f64. The check is
//! `|a − n| ≤ atol + rtol·max(|a|, |n|)` with tolerances chosen per op; inputs that
//! have kinks (ReLU at 0) are drawn away from them by more than h.
//!
//! `every_op_and_loss_has_a_gradient_check` fails if an op of `OpKind::ALL` has no
//! entry in `CHECKS`.

mod gradcheck_support;

use gradcheck_support::{layers::*, losses::*, sequences::*, tensor_ops::*, *};
use mtrec::autograd::{Axis, Graph, OpKind};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::collections::BTreeSet;

struct Check {
    kind: OpKind,
    atol: f64,
    rtol: f64,
    h: f32,
    make: fn(Dims) -> Problem,
}

/// f(θ) = Σ R ⊙ y(θ) in f64 for the current parameter values.
fn project(g: &mut Graph, p: &Problem, r: &[f32]) -> f64 {
    g.reset_with_seed(17);
    let y = (p.build)(g, &p.store).expect("forward");
    g.value(y)
        .iter()
        .zip(r)
        .map(|(&a, &b)| a as f64 * b as f64)
        .sum()
}

fn gradcheck(check: &Check, dims: Dims) -> std::result::Result<(), TestCaseError> {
    let mut p = (check.make)(dims);
    let mut g = Graph::new(0);
    g.reset_with_seed(17);
    let y = (p.build)(&mut g, &p.store)
        .map_err(|e| TestCaseError::fail(format!("forward failed: {e}")))?;
    prop_assert_eq!(
        g.op_kind(y),
        Some(check.kind),
        "the check for {:?} must record that op last",
        check.kind
    );
    let mut rng = StdRng::seed_from_u64(dims.seed ^ 0x5eed);
    let proj = uniform(&mut rng, g.value(y).len(), -1.0, 1.0);
    p.store.zero_grad();
    g.backward_with_grad(y, &proj, &mut p.store)
        .map_err(|e| TestCaseError::fail(format!("backward failed: {e}")))?;
    let ids: Vec<_> = p.store.ids().collect();
    for id in ids {
        let analytic = p.store.grad_to_vec(id);
        let name = p.store.info(id).name.clone();
        for (j, &aj) in analytic.iter().enumerate() {
            let orig = p.store.value(id)[j];
            p.store.value_mut(id)[j] = orig + check.h;
            let fp = project(&mut g, &p, &proj);
            p.store.value_mut(id)[j] = orig - check.h;
            let fm = project(&mut g, &p, &proj);
            p.store.value_mut(id)[j] = orig;
            let numeric = (fp - fm) / (2.0 * check.h as f64);
            let a = aj as f64;
            let tol = check.atol + check.rtol * a.abs().max(numeric.abs());
            prop_assert!(
                (a - numeric).abs() <= tol,
                "{:?}: d/d{}[{}] analytic {} vs numeric {} (tol {}) at {:?}",
                check.kind,
                name,
                j,
                a,
                numeric,
                tol,
                dims
            );
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ the registry

const SMOOTH: (f64, f64, f32) = (2e-3, 1e-2, 1e-2);

macro_rules! check {
    ($kind:ident, $make:expr) => {
        check!($kind, $make, SMOOTH)
    };
    ($kind:ident, $make:expr, $tol:expr) => {
        Check {
            kind: OpKind::$kind,
            atol: $tol.0,
            rtol: $tol.1,
            h: $tol.2,
            make: $make,
        }
    };
}

/// One entry per op and loss; the test below fails if an `OpKind` is missing here.
static CHECKS: &[Check] = &[
    check!(MatMul, p_matmul),
    check!(Add, |d| p_binary(d, 0)),
    check!(Sub, |d| p_binary(d, 1)),
    check!(Mul, |d| p_binary(d, 2)),
    check!(Scale, |d| p_unary(d, sym, |g, a| g.scale(a, -1.7))),
    check!(SumAll, |d| p_unary(d, sym, |g, a| g.sum(a, Axis::All))),
    check!(SumRows, |d| p_unary(d, sym, |g, a| g.sum(a, Axis::Rows))),
    check!(SumCols, |d| p_unary(d, sym, |g, a| g.sum(a, Axis::Cols))),
    check!(MeanAll, |d| p_unary(d, sym, |g, a| g.mean(a, Axis::All))),
    check!(MeanRows, |d| p_unary(d, sym, |g, a| g.mean(a, Axis::Rows))),
    check!(MeanCols, |d| p_unary(d, sym, |g, a| g.mean(a, Axis::Cols))),
    check!(
        Exp,
        |d| p_unary(d, sym, |g, a| g.exp(a)),
        (2e-3, 1e-2, 5e-3)
    ),
    check!(
        Log,
        |d| p_unary(d, positive, |g, a| g.log(a)),
        (2e-3, 1e-2, 5e-3)
    ),
    check!(Relu, |d| p_unary(d, off_kink, |g, a| g.relu(a))),
    check!(Sigmoid, |d| p_unary(d, sym, |g, a| g.sigmoid(a))),
    check!(Tanh, |d| p_unary(d, sym, |g, a| g.tanh(a))),
    check!(Gelu, |d| p_unary(d, sym, |g, a| g.gelu(a))),
    check!(Softmax, |d| p_unary(d, sym, |g, a| g.softmax(a))),
    check!(LogSoftmax, |d| p_unary(d, sym, |g, a| g.log_softmax(a))),
    check!(ConcatCols, p_concat),
    check!(SliceCols, p_slice),
    check!(Gather, p_gather),
    check!(EmbeddingBag, p_embedding_bag),
    check!(Dropout, p_dropout),
    check!(LayerNorm, p_layer_norm, (5e-3, 2e-2, 5e-3)),
    check!(GateCombine, p_gate),
    check!(LogitProduct, p_logit_product),
    check!(MseLoss, p_mse),
    check!(BceWithLogitsLoss, p_bce),
    check!(SoftmaxCrossEntropyLoss, p_softmax_ce),
    check!(WeightedSum, p_weighted_sum),
    check!(Attention, p_attention),
    check!(MaskedMean, p_masked_mean),
    check!(L2Normalize, |d| p_unary(
        d,
        |rng, n| away_from_zero(rng, n, 0.3, 1.5),
        |g, a| g.l2_normalize(a)
    )),
    check!(SelectRows, p_select_rows),
    check!(LinearAct, p_linear_act),
    check!(EmbedLinear, p_embed_linear),
    check!(DistillBceLoss, p_distill_bce),
    check!(CatalogueCrossEntropyLoss, p_catalogue_ce),
];

fn run(kind: OpKind) {
    let check = CHECKS
        .iter()
        .find(|c| c.kind == kind)
        .unwrap_or_else(|| panic!("{kind:?} has no gradient check"));
    let mut runner = TestRunner::new(Config {
        cases: 128,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (1usize..6, 1usize..6, 1usize..5, any::<u64>())
        .prop_map(|(r, c, k, seed)| Dims { r, c, k, seed });
    if let Err(e) = runner.run(&strategy, |d| gradcheck(check, d)) {
        panic!("gradient check for {kind:?} failed: {e}");
    }
}

#[test]
fn every_op_and_loss_has_a_gradient_check() {
    let checked: BTreeSet<OpKind> = CHECKS.iter().map(|c| c.kind).collect();
    let missing: Vec<_> = OpKind::ALL
        .iter()
        .filter(|k| !checked.contains(k))
        .collect();
    assert!(
        missing.is_empty(),
        "ops without a gradient check: {missing:?}"
    );
    assert_eq!(checked.len(), CHECKS.len(), "an op is checked twice");
}

macro_rules! gradcheck_tests {
    ($($name:ident => $kind:ident),* $(,)?) => {
        $( #[test] fn $name() { run(OpKind::$kind) } )*
    };
}

gradcheck_tests! {
    gradcheck_matmul => MatMul,
    gradcheck_add => Add,
    gradcheck_sub => Sub,
    gradcheck_mul => Mul,
    gradcheck_scale => Scale,
    gradcheck_sum_all => SumAll,
    gradcheck_sum_rows => SumRows,
    gradcheck_sum_cols => SumCols,
    gradcheck_mean_all => MeanAll,
    gradcheck_mean_rows => MeanRows,
    gradcheck_mean_cols => MeanCols,
    gradcheck_exp => Exp,
    gradcheck_log => Log,
    gradcheck_relu => Relu,
    gradcheck_sigmoid => Sigmoid,
    gradcheck_tanh => Tanh,
    gradcheck_gelu => Gelu,
    gradcheck_softmax => Softmax,
    gradcheck_log_softmax => LogSoftmax,
    gradcheck_concat_cols => ConcatCols,
    gradcheck_slice_cols => SliceCols,
    gradcheck_gather => Gather,
    gradcheck_embedding_bag => EmbeddingBag,
    gradcheck_dropout => Dropout,
    gradcheck_layer_norm => LayerNorm,
    gradcheck_gate_combine => GateCombine,
    gradcheck_logit_product => LogitProduct,
    gradcheck_mse_loss => MseLoss,
    gradcheck_bce_with_logits_loss => BceWithLogitsLoss,
    gradcheck_softmax_cross_entropy_loss => SoftmaxCrossEntropyLoss,
    gradcheck_weighted_sum => WeightedSum,
    gradcheck_attention => Attention,
    gradcheck_masked_mean => MaskedMean,
    gradcheck_l2_normalize => L2Normalize,
    gradcheck_select_rows => SelectRows,
    gradcheck_linear_act => LinearAct,
    gradcheck_embed_linear => EmbedLinear,
    gradcheck_distill_bce_loss => DistillBceLoss,
    gradcheck_catalogue_cross_entropy_loss => CatalogueCrossEntropyLoss,
}
