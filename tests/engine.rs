//! Engine behaviour beyond single-op gradients: fan-out, buffer reuse, determinism,
//! numerical stability, and errors that name the op and the offending input.

use approx::assert_abs_diff_eq;
use mtrec::autograd::{Axis, Graph, ParamStore};
use mtrec::loss::LossOpts;
use mtrec::ops::unary::erf;
use mtrec::tensor::Tensor;
use mtrec::Error;

fn store_with(values: &[(&str, usize, usize, Vec<f32>)]) -> ParamStore {
    let mut s = ParamStore::new();
    for (name, r, c, v) in values {
        s.add_dense(name, *r, *c, v.clone()).unwrap();
    }
    s
}

/// A shared input feeding K task heads receives the sum of their gradients.
#[test]
fn fan_out_shared_input_receives_sum_of_task_gradients() {
    let mut s = store_with(&[
        (
            "shared",
            3,
            4,
            (0..12).map(|i| (i as f32 * 0.37).sin()).collect(),
        ),
        ("head0", 4, 1, vec![0.3, -0.2, 0.5, 0.1]),
        ("head1", 4, 1, vec![-0.4, 0.6, 0.2, -0.3]),
        ("head2", 4, 1, vec![0.25, 0.25, -0.5, 0.75]),
    ]);
    let (x_id, heads) = (
        s.find("shared").unwrap(),
        ["head0", "head1", "head2"].map(|h| s.find(h).unwrap()),
    );
    let targets = [[1.0f32, 0.0, 1.0], [0.5, -0.5, 2.0], [0.0, 1.0, 0.0]];
    let weights = [1.0f32, 0.5, 2.0];
    let mut g = Graph::new(0);

    // Each task alone, from zeroed gradients, then summed with its weight.
    let mut expected = vec![0f32; 12];
    for k in 0..3 {
        g.reset();
        s.zero_grad();
        let x = g.param(&s, x_id).unwrap();
        let w = g.param(&s, heads[k]).unwrap();
        let y = g.mm(x, w).unwrap();
        let l = g.mse_loss(y, &targets[k], LossOpts::default()).unwrap();
        let l = g.scale(l, weights[k]).unwrap();
        g.backward(l, &mut s).unwrap();
        expected
            .iter_mut()
            .zip(s.grad(x_id).unwrap())
            .for_each(|(e, g)| *e += g);
    }

    // All tasks in one graph from the weighted sum.
    g.reset();
    s.zero_grad();
    let x = g.param(&s, x_id).unwrap();
    let losses: Vec<_> = (0..3)
        .map(|k| {
            let w = g.param(&s, heads[k]).unwrap();
            let y = g.mm(x, w).unwrap();
            g.mse_loss(y, &targets[k], LossOpts::default()).unwrap()
        })
        .collect();
    let total = g.weighted_sum(&losses, &weights).unwrap();
    g.backward(total, &mut s).unwrap();
    for (a, e) in s.grad(x_id).unwrap().iter().zip(&expected) {
        assert_abs_diff_eq!(*a, *e, epsilon = 1e-6);
    }
    assert!(
        expected.iter().any(|v| v.abs() > 1e-3),
        "the check must involve non-zero gradients"
    );
}

/// After the first step, recording the same ops again reuses every buffer.
#[test]
fn graph_buffers_are_reused_across_steps() {
    let mut s = store_with(&[("w", 8, 4, vec![0.1; 32]), ("b", 1, 4, vec![0.0; 4])]);
    let (w_id, b_id) = (s.find("w").unwrap(), s.find("b").unwrap());
    let x = Tensor::from_vec(16, 8, (0..128).map(|i| (i as f32).cos()).collect()).unwrap();
    let y = vec![0.5f32; 64];
    let mut g = Graph::new(1);
    let step = |g: &mut Graph, s: &mut ParamStore| {
        g.reset();
        let xv = g.input(&x);
        let (w, b) = (g.param(s, w_id).unwrap(), g.param(s, b_id).unwrap());
        let h = g.mm(xv, w).unwrap();
        let h = g.add(h, b).unwrap();
        let h = g.relu(h).unwrap();
        let h = g.dropout(h, 0.1).unwrap();
        let l = g.mse_loss(h, &y, LossOpts::default()).unwrap();
        s.zero_grad();
        g.backward(l, s).unwrap();
    };
    step(&mut g, &mut s);
    let (nodes, bytes) = (g.len(), g.buffer_bytes());
    for _ in 0..5 {
        step(&mut g, &mut s);
        assert_eq!(g.len(), nodes);
        assert_eq!(
            g.buffer_bytes(),
            bytes,
            "a repeated step must not grow any buffer"
        );
    }
}

