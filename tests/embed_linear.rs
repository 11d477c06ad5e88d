//! The factorised layer over gathered embeddings (`ops::embed_linear`) against the plain
//! product it replaces: forward values and every gradient (tables, weight, bias, dense
//! parts) agree, on 1 and 2 threads, for each activation; `Auto` takes the factorised
//! path exactly when it should. (Its finite-difference check is
//! `gradcheck_embed_linear` in `tests/gradcheck.rs`.)

use mtrec::autograd::{Graph, OpKind, ParamId, ParamStore, UnaryFn, Var};
use mtrec::ops::embed_linear::EmbedLinearMode;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};

struct Case {
    store: ParamStore,
    tables: Vec<(ParamId, Vec<u32>)>,
    dense_in: ParamId,
    num: Vec<f32>,
    w: ParamId,
    b: ParamId,
    rows: usize,
    n: usize,
}

/// Tables of `vocab` rows and width `dims[f]`, ids drawn over the vocabulary (the first
/// table's over a large one, so that `Auto` leaves it dense), a numeric input and a
/// dense parameter part; x = [tables | dense param | numerics].
fn case(rows: usize, n: usize, vocab: &[usize], dims: &[usize], seed: u64) -> Case {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut draw = |k: usize| {
        (0..k)
            .map(|_| rng.gen_range(-1.0f32..1.0))
            .collect::<Vec<f32>>()
    };
    let mut store = ParamStore::new();
    let mut d_in = 0;
    let mut tables = Vec::new();
    let mut id_rng = StdRng::seed_from_u64(seed ^ 7);
    for (f, (&v, &d)) in vocab.iter().zip(dims).enumerate() {
        let t = store
            .add_table(&format!("t{f}"), v, d, draw(v * d))
            .unwrap();
        let ids = (0..rows).map(|_| id_rng.gen_range(0..v as u32)).collect();
        tables.push((t, ids));
        d_in += d;
    }
    let dense_in = store.add_dense("dense", rows, 3, draw(rows * 3)).unwrap();
    let num = draw(rows * 2);
    d_in += 5;
    let w = store.add_dense("w", d_in, n, draw(d_in * n)).unwrap();
    let b = store.add_dense("b", 1, n, draw(n)).unwrap();
    Case {
        store,
        tables,
        dense_in,
        num,
        w,
        b,
        rows,
        n,
    }
}

/// Records x = [tables | dense param | numerics], w and b of `c`.
fn record_inputs(g: &mut Graph, c: &Case) -> (Var, Var, Var) {
    let mut parts = Vec::new();
    for (t, ids) in &c.tables {
        parts.push(g.gather(&c.store, *t, ids).unwrap());
    }
    parts.push(g.param(&c.store, c.dense_in).unwrap());
    parts.push(g.input_slice(c.rows, 2, &c.num).unwrap());
    let x = g.concat_cols(&parts).unwrap();
    (
        x,
        g.param(&c.store, c.w).unwrap(),
        g.param(&c.store, c.b).unwrap(),
    )
}

/// Forward value, op kind of the output and every gradient (in store order).
fn run(
    c: &mut Case,
    mode: EmbedLinearMode,
    f: Option<UnaryFn>,
) -> (Vec<f32>, Option<OpKind>, Vec<Vec<f32>>) {
    let mut g = Graph::new(0);
    g.set_embed_linear(mode);
    let (x, w, b) = record_inputs(&mut g, c);
    let y = g.linear_act(x, w, b, f).unwrap();
    let mut rng = StdRng::seed_from_u64(99);
    let seed: Vec<f32> = (0..c.rows * c.n)
        .map(|_| rng.gen_range(-1.0..1.0))
        .collect();
    c.store.zero_grad();
    g.backward_with_grad(y, &seed, &mut c.store).unwrap();
    let ids: Vec<ParamId> = c.store.ids().collect();
    let grads = ids.iter().map(|&p| c.store.grad_to_vec(p)).collect();
    (g.value(y).to_vec(), g.op_kind(y), grads)
}

fn assert_close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-4 + 1e-4 * y.abs(),
            "{what}[{i}]: factorised {x} vs plain {y}"
        );
    }
}

#[test]
fn factorised_equals_the_plain_product_values_and_gradients() {
    for (k, f) in [
        None,
        Some(UnaryFn::Relu),
        Some(UnaryFn::Sigmoid),
        Some(UnaryFn::Gelu),
    ]
    .into_iter()
    .enumerate()
    {
        // widths with partial register blocks (45, 70) and a full one (64)
        for &n in &[45usize, 64, 70] {
            let mut c = case(
                37,
                n,
                &[500, 3, 7, 1],
                &[8, 8, 4, 2],
                k as u64 * 10 + n as u64,
            );
            let (y0, k0, g0) = run(&mut c, EmbedLinearMode::Off, f);
            let (y1, k1, g1) = run(&mut c, EmbedLinearMode::Always, f);
            assert_eq!(k0, Some(OpKind::LinearAct));
            assert_eq!(k1, Some(OpKind::EmbedLinear));
            assert_close(&y1, &y0, &format!("{f:?} n={n} value"));
            for (p, (a, b)) in g1.iter().zip(&g0).enumerate() {
                assert_close(a, b, &format!("{f:?} n={n} grad of param #{p}"));
            }
        }
    }
}

