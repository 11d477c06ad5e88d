//! The fused catalogue cross-entropy (`ops::catalogue_ce`) against its twins: the f64
//! reference loops and the graph's unfused composition (`select_rows` + `matmul` +
//! `softmax_cross_entropy`), at sizes past `ROW_BLOCK` and `GROUPS`, odd widths, masked
//! (padding) rows; and bit-identical on 1, 2 and 3 threads.

use mtrec::autograd::{Graph, ParamStore};
use mtrec::loss::LossOpts;
use mtrec::ops::catalogue_ce::{
    catalogue_ce_backward_items, catalogue_ce_forward, catalogue_ce_reference, CeDims, CeGrads,
    GROUPS, ROW_BLOCK,
};
use mtrec::ops::gemm::{gemm_accumulate, gemm_accumulate_serial, Gemm};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::{Rng, SeedableRng};

fn uniform(rng: &mut StdRng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(lo..hi)).collect()
}

/// `|a − b| ≤ atol + rtol·|b|` element by element, with the worst offender in the message.
fn close(what: &str, a: &[f32], b: &[f32], atol: f32, rtol: f32) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= atol + rtol * y.abs(),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

struct Problem {
    h: Vec<f32>,
    cat: Vec<f32>,
    classes: Vec<u32>,
    coef: Vec<f32>,
    dims: CeDims,
}

/// Logits of a few units, like a trained model's; every third row masked when `masked`.
fn problem(seed: u64, n: usize, d: usize, v: usize, masked: bool) -> Problem {
    let mut rng = StdRng::seed_from_u64(seed);
    let h = uniform(&mut rng, n * d, -1.0, 1.0);
    let cat = uniform(&mut rng, v * d, -1.0, 1.0);
    let classes = (0..n).map(|_| rng.gen_range(0..v as u32)).collect();
    let coef = (0..n)
        .map(|i| {
            if masked && i % 3 == 1 {
                0.0
            } else {
                rng.gen_range(0.5..1.5)
            }
        })
        .collect();
    Problem {
        h,
        cat,
        classes,
        coef,
        dims: CeDims { n, d, v },
    }
}

/// The fused kernel and its backward at `dl`: (L, dH, dE_cat).
fn fused(p: &Problem, dl: f32) -> (f32, Vec<f32>, Vec<f32>) {
    let CeDims { n, d, v } = p.dims;
    let mut terms = vec![0f64; n];
    let mut dh1 = vec![0f32; n * d];
    let mut parts = vec![0f32; p.dims.groups() * v * d];
    let grads = CeGrads {
        dh: &mut dh1,
        de_parts: &mut parts,
    };
    let l = catalogue_ce_forward(
        &mut terms,
        Some(grads),
        &p.h,
        &p.cat,
        &p.classes,
        &p.coef,
        p.dims,
    );
    let dh: Vec<f32> = dh1.iter().map(|&x| dl * x).collect();
    let mut de = vec![0f32; v * d];
    catalogue_ce_backward_items(&mut de, dl, &parts, p.dims);
    (l, dh, de)
}

#[test]
fn fused_kernel_matches_the_reference_past_every_block_and_group() {
    // one block; several blocks in fewer groups; more blocks than GROUPS (odd sizes)
    let n_big = ROW_BLOCK * GROUPS + 17;
    for (seed, n, d, v) in [
        (1, 5, 8, 40),
        (2, 3 * ROW_BLOCK + 1, 13, 517),
        (3, n_big, 7, 1031),
    ] {
        for masked in [false, true] {
            let p = problem(seed, n, d, v, masked);
            let dl = 0.75;
            let (l, dh, de) = fused(&p, dl);
            let (want_l, want_dh, want_de) =
                catalogue_ce_reference(dl, &p.h, &p.cat, &p.classes, &p.coef, p.dims);
            let what = format!("n={n} d={d} v={v} masked={masked}");
            assert!(
                (l - want_l).abs() <= 1e-5 * want_l.abs(),
                "{what}: L {l} vs {want_l}"
            );
            close(&format!("dH {what}"), &dh, &want_dh, 1e-5, 1e-4);
            close(&format!("dE {what}"), &de, &want_de, 1e-5, 1e-4);
            if masked {
                // a masked (padding) row contributes nothing: its dH row is exactly 0
                assert!(dh[d..2 * d].iter().all(|&x| x == 0.0), "{what}");
            }
        }
    }
}

#[test]
fn masked_rows_contribute_nothing() {
    let p = problem(4, 2 * ROW_BLOCK + 5, 9, 301, true);
    let keep: Vec<usize> = (0..p.dims.n).filter(|&i| p.coef[i] != 0.0).collect();
    let d = p.dims.d;
    let q = Problem {
        h: keep
            .iter()
            .flat_map(|&i| p.h[i * d..(i + 1) * d].to_vec())
            .collect(),
        cat: p.cat.clone(),
        classes: keep.iter().map(|&i| p.classes[i]).collect(),
        coef: keep.iter().map(|&i| p.coef[i]).collect(),
        dims: CeDims {
            n: keep.len(),
            ..p.dims
        },
    };
    let (l, dh, de) = fused(&p, 1.0);
    let (lq, dhq, deq) = fused(&q, 1.0);
    assert!((l - lq).abs() <= 1e-5 * lq.abs(), "{l} vs {lq}");
    let dh_kept: Vec<f32> = keep
        .iter()
        .flat_map(|&i| dh[i * d..(i + 1) * d].to_vec())
        .collect();
    close("dH", &dh_kept, &dhq, 1e-6, 1e-5);
    close("dE", &de, &deq, 1e-6, 1e-5);
}

