//! The int8 first layer over embeddings as per-vocabulary partial products
//! (`ops::gemm_i8::partial`): the fast kernel against its scalar twin (bit for bit: the
//! i16 sums are exact), the derived error bound `F · s_j / 2` against the exact product
//! in f64 (property tests), and the census-shaped MMoE's experts through it.

#[path = "census_support/mod.rs"]
mod census_support;
use census_support::census_shaped;
use mtrec::autograd::{Graph, UnaryFn};
use mtrec::ops::embed_linear::EmbedLinearMode;
use mtrec::ops::gemm_i8::{partial_forward, partial_forward_reference, Partial};
use proptest::prelude::*;

/// A random layer: F tables (V_c, d_c), dense width, weights (D_in, N) with the tables'
/// columns first, then ids (B, F) into the stacked rows.
struct Case {
    tables: Vec<Vec<f32>>,
    parts: Vec<[usize; 2]>,
    d_dense: usize,
    w: Vec<f32>,
    n: usize,
    ids: Vec<u32>,
}

fn case(seed: u64, f: usize, n: usize, b: usize) -> Case {
    use ndarray_rand::rand::rngs::StdRng;
    use ndarray_rand::rand::{Rng, SeedableRng};
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut tables, mut parts, mut off) = (Vec::new(), Vec::new(), 0);
    let mut rows = Vec::new();
    for _ in 0..f {
        let (v, d) = (rng.gen_range(1..12usize), rng.gen_range(1..9usize));
        // magnitudes spread over two orders, so the column scales differ
        let mag = 10f32.powf(rng.gen_range(-1.0..1.0));
        tables.push(
            (0..v * d)
                .map(|_| mag * rng.gen_range(-1.0f32..1.0))
                .collect(),
        );
        parts.push([off, d]);
        rows.push(v);
        off += d;
    }
    let d_dense = rng.gen_range(0..4usize);
    let w = (0..(off + d_dense) * n)
        .map(|_| rng.gen_range(-0.5f32..0.5))
        .collect();
    let p0: Vec<usize> = rows
        .iter()
        .scan(0, |s, &v| {
            let r = *s;
            *s += v;
            Some(r)
        })
        .collect();
    let ids = (0..b)
        .flat_map(|_| {
            (0..f)
                .map(|c| (p0[c] + rng.gen_range(0..rows[c])) as u32)
                .collect::<Vec<_>>()
        })
        .collect();
    Case {
        tables,
        parts,
        d_dense,
        w,
        n,
        ids,
    }
}