#[test]
fn same_seed_gives_bit_identical_dropout_and_gradients() {
    let run = || {
        let mut s = store_with(&[("a", 4, 6, (0..24).map(|i| i as f32 / 10.0).collect())]);
        let id = s.find("a").unwrap();
        let mut g = Graph::new(42);
        let a = g.param(&s, id).unwrap();
        let d = g.dropout(a, 0.5).unwrap();
        let l = g.sum(d, Axis::All).unwrap();
        g.backward(l, &mut s).unwrap();
        (g.value(d).to_vec(), s.grad(id).unwrap().to_vec())
    };
    assert_eq!(run(), run());
}

#[test]
fn eval_mode_dropout_is_identity() {
    let s = store_with(&[("a", 2, 3, vec![1., 2., 3., 4., 5., 6.])]);
    let mut g = Graph::new(0);
    g.set_training(false);
    let a = g.param(&s, s.find("a").unwrap()).unwrap();
    let d = g.dropout(a, 0.9).unwrap();
    assert_eq!(d, a);
}

#[test]
fn bce_with_logits_is_stable_for_huge_logits() {
    let mut s = store_with(&[("z", 4, 1, vec![1e4, -1e4, 1e4, -1e4])]);
    let id = s.find("z").unwrap();
    let mut g = Graph::new(0);
    let z = g.param(&s, id).unwrap();
    // Right answers cost ~0, confidently wrong ones cost |z|.
    let l = g
        .bce_with_logits(z, &[1.0, 0.0, 0.0, 1.0], LossOpts::default())
        .unwrap();
    assert_abs_diff_eq!(g.scalar(l), (0.0 + 0.0 + 1e4 + 1e4) / 4.0, epsilon = 1e-2);
    g.backward(l, &mut s).unwrap();
    let dz = s.grad(id).unwrap();
    let expected = [0.0, 0.0, 0.25, -0.25]; // (σ(z) − y)/B
    for (a, e) in dz.iter().zip(expected) {
        assert!(a.is_finite());
        assert_abs_diff_eq!(*a, e, epsilon = 1e-6);
    }
}

#[test]
fn masked_samples_contribute_nothing() {
    let mut s = store_with(&[("p", 3, 1, vec![0.0, 5.0, 1.0])]);
    let id = s.find("p").unwrap();
    let mut g = Graph::new(0);
    let p = g.param(&s, id).unwrap();
    let l = g
        .mse_loss(p, &[1.0, -100.0, 3.0], LossOpts::masked(&[1.0, 0.0, 1.0]))
        .unwrap();
    // Mean over the two labelled samples: ((0−1)² + (1−3)²)/2 = 2.5
    assert_abs_diff_eq!(g.scalar(l), 2.5, epsilon = 1e-6);
    g.backward(l, &mut s).unwrap();
    assert_eq!(s.grad(id).unwrap()[1], 0.0);
    // A batch with no label at all: zero loss, zero gradient.
    g.reset();
    s.zero_grad();
    let p = g.param(&s, id).unwrap();
    let l = g
        .mse_loss(p, &[1.0, 2.0, 3.0], LossOpts::masked(&[0.0, 0.0, 0.0]))
        .unwrap();
    assert_eq!(g.scalar(l), 0.0);
    g.backward(l, &mut s).unwrap();
    assert!(s.grad(id).unwrap().iter().all(|&v| v == 0.0));
}

#[test]
fn gather_gradient_touches_only_looked_up_rows() {
    let mut s = ParamStore::new();
    let t = s.add_table("items", 1000, 4, vec![0.5; 4000]).unwrap();
    let mut g = Graph::new(0);
    let e = g.gather(&s, t, &[7, 3, 7]).unwrap();
    let l = g.sum(e, Axis::All).unwrap();
    g.backward(l, &mut s).unwrap();
    let sg = s.sparse_grad(t).unwrap();
    assert_eq!(sg.touched(), &[7, 3]);
    assert_eq!(sg.row(0), &[2.0; 4]); // row 7 looked up twice
    assert_eq!(sg.row(1), &[1.0; 4]);
    s.zero_grad();
    assert!(s.sparse_grad(t).unwrap().touched().is_empty());
}

#[test]
fn erf_matches_reference_values() {
    // Values from the series definition at high precision.
    for (x, e) in [
        (0.0, 0.0),
        (0.5, 0.520_499_877_813_046_5),
        (1.0, 0.842_700_792_949_714_9),
        (2.0, 0.995_322_265_018_952_7),
        (3.0, 0.999_977_909_503_001_4),
        (-1.5, -0.966_105_146_475_310_7),
    ] {
        assert_abs_diff_eq!(erf(x), e, epsilon = 1e-13);
    }
}

// ------------------------------------------------------------------ errors