/// `Auto`: factorised over tables with few distinct ids per batch (also for a layer of 3
/// outputs, the narrow kernels), the high-cardinality table left dense; the plain product
/// when no table has few distinct ids.
#[test]
fn auto_factorises_wide_layers_over_small_vocabularies() {
    let mut c = case(200, 64, &[100_000, 3, 7], &[8, 8, 8], 5);
    let (y0, _, g0) = run(&mut c, EmbedLinearMode::Off, Some(UnaryFn::Relu));
    let (y1, k1, g1) = run(&mut c, EmbedLinearMode::Auto, Some(UnaryFn::Relu));
    assert_eq!(k1, Some(OpKind::EmbedLinear));
    assert_close(&y1, &y0, "auto value");
    for (a, b) in g1.iter().zip(&g0) {
        assert_close(a, b, "auto grad");
    }
    let mut narrow = case(200, 3, &[3, 7], &[8, 8], 6);
    let (y0, _, g0) = run(&mut narrow, EmbedLinearMode::Off, None);
    let (y1, k, g1) = run(&mut narrow, EmbedLinearMode::Auto, None);
    assert_eq!(
        k,
        Some(OpKind::EmbedLinear),
        "a 3-wide layer is factorised too"
    );
    assert_close(&y1, &y0, "narrow value");
    for (a, b) in g1.iter().zip(&g0) {
        assert_close(a, b, "narrow grad");
    }
    let mut unique = case(20, 64, &[100_000], &[8], 7);
    let (_, k, _) = run(&mut unique, EmbedLinearMode::Auto, None);
    assert_eq!(
        k,
        Some(OpKind::LinearAct),
        "a batch of distinct ids stays plain"
    );
}

/// Bit-identical results on 1 and 2 threads, with rows enough to split the row kernels.
#[test]
fn factorised_is_identical_on_one_and_two_threads() {
    let results: Vec<_> = [1, 2]
        .iter()
        .map(|&t| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap();
            pool.install(|| {
                let mut c = case(700, 96, &[50, 9, 30], &[8, 8, 8], 3);
                run(&mut c, EmbedLinearMode::Always, Some(UnaryFn::Relu))
            })
        })
        .collect();
    assert_eq!(results[0].0, results[1].0, "forward values differ");
    assert_eq!(results[0].2, results[1].2, "gradients differ");
}

/// Two layers over the same x in one step share one plan (MMoE's experts and gates), and
/// the next step, with other ids in the same node slots, plans afresh: both steps and
/// both layers equal the plain products.
#[test]
fn layers_over_one_input_share_the_plan_and_each_step_plans_afresh() {
    let forward = |g: &mut Graph, c: &Case, w2: ParamId| {
        let (x, w, b) = record_inputs(g, c);
        let w2 = g.param(&c.store, w2).unwrap();
        let b2 = g.slice_cols(b, 0, 3).unwrap();
        let y1 = g.linear_act(x, w, b, Some(UnaryFn::Relu)).unwrap();
        let y2 = g.linear_act(x, w2, b2, None).unwrap();
        (g.value(y1).to_vec(), g.value(y2).to_vec(), g.op_kind(y2))
    };
    for step_seed in [1u64, 2] {
        let mut c = case(60, 40, &[5, 9, 4], &[8, 8, 8], step_seed);
        let d_in = 8 * 3 + 5;
        let w2_values: Vec<f32> = (0..d_in * 3).map(|i| (i as f32 * 0.37).sin()).collect();
        let w2 = c.store.add_dense("w2", d_in, 3, w2_values.clone()).unwrap();
        let mut plain = Graph::new(0);
        plain.set_embed_linear(EmbedLinearMode::Off);
        let want = forward(&mut plain, &c, w2);
        // the factorised graph has recorded a different step in the same slots before
        let mut g = Graph::new(0);
        let mut other = case(60, 40, &[5, 9, 4], &[8, 8, 8], step_seed + 100);
        let w2o = other.store.add_dense("w2", d_in, 3, w2_values).unwrap();
        forward(&mut g, &other, w2o);
        g.reset();
        let got = forward(&mut g, &c, w2);
        assert_eq!(got.2, Some(OpKind::EmbedLinear));
        assert_close(&got.0, &want.0, "first layer");
        assert_close(&got.1, &want.1, "second layer, same plan");
    }
}
