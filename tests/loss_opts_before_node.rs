//! Loss ops check their options (per-sample weights, label mask) before they record a
//! node: a rejected call leaves the graph exactly as it was.

use mtrec::autograd::Graph;
use mtrec::loss::LossOpts;
use mtrec::tensor::Tensor;

fn graph() -> (Graph, mtrec::autograd::Var) {
    let mut g = Graph::new(0);
    let z = g.input(&Tensor::from_vec(2, 1, vec![0.5, -0.5]).unwrap());
    (g, z)
}

#[test]
fn bad_weights_or_masks_record_nothing() {
    let bad_weights = [1.0, -1.0];
    let bad_mask = [1.0, 0.5];
    let short = [1.0];
    let cases: [LossOpts; 3] = [
        LossOpts::weighted(&bad_weights),
        LossOpts::masked(&bad_mask),
        LossOpts::weighted(&short),
    ];
    for opts in cases {
        let (mut g, z) = graph();
        let before = g.len();
        assert!(g.bce_with_logits(z, &[1.0, 0.0], opts).is_err());
        assert_eq!(g.len(), before, "bce_with_logits recorded a node: {opts:?}");
        assert!(g.mse_loss(z, &[1.0, 0.0], opts).is_err());
        assert_eq!(g.len(), before, "mse_loss recorded a node: {opts:?}");
        let (mut g, _) = graph();
        let z2 = g.input(&Tensor::from_vec(2, 2, vec![0.5, -0.5, 0.1, 0.2]).unwrap());
        let before = g.len();
        assert!(g.softmax_cross_entropy(z2, &[0, 1], opts).is_err());
        assert_eq!(
            g.len(),
            before,
            "softmax_cross_entropy recorded a node: {opts:?}"
        );
    }
}

#[test]
fn good_options_still_record_one_node() {
    let (mut g, z) = graph();
    let before = g.len();
    let w = [1.0, 3.0];
    let l = g
        .bce_with_logits(z, &[1.0, 0.0], LossOpts::weighted(&w))
        .unwrap();
    assert_eq!(g.len(), before + 1);
    assert!(g.scalar(l).is_finite());
}
