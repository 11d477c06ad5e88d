//! Tests of the fused attention kernels: against the naive reference, padding rows, and
//! one node used as q, k and v.

use super::*;

fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| (((i as u32).wrapping_mul(2654435761u32) ^ seed) % 1000) as f32 / 500.0 - 1.0)
        .collect()
}

#[test]
fn fused_matches_the_naive_reference_and_padding_rows_are_zero() {
    for causal in [false, true] {
        let dims = AttnDims {
            b: 3,
            t: 5,
            h: 2,
            dh: 3,
            causal,
        };
        let n = dims.b * dims.t * dims.width();
        let (q, k, v) = (values(n, 1), values(n, 7), values(n, 13));
        let lengths = [5, 2, 0];
        let mut fused = vec![f32::NAN; n];
        let mut p = vec![f32::NAN; dims.b * dims.h * dims.t * dims.t];
        let qkv = Qkv {
            q: &q,
            k: &k,
            v: &v,
        };
        attention_forward(&mut fused, &mut p, qkv, &lengths, dims);
        let mut naive = vec![f32::NAN; n];
        attention_forward_naive(&mut naive, &q, &k, &v, &lengths, dims);
        for (a, b) in fused.iter().zip(&naive) {
            assert!((a - b).abs() < 1e-5, "fused {a} vs naive {b}");
        }
        assert!(fused.iter().chain(&p).all(|x| x.is_finite()));
        // sequence 1 has 2 valid tokens: rows 2..5 are padding; sequence 2 is empty.
        assert!(fused[(dims.t + 2) * dims.width()..]
            .iter()
            .all(|&x| x == 0.0));
        assert!(fused[..dims.t * dims.width()].iter().any(|&x| x != 0.0));
    }
}

#[test]
fn one_node_as_q_k_and_v_receives_the_sum_of_the_three_gradients() {
    use crate::autograd::ParamStore;
    let (b, t, h, dh) = (2, 4, 2, 3);
    let n = b * t * h * dh;
    let x = values(n, 3);
    let seed = values(n, 11);
    let spec = AttentionSpec {
        batch: b,
        seq_len: t,
        heads: h,
        lengths: vec![4, 3],
        causal: true,
    };
    let mut s1 = ParamStore::new();
    let p = s1.add_dense("x", b * t, h * dh, x.clone()).unwrap();
    let mut g = Graph::new(0);
    let xv = g.param(&s1, p).unwrap();
    let o = g.attention(xv, xv, xv, &spec).unwrap();
    g.backward_with_grad(o, &seed, &mut s1).unwrap();
    let shared = s1.grad_to_vec(p);

    let mut s3 = ParamStore::new();
    let ids: Vec<_> = ["q", "k", "v"]
        .iter()
        .map(|name| s3.add_dense(name, b * t, h * dh, x.clone()).unwrap())
        .collect();
    let mut g = Graph::new(0);
    let vs: Vec<_> = ids.iter().map(|&i| g.param(&s3, i).unwrap()).collect();
    let o = g.attention(vs[0], vs[1], vs[2], &spec).unwrap();
    g.backward_with_grad(o, &seed, &mut s3).unwrap();
    let sum: Vec<f32> = (0..n)
        .map(|j| ids.iter().map(|&i| s3.grad_to_vec(i)[j]).sum())
        .collect();
    for (a, b) in shared.iter().zip(&sum) {
        assert!((a - b).abs() < 1e-5, "shared {a} vs sum {b}");
    }
    assert!(shared.iter().any(|&g| g != 0.0));
}
