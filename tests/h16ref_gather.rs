//! The gather's `D = 8` fixed-size copy and its general copy against the public reference
//! (`ops::gather::gather_{forward,backward}_reference`), on both sides of that width,
//! forward and (through the graph, into the row-sparse gradient) backward.

mod h16ref_support;

use h16ref_support::{assert_close, Lcg};
use mtrec::autograd::{Graph, ParamStore};
use mtrec::ops::gather::{gather_backward_reference, gather_forward, gather_forward_reference};

fn check(vocab: usize, dim: usize, batch: usize, seed: u64) {
    let mut r = Lcg(seed);
    let table = r.vec(vocab * dim);
    let mut idx: Vec<u32> = (0..batch).map(|_| r.below(vocab)).collect();
    idx[batch - 1] = idx[0]; // a repeated row: its gradients add
    let want = gather_forward_reference(&table, &idx, dim);
    let mut y = vec![0f32; batch * dim];
    gather_forward(&mut y, &table, &idx, dim);
    assert_close(&format!("y, D={dim}"), &y, &want);

    let mut store = ParamStore::new();
    let t = store.add_table("t", vocab, dim, table.clone()).unwrap();
    let mut g = Graph::new(0);
    let out = g.gather(&store, t, &idx).unwrap();
    assert_close(&format!("graph y, D={dim}"), g.value(out), &want);
    let dy = r.vec(batch * dim);
    g.backward_with_grad(out, &dy, &mut store).unwrap();
    let want_dt = gather_backward_reference(&dy, &idx, vocab, dim);
    assert_close(&format!("dT, D={dim}"), &store.grad_to_vec(t), &want_dt);
}

#[test]
fn gather_eight_wide_and_the_widths_beside_it() {
    for (dim, seed) in [(7, 1), (8, 2), (9, 3), (1, 4), (16, 5)] {
        check(50, dim, 40, seed);
    }
}