fn build(c: &Case) -> Partial {
    let tables: Vec<&[f32]> = c.tables.iter().map(|t| &t[..]).collect();
    let off = c.parts.last().map_or(0, |p| p[0] + p[1]);
    Partial::build(&c.parts, &tables, vec![[off, c.d_dense]], &c.w, c.n)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The fast kernel (AVX-512BW / AVX2 where the CPU has them) gives the scalar twin's
    /// bits, for ReLU, sigmoid and the identity, with a dense part already in `out`.
    #[test]
    fn fast_partial_forward_equals_reference_bits(
        seed in 0u64..1_000_000, f in 1usize..8, n in 1usize..80, b in 1usize..50, act in 0usize..3,
    ) {
        let c = case(seed, f, n, b);
        let p = build(&c);
        let bias: Vec<f32> = (0..n).map(|j| (j as f32 * 0.37).sin()).collect();
        let pre: Vec<f32> = (0..b * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let act = [None, Some(UnaryFn::Relu), Some(UnaryFn::Sigmoid)][act];
        let (mut fast, mut slow) = (pre.clone(), pre);
        partial_forward(&mut fast, &p, &c.ids, &bias, act);
        partial_forward_reference(&mut slow, &p, &c.ids, &bias, act);
        let (fb, sb): (Vec<u32>, Vec<u32>) = (
            fast.iter().map(|v| v.to_bits()).collect(),
            slow.iter().map(|v| v.to_bits()).collect(),
        );
        prop_assert_eq!(fb, sb);
    }

    /// `|Σ_c T_c[id_c] · Ŵ_c − s_j Σ_c q_c[id_c]| ≤ F · s_j / 2` (the derivation in
    /// `gemm_i8::partial`), up to the epilogue's one f32 rounding of `s_j · acc`.
    #[test]
    fn partial_products_within_the_derived_bound(
        seed in 0u64..1_000_000, f in 1usize..30, n in 1usize..40, b in 1usize..20,
    ) {
        let c = case(seed, f, n, b);
        let p = build(&c);
        let bound = p.bound();
        let mut out = vec![0f32; b * n];
        partial_forward(&mut out, &p, &c.ids, &vec![0.0; n], None);
        // the exact product in f64, from the tables and weights
        let starts: Vec<usize> = c
            .tables
            .iter()
            .zip(&c.parts)
            .scan(0, |s, (t, pt)| {
                let r = *s;
                *s += t.len() / pt[1];
                Some(r)
            })
            .collect();
        for i in 0..b {
            for j in 0..n {
                let mut exact = 0f64;
                for (k, (t, &[off, d])) in c.tables.iter().zip(&c.parts).enumerate() {
                    let v = c.ids[i * f + k] as usize - starts[k];
                    for dd in 0..d {
                        exact += t[v * d + dd] as f64 * c.w[(off + dd) * n + j] as f64;
                    }
                }
                let got = out[i * n + j] as f64;
                let tol = bound[j] as f64 * (1.0 + 1e-6) + exact.abs() * 2e-7 + 1e-30;
                prop_assert!(
                    (got - exact).abs() <= tol,
                    "row {} col {}: got {} exact {} bound {}", i, j, got, exact, bound[j]
                );
            }
        }
    }
}

/// Wider than the kernel's 1,024-column pass: the column loop's second pass agrees too.
#[test]
fn wide_layer_fast_equals_reference() {
    let c = case(11, 5, 1100, 9);
    let p = build(&c);
    let bias = vec![0.25f32; 1100];
    let (mut fast, mut slow) = (vec![0f32; 9 * 1100], vec![0f32; 9 * 1100]);
    partial_forward(&mut fast, &p, &c.ids, &bias, Some(UnaryFn::Relu));
    partial_forward_reference(&mut slow, &p, &c.ids, &bias, Some(UnaryFn::Relu));
    assert_eq!(fast, slow);
}

/// The census-shaped MMoE with int8 weights: the experts' first layer takes the partial
/// products (built at the first call, kept for the next), and its output stays within
/// the derived bound of the f32 product of the same dequantised tables and weights.
#[test]
fn census_experts_take_the_partial_products_within_the_bound() {
    let mut q = census_shaped(30, 200, 2, 5).unwrap();
    mtrec::quant::quantize_in_place(&mut q.store).unwrap();
    let mut d = census_shaped(30, 200, 2, 5).unwrap();
    for id in q.store.ids() {
        d.store.value_mut(id).copy_from_slice(q.store.value(id));
    }
    let w = q.model.experts.first.w;
    assert!(q.store.int8(w).unwrap().partial.cached().is_none());
    let mut first = None;
    for batch in 0..2 {
        let run = |m: &census_support::CensusShaped| {
            let mut g = Graph::new(0);
            g.set_training(false);
            g.set_embed_linear(EmbedLinearMode::Auto);
            let x = m
                .input
                .forward(&mut g, &m.store, &m.batches[batch])
                .unwrap();
            let e = m.model.experts.forward(&mut g, &m.store, x).unwrap();
            g.value(e).to_vec()
        };
        let got = run(&q);
        let want = run(&d); // f32 T̂ · Ŵ (no int8 matrices in `d`)
        let p = q
            .store
            .int8(w)
            .unwrap()
            .partial
            .cached()
            .expect("partial products built");
        assert_eq!(
            p.parts.len(),
            29,
            "every categorical column is a partial product"
        );
        let bound = p.bound();
        let n = bound.len();
        let mut worst = 0f32;
        for (k, (a, b)) in got.iter().zip(&want).enumerate() {
            let tol = bound[k % n] + 1e-5 * (1.0 + b.abs());
            assert!((a - b).abs() <= tol, "element {k}: {a} vs {b}, bound {tol}");
            worst = worst.max((a - b).abs());
        }
        assert!(worst > 0.0, "the i16 rounding shows somewhere");
        // built once: the second batch reuses the first batch's table
        match &first {
            None => first = Some(p),
            Some(f) => assert!(std::sync::Arc::ptr_eq(f, &p)),
        }
    }
}

/// With the factorisation switched off the int8 layer keeps its integer GEMM (the
/// reference path), and nothing is precomputed.
#[test]
fn embed_linear_off_keeps_the_integer_gemm() {
    let mut q = census_shaped(10, 64, 1, 3).unwrap();
    mtrec::quant::quantize_in_place(&mut q.store).unwrap();
    let mut g = Graph::new(0);
    g.set_training(false);
    g.set_embed_linear(EmbedLinearMode::Off);
    let x = q.input.forward(&mut g, &q.store, &q.batches[0]).unwrap();
    q.model.experts.forward(&mut g, &q.store, x).unwrap();
    let w = q.model.experts.first.w;
    assert!(q.store.int8(w).unwrap().partial.cached().is_none());
}

/// Tables of many rows (the strips then gather from a larger set of cache lines) and
/// widths that are and are not multiples of the 32-column strip give the twin's bits.
#[test]
fn large_tables_and_every_width_equal_the_reference() {
    for (rows, n) in [(40, 300), (40, 96), (2000, 528), (4000, 33), (40, 8)] {
        let table: Vec<f32> = (0..rows * 4)
            .map(|i| ((i * 7919 % 997) as f32 - 498.0) / 400.0)
            .collect();
        let other: Vec<f32> = (0..10 * 3).map(|i| (i as f32 - 15.0) / 7.0).collect();
        let w: Vec<f32> = (0..7 * n)
            .map(|i| ((i * 31 % 61) as f32 - 30.0) / 60.0)
            .collect();
        let p = Partial::build(&[[0, 4], [4, 3]], &[&table, &other], Vec::new(), &w, n);
        assert_eq!(p.ld % 32, 0);
        let b = 37;
        let ids: Vec<u32> = (0..b)
            .flat_map(|i| [(i * 53 % rows) as u32, (rows + i % 10) as u32])
            .collect();
        let bias: Vec<f32> = (0..n).map(|j| j as f32 / n as f32 - 0.5).collect();
        let (mut fast, mut slow) = (vec![0.5f32; b * n], vec![0.5f32; b * n]);
        partial_forward(&mut fast, &p, &ids, &bias, Some(UnaryFn::Relu));
        partial_forward_reference(&mut slow, &p, &ids, &bias, Some(UnaryFn::Relu));
        assert_eq!(fast, slow, "{rows} rows, N = {n}");
    }
}
