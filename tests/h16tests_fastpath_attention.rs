//! Attention forward and gradients (dQ, dK, dV) through the graph against a plain f64
//! reference written from the derivation in `ops::attention`, per sequence b and head h
//! with s = 1/√Dh:
//!
//! ```text
//! allowed(i, j) = i < L_b and j < L_b and (not causal or j ≤ i)
//! S_ij = s·⟨q_i, k_j⟩,  P_i = softmax over the allowed j (0 elsewhere),  o_i = Σ_j P_ij v_j
//! dV_j = Σ_i P_ij dO_i,  dP_ij = ⟨dO_i, v_j⟩,  dS_ij = P_ij (dP_ij − Σ_j' P_ij' dP_ij')
//! dQ_i = s Σ_j dS_ij k_j,  dK_j = s Σ_i dS_ij q_i
//! ```
//! Padding rows, empty sequences, causal and not, one and several heads; the (b, h) blocks
//! run in parallel (4 threads) and the results equal a 1-thread run bit for bit.
//!
//! Tolerance: `h16tests_fastpath_support` (relative 1e-4): every comparison also checks that
//! a 1 % error in the largest element of each gradient fails.

mod h16tests_fastpath_support;

use h16tests_fastpath_support::*;
use mtrec::autograd::{Graph, ParamStore};
use mtrec::ops::attention::AttentionSpec;

struct Case {
    b: usize,
    t: usize,
    h: usize,
    dh: usize,
    causal: bool,
    lengths: Vec<usize>,
}

/// (o, dQ, dK, dV) in f64, each (B·T, H·Dh).
fn reference(c: &Case, q: &[f32], k: &[f32], v: &[f32], dout: &[f32]) -> [Vec<f64>; 4] {
    let (t, dh, w) = (c.t, c.dh, c.h * c.dh);
    let n = c.b * t * w;
    let (mut o, mut dq, mut dk, mut dv) =
        (vec![0f64; n], vec![0f64; n], vec![0f64; n], vec![0f64; n]);
    let s = 1.0 / (dh as f64).sqrt();
    let f =
        |x: &[f32], at: usize| -> Vec<f64> { x[at..at + dh].iter().map(|&v| v as f64).collect() };
    let dot = |a: &[f64], b: &[f64]| -> f64 { a.iter().zip(b).map(|(x, y)| x * y).sum() };
    for bi in 0..c.b {
        let len = if c.lengths.is_empty() {
            t
        } else {
            c.lengths[bi]
        };
        for hi in 0..c.h {
            let at = |i: usize| (bi * t + i) * w + hi * dh;
            for i in 0..len {
                let qi = f(q, at(i));
                let allowed: Vec<usize> = (0..len).filter(|&j| !c.causal || j <= i).collect();
                let scores: Vec<f64> = allowed
                    .iter()
                    .map(|&j| s * dot(&qi, &f(k, at(j))))
                    .collect();
                let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = scores.iter().map(|x| (x - m).exp()).collect();
                let z: f64 = e.iter().sum();
                let p: Vec<f64> = e.iter().map(|x| x / z).collect();
                let doi = f(dout, at(i));
                let dp: Vec<f64> = allowed.iter().map(|&j| dot(&doi, &f(v, at(j)))).collect();
                let rowsum: f64 = p.iter().zip(&dp).map(|(a, b)| a * b).sum();
                for (n, &j) in allowed.iter().enumerate() {
                    let (vj, kj) = (f(v, at(j)), f(k, at(j)));
                    let ds = p[n] * (dp[n] - rowsum);
                    for x in 0..dh {
                        o[at(i) + x] += p[n] * vj[x];
                        dv[at(j) + x] += p[n] * doi[x];
                        dq[at(i) + x] += s * ds * kj[x];
                        dk[at(j) + x] += s * ds * qi[x];
                    }
                }
            }
        }
    }
    [o, dq, dk, dv]
}

/// (o, dQ, dK, dV) from the graph.
fn run(c: &Case, q: &[f32], k: &[f32], v: &[f32], dout: &[f32]) -> [Vec<f32>; 4] {
    let (rows, cols) = (c.b * c.t, c.h * c.dh);
    let mut store = ParamStore::new();
    let ids = [("q", q), ("k", k), ("v", v)]
        .map(|(name, x)| store.add_dense(name, rows, cols, x.to_vec()).unwrap());
    let mut g = Graph::new(0);
    let [vq, vk, vv] = ids.map(|id| g.param(&store, id).unwrap());
    let spec = AttentionSpec {
        batch: c.b,
        seq_len: c.t,
        heads: c.h,
        lengths: c.lengths.clone(),
        causal: c.causal,
    };
    let o = g.attention(vq, vk, vv, &spec).unwrap();
    let out = g.value(o).to_vec();
    store.zero_grad();
    g.backward_with_grad(o, dout, &mut store).unwrap();
    let [dq, dk, dv] = ids.map(|id| store.grad_to_vec(id));
    [out, dq, dk, dv]
}

#[test]
fn attention_forward_and_gradients_match_the_reference_and_a_1_percent_error_fails() {
    let cases = [
        Case {
            b: 2,
            t: 5,
            h: 2,
            dh: 3,
            causal: false,
            lengths: vec![5, 2],
        },
        Case {
            b: 2,
            t: 5,
            h: 2,
            dh: 3,
            causal: true,
            lengths: vec![5, 0],
        },
        Case {
            b: 3,
            t: 17,
            h: 4,
            dh: 8,
            causal: true,
            lengths: vec![17, 9, 1],
        },
        Case {
            b: 4,
            t: 33,
            h: 2,
            dh: 16,
            causal: false,
            lengths: vec![],
        },
        Case {
            b: 8,
            t: 12,
            h: 3,
            dh: 5,
            causal: true,
            lengths: vec![12, 11, 7, 3, 12, 1, 6, 10],
        },
    ];
    for (n, c) in cases.iter().enumerate() {
        let label = format!(
            "(B, T, H, Dh) = ({}, {}, {}, {}), causal {}, lengths {:?}",
            c.b, c.t, c.h, c.dh, c.causal, c.lengths
        );
        let len = c.b * c.t * c.h * c.dh;
        let mut rng = Lcg(90 + n as u64);
        let (q, k) = (rng.scaled(len, 1.5), rng.scaled(len, 1.5));
        let (v, dout) = (rng.vec(len), rng.vec(len));
        let got = in_pool(4, || run(c, &q, &k, &v, &dout));
        let want = reference(c, &q, &k, &v, &dout);
        for (name, (g, w)) in ["o", "dQ", "dK", "dV"].iter().zip(got.iter().zip(&want)) {
            assert_close(&format!("{name} for {label}"), g, w);
        }
        let one = in_pool(1, || run(c, &q, &k, &v, &dout));
        assert!(
            got.iter()
                .flatten()
                .map(|x| x.to_bits())
                .eq(one.iter().flatten().map(|x| x.to_bits())),
            "4 threads and 1 thread differ for {label}"
        );
    }
}