#[test]
fn mismatched_matmul_names_op_and_shapes() {
    let mut g = Graph::new(0);
    let a = g.input(&Tensor::zeros(2, 3));
    let b = g.input(&Tensor::zeros(4, 5));
    let err = g.mm(a, b).unwrap_err();
    assert!(matches!(err, Error::Shape { op: "matmul", .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("matmul") && msg.contains("(2, 3)") && msg.contains("(4, 5)"),
        "{msg}"
    );
}

#[test]
fn bad_broadcast_names_op_and_shapes() {
    let mut g = Graph::new(0);
    let a = g.input(&Tensor::zeros(2, 3));
    let b = g.input(&Tensor::zeros(2, 2));
    let msg = g.add(a, b).unwrap_err().to_string();
    assert!(
        msg.contains("add") && msg.contains("(2, 3)") && msg.contains("(2, 2)"),
        "{msg}"
    );
}

#[test]
fn out_of_range_embedding_index_is_an_error() {
    let mut s = ParamStore::new();
    let t = s.add_table("users", 10, 2, vec![0.0; 20]).unwrap();
    let mut g = Graph::new(0);
    let err = g.gather(&s, t, &[1, 2, 10]).unwrap_err();
    assert_eq!(
        err,
        Error::Index {
            op: "gather",
            position: 2,
            index: 10,
            bound: 10
        }
    );
    assert!(err.to_string().contains("0..10"));
}

#[test]
fn nan_in_a_loss_names_the_value() {
    let mut g = Graph::new(0);
    let p = g.input(&Tensor::zeros(3, 1));
    let err = g
        .mse_loss(p, &[0.0, f32::NAN, 1.0], LossOpts::default())
        .unwrap_err();
    match &err {
        Error::Value {
            op,
            position,
            value,
            ..
        } => {
            assert_eq!((*op, *position), ("mse_loss", 1));
            assert!(value.is_nan());
        }
        other => panic!("unexpected error {other:?}"),
    }
    let p = g.input(&Tensor::from_vec(2, 1, vec![0.0, f32::INFINITY]).unwrap());
    let msg = g
        .bce_with_logits(p, &[0.0, 1.0], LossOpts::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("bce_with_logits") && msg.contains("inf"),
        "{msg}"
    );
    let p = g.input(&Tensor::zeros(2, 1));
    let msg = g
        .bce_with_logits(p, &[0.0, 2.0], LossOpts::default())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("[0, 1]"), "{msg}");
}

#[test]
fn class_id_out_of_range_and_bad_mask_are_errors() {
    let mut g = Graph::new(0);
    let z = g.input(&Tensor::zeros(2, 3));
    let err = g
        .softmax_cross_entropy(z, &[0, 3], LossOpts::default())
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Index {
            op: "softmax_cross_entropy",
            position: 1,
            index: 3,
            bound: 3
        }
    ));
    let msg = g
        .softmax_cross_entropy(z, &[0, 1], LossOpts::masked(&[1.0, 0.5]))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("label mask"), "{msg}");
}

#[test]
fn log_of_non_positive_and_non_scalar_backward_are_errors() {
    let mut s = ParamStore::new();
    let mut g = Graph::new(0);
    let a = g.input(&Tensor::from_vec(1, 2, vec![1.0, -1.0]).unwrap());
    let msg = g.log(a).unwrap_err().to_string();
    assert!(msg.contains("log") && msg.contains("-1"), "{msg}");
    let msg = g.backward(a, &mut s).unwrap_err().to_string();
    assert!(msg.contains("(1, 2)") && msg.contains("scalar"), "{msg}");
}

#[test]
fn stale_handles_are_errors_not_panics() {
    let mut g = Graph::new(0);
    let a = g.input(&Tensor::zeros(2, 2));
    g.reset();
    assert!(matches!(g.relu(a), Err(Error::Handle { .. })));
}

#[test]
fn logit_product_is_the_logit_of_the_product_of_probabilities() {
    let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
    let pairs = [
        (0.0f32, 0.0f32),
        (2.0, -1.0),
        (-3.0, 5.0),
        (30.0, 30.0),
        (-40.0, 10.0),
    ];
    let mut g = Graph::new(0);
    let a = g.input(&Tensor::from_vec(5, 1, pairs.iter().map(|p| p.0).collect()).unwrap());
    let b = g.input(&Tensor::from_vec(5, 1, pairs.iter().map(|p| p.1).collect()).unwrap());
    let z = g.logit_product(a, b).unwrap();
    for (i, &(x, y)) in pairs.iter().enumerate() {
        let p = sig(x as f64) * sig(y as f64);
        let zi = g.value(z)[i] as f64;
        assert!(zi.is_finite());
        // Compare probabilities (the logit of p ≈ 1 is ill-conditioned in f64 itself).
        assert_abs_diff_eq!(sig(zi), p, epsilon = 1e-6);
    }
    assert_abs_diff_eq!(g.value(z)[0], -(3f32).ln(), epsilon = 1e-6); // σ(0)² = 1/4 ⇒ logit = −ln 3
}