#[test]
fn fused_kernel_is_bit_identical_on_1_2_and_3_threads() {
    let p = problem(5, ROW_BLOCK * GROUPS + 40, 16, 777, true);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| fused(&p, 1.0))
    };
    let one = run(1);
    for t in [2, 3] {
        let other = run(t);
        assert_eq!(one.0.to_bits(), other.0.to_bits(), "L on {t} threads");
        assert_eq!(one.1, other.1, "dH on {t} threads");
        assert_eq!(one.2, other.2, "dE on {t} threads");
    }
}

#[test]
fn serial_gemm_gives_the_bits_of_the_parallel_one() {
    let mut rng = StdRng::seed_from_u64(6);
    let (m, k, n) = (150, 64, 900); // past the GEMM's parallel threshold
    let a = uniform(&mut rng, m * k, -1.0, 1.0);
    let b = uniform(&mut rng, n * k, -1.0, 1.0);
    let g = Gemm::new(m, k, n).trans_b(true);
    let mut par = vec![0f32; m * n];
    rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap()
        .install(|| gemm_accumulate(&mut par, &a, &b, g));
    let mut ser = vec![0f32; m * n];
    gemm_accumulate_serial(&mut ser, &a, &b, g);
    assert_eq!(par, ser);
}

/// Loss and gradients of h and items through the graph, fused or unfused.
fn through_graph(
    p: &Problem,
    first: usize,
    mask: &[f32],
    fused: bool,
) -> (f32, Vec<f32>, Vec<f32>) {
    let CeDims { n, d, v } = p.dims;
    let mut store = ParamStore::new();
    let hid = store.add_dense("h", n, d, p.h.clone()).unwrap();
    // `first` rows before the catalogue (SASRec's padding row)
    let mut items = vec![0.5f32; first * d];
    items.extend_from_slice(&p.cat);
    let iid = store.add_dense("items", first + v, d, items).unwrap();
    let mut g = Graph::new(0);
    let h = g.param(&store, hid).unwrap();
    let e = g.param(&store, iid).unwrap();
    let opts = LossOpts {
        weights: Some(&p.coef),
        mask: Some(mask),
    };
    let loss = if fused {
        g.catalogue_cross_entropy(h, e, first, &p.classes, opts)
            .unwrap()
    } else {
        let ids: Vec<u32> = (first as u32..(first + v) as u32).collect();
        let cat = g.select_rows(e, &ids).unwrap();
        let z = g.matmul(h, cat, false, true).unwrap();
        g.softmax_cross_entropy(z, &p.classes, opts).unwrap()
    };
    store.zero_grad();
    // seeded with N so that the gradients are O(1) and a 1 % error shows
    g.backward_with_grad(loss, &[n as f32], &mut store).unwrap();
    (
        g.scalar(loss),
        store.grad_to_vec(hid),
        store.grad_to_vec(iid),
    )
}

#[test]
fn fused_graph_loss_matches_the_unfused_composition() {
    for (seed, n, d, v) in [(7, 6, 5, 23), (8, ROW_BLOCK * GROUPS + 3, 12, 601)] {
        let p = problem(seed, n, d, v, false);
        let mask: Vec<f32> = (0..n).map(|i| if i % 4 == 2 { 0.0 } else { 1.0 }).collect();
        let (lf, dhf, def) = through_graph(&p, 1, &mask, true);
        let (lu, dhu, deu) = through_graph(&p, 1, &mask, false);
        assert!((lf - lu).abs() <= 1e-5 * lu.abs(), "n={n}: L {lf} vs {lu}");
        close("dH", &dhf, &dhu, 1e-5, 1e-4);
        close("dItems", &def, &deu, 1e-5, 1e-4);
        assert!(
            def[..d].iter().all(|&x| x == 0.0),
            "padding row 0 gets no gradient"
        );
    }
}

#[test]
fn shape_and_class_errors_say_what_to_fix() {
    let mut store = ParamStore::new();
    let hid = store.add_dense("h", 2, 3, vec![0.1; 6]).unwrap();
    let iid = store.add_dense("items", 5, 4, vec![0.1; 20]).unwrap();
    let jid = store.add_dense("items3", 5, 3, vec![0.1; 15]).unwrap();
    let mut g = Graph::new(0);
    let h = g.param(&store, hid).unwrap();
    let e = g.param(&store, iid).unwrap();
    let f = g.param(&store, jid).unwrap();
    let err = g
        .catalogue_cross_entropy(h, e, 1, &[0, 1], LossOpts::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("same width"), "{err}");
    let err = g
        .catalogue_cross_entropy(h, f, 1, &[0, 4], LossOpts::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains('4'), "class 4 of a 4-item catalogue: {err}");
    assert!(g
        .catalogue_cross_entropy(h, f, 1, &[0], LossOpts::default())
        .is_err());
    assert!(g
        .catalogue_cross_entropy(h, f, 1, &[0, 3], LossOpts::default())
        .is_ok());
}
