//! The input layer is built from an `nn::feature_input::InputLayout` and reads an
//! `nn::EncodedBatch`: a network can be assembled and run with `nn` alone, and the data
//! layer's fitted `FeatureSpec` is one provider of the layout (`InputSpec`).

use mtrec::autograd::{Graph, ParamStore};
use mtrec::nn::feature_input::{EmbeddedFeature, InputLayout, InputSpec, TextFeature};
use mtrec::nn::{AdaptorKind, Bags, EncodedBatch, FeatureInput};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;

fn layout() -> InputLayout {
    InputLayout {
        categorical: vec![EmbeddedFeature {
            name: "user".into(),
            vocab: 3,
            dim: 2,
        }],
        multi_hot: vec![EmbeddedFeature {
            name: "genres".into(),
            vocab: 4,
            dim: 3,
        }],
        n_num: 1,
        text: Vec::new(),
    }
}

#[test]
fn an_input_layer_is_built_and_run_from_an_nn_layout_alone() {
    let mut store = ParamStore::new();
    let mut rng = StdRng::seed_from_u64(1);
    let l = layout();
    assert_eq!(l.d_in(), 2 + 3 + 1);
    let input = FeatureInput::new(&mut store, "input", &l, &mut rng).unwrap();
    assert_eq!(input.d_in(), 6);
    let names: Vec<(&str, usize, usize)> = (input.categorical.iter())
        .chain(&input.multi_hot)
        .map(|t| (store.info(t.table).name.as_str(), t.rows, t.dim))
        .collect();
    assert_eq!(
        names,
        [("input.emb.user", 4, 2), ("input.emb.genres", 5, 3)]
    );
    let mut bags = Bags::default();
    bags.push(&[1, 2]);
    bags.push(&[]);
    let batch = EncodedBatch {
        rows: 2,
        n_num: 1,
        cat: vec![vec![1, 0]],
        num: vec![0.5, -1.0],
        bags: vec![bags],
        labels: Vec::new(),
        mask: Vec::new(),
        text: Vec::new(),
    };
    let mut g = Graph::new(0);
    let x = input.forward(&mut g, &store, &batch).unwrap();
    assert_eq!(g.shape(x), (2, 6));
    // columns: user embedding (2) | mean of the bag (3) | the numeric (1)
    let user = store.value(input.categorical[0].table);
    assert_eq!(&g.value(x)[0..2], &user[2..4]); // row 0 looked up id 1
    assert_eq!(g.value(x)[5], 0.5);
    assert_eq!(g.value(x)[11], -1.0);
}

#[test]
fn the_layout_must_have_a_feature_and_text_vectors() {
    let mut store = ParamStore::new();
    let mut rng = StdRng::seed_from_u64(1);
    let empty = InputLayout::default();
    let e = FeatureInput::new(&mut store, "input", &empty, &mut rng).unwrap_err();
    assert!(e.to_string().contains("has no features"), "{e}");
    let mut l = layout();
    l.text.push(TextFeature {
        name: "title".into(),
        d_text: 0,
        dim: 4,
        adaptor: AdaptorKind::Linear,
    });
    let e = FeatureInput::new(&mut store, "input", &l, &mut rng).unwrap_err();
    assert!(e.to_string().contains("no text vectors yet"), "{e}");
}

#[test]
fn a_layout_is_its_own_input_spec() {
    let l = layout();
    assert_eq!(l.input_layout(), l);
}
