//! The input layer built from a feature spec and its embedding-bag op.

mod features_support;

use features_support::*;
use mtrec::autograd::{Graph, ParamStore};
use mtrec::data::features::{EncodedBatch, FeatureSpec};
use mtrec::nn::FeatureInput;
use mtrec::Error;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;

// ------------------------------------------------------------------ input layer

#[test]
fn feature_input_width_and_column_order() {
    let t = small_table();
    let spec = FeatureSpec::fit(
        &t,
        &small_features(),
        &[],
        &missing_values(),
        &[0, 1, 2, 3, 4],
    )
    .unwrap();
    let mut store = ParamStore::new();
    let mut rng = StdRng::seed_from_u64(3);
    let input = FeatureInput::new(&mut store, "input", &spec, &mut rng).unwrap();
    assert_eq!(input.d_in(), 3 + 2 + 1);
    let c = store.find("input.emb.c").unwrap();
    let g_ = store.find("input.emb.g").unwrap();
    assert_eq!((store.info(c).rows, store.info(c).cols), (4, 3)); // red, blue, green + OOV
    assert_eq!((store.info(g_).rows, store.info(g_).cols), (4, 2)); // A, B, C + OOV
    let e = spec.encode(&t).unwrap();
    let mut b = EncodedBatch::default();
    e.batch(&[0, 2], &mut b);
    let mut g = Graph::new(0);
    let x = input.forward(&mut g, &store, &b).unwrap();
    assert_eq!(g.shape(x), (2, 6));
    let y = g.value(x);
    let (tc, tg) = (store.value(c), store.value(g_));
    // Row 0: red (id 1) | mean(A, B) = mean(ids 1, 2) | x.
    assert_eq!(&y[0..3], &tc[3..6]);
    for d in 0..2 {
        assert!((y[3 + d] - (tg[2 + d] + tg[4 + d]) / 2.0).abs() < 1e-7);
    }
    assert_eq!(y[5], b.num[0]);
    // Row 2 has an empty multi-hot cell (missing → the OOV bag [0]).
    assert_eq!(&y[6 + 3..6 + 5], &tg[0..2]);
}

#[test]
fn feature_input_gradients_reach_only_looked_up_rows() {
    let t = small_table();
    let spec = FeatureSpec::fit(
        &t,
        &small_features(),
        &[],
        &missing_values(),
        &[0, 1, 2, 3, 4],
    )
    .unwrap();
    let mut store = ParamStore::new();
    let mut rng = StdRng::seed_from_u64(4);
    let input = FeatureInput::new(&mut store, "input", &spec, &mut rng).unwrap();
    let e = spec.encode(&t).unwrap();
    let mut b = EncodedBatch::default();
    e.batch(&[0, 1], &mut b); // c: red, blue (ids 1, 2); g: [A, B], [B] (ids 1, 2; 2)
    let mut g = Graph::new(0);
    let x = input.forward(&mut g, &store, &b).unwrap();
    let seed: Vec<f32> = (0..12).map(|i| i as f32 + 1.0).collect(); // (2, 6)
    store.zero_grad();
    g.backward_with_grad(x, &seed, &mut store).unwrap();
    let c = store.find("input.emb.c").unwrap();
    let gi = store.find("input.emb.g").unwrap();
    let sc = store.sparse_grad(c).unwrap();
    let sg = store.sparse_grad(gi).unwrap();
    assert_eq!(sc.touched(), &[1, 2]);
    assert_eq!(sc.row(0), &[1.0, 2.0, 3.0]); // row 0's dy for c
    assert_eq!(sc.row(1), &[7.0, 8.0, 9.0]);
    // g: A gets dy_0/2; B gets dy_0/2 + dy_1 (a bag of one).
    assert_eq!(sg.touched(), &[1, 2]);
    assert_eq!(sg.row(0), &[2.0, 2.5]);
    assert_eq!(sg.row(1), &[2.0 + 10.0, 2.5 + 11.0]);
    let dense = store.grad_to_vec(gi);
    assert_eq!(&dense[0..2], &[0.0, 0.0], "the OOV row was not looked up");
    assert_eq!(&dense[6..8], &[0.0, 0.0], "C was not looked up");
}

#[test]
fn embedding_bag_is_the_mean_and_errors_name_position_and_bound() {
    let mut store = ParamStore::new();
    let t = store
        .add_table("t", 3, 2, vec![1., 2., 3., 4., 5., 6.])
        .unwrap();
    let mut g = Graph::new(0);
    // Bags: [0, 2, 2], [], [1].
    let y = g
        .embedding_bag(&store, t, &[0, 3, 3, 4], &[0, 2, 2, 1])
        .unwrap();
    assert_eq!(g.shape(y), (3, 2));
    let want = [11. / 3., 14. / 3., 0., 0., 3., 4.]; // (1 + 5 + 5)/3, (2 + 6 + 6)/3; 0; row 1
    for (a, b) in g.value(y).iter().zip(want) {
        assert!((a - b).abs() < 1e-6, "{:?} vs {want:?}", g.value(y));
    }
    let e = expect_err(g.embedding_bag(&store, t, &[0, 1, 2], &[0, 3]));
    assert_eq!(
        e,
        Error::Index {
            op: "embedding_bag",
            position: 1,
            index: 3,
            bound: 3
        }
    );
    for offsets in [&[1u32, 2][..], &[0, 2, 1, 2], &[0, 1]] {
        let msg = expect_err(g.embedding_bag(&store, t, offsets, &[0, 1])).to_string();
        assert!(msg.contains("embedding_bag: offsets"), "{msg}");
    }
    assert!(g.embedding_bag(&store, t, &[], &[]).is_err());
    let dense = store.add_dense("w", 3, 2, vec![0.0; 6]).unwrap();
    assert!(g.embedding_bag(&store, dense, &[0, 1], &[0]).is_err());
}
