//! Column concat / slice: the 8-wide fixed-size copy and the general copy against the
//! public reference (`ops::columns::{concat_cols, slice_cols, copy_cols_backward}_reference`),
//! on both sides of that width, forward and backward, through the kernels and the graph.

mod h16ref_support;

use h16ref_support::{assert_close, Lcg};
use mtrec::autograd::{Graph, ParamStore};
use mtrec::ops::columns::{
    concat_cols_reference, copy_cols_backward, copy_cols_backward_reference, copy_cols_forward,
    slice_cols_reference,
};

#[test]
fn copy_kernels_at_eight_and_the_widths_beside_it() {
    let mut r = Lcg(1);
    let rows = 6;
    for c_in in [1, 7, 8, 9, 16] {
        for (c_out, off) in [(c_in, 0), (c_in + 5, 2), (c_in + 8, 8)] {
            let x = r.vec(rows * c_in);
            let mut y = vec![0f32; rows * c_out];
            copy_cols_forward(&mut y, &x, rows, c_out, c_in, off);
            let want = slice_cols_reference(&y, rows, c_out, off, c_in);
            assert_close(&format!("copy C_in={c_in} off={off}"), &want, &x);
            let dy = r.vec(rows * c_out);
            let mut dx = vec![0f32; rows * c_in];
            copy_cols_backward(&mut dx, &dy, rows, c_out, c_in, off);
            let want_dx = copy_cols_backward_reference(&dy, rows, c_out, c_in, off);
            assert_close(&format!("d C_in={c_in} off={off}"), &dx, &want_dx);
        }
    }
}

#[test]
fn concat_and_slice_through_the_graph() {
    let mut r = Lcg(2);
    let rows = 5;
    let widths = [8, 3, 8, 9];
    let parts: Vec<Vec<f32>> = widths.iter().map(|&c| r.vec(rows * c)).collect();
    let mut store = ParamStore::new();
    let ids: Vec<_> = parts
        .iter()
        .zip(widths)
        .enumerate()
        .map(|(k, (p, c))| {
            store
                .add_dense(&format!("p{k}"), rows, c, p.clone())
                .unwrap()
        })
        .collect();
    let mut g = Graph::new(0);
    let vars: Vec<_> = ids.iter().map(|&id| g.param(&store, id).unwrap()).collect();
    let y = g.concat_cols(&vars).unwrap();
    let pairs: Vec<(&[f32], usize)> = parts.iter().map(|p| &p[..]).zip(widths).collect();
    let want = concat_cols_reference(&pairs, rows);
    assert_close("concat", g.value(y), &want);
    let total: usize = widths.iter().sum();
    let s = g.slice_cols(y, 11, 8).unwrap(); // the third part, 8 wide
    assert_close(
        "slice",
        g.value(s),
        &slice_cols_reference(&want, rows, total, 11, 8),
    );
    let dy = r.vec(rows * 8);
    g.backward_with_grad(s, &dy, &mut store).unwrap();
    let mut off = 0;
    for (k, (&id, c)) in ids.iter().zip(widths).enumerate() {
        // slice, then concat: the third part receives dy, the others nothing
        let mut dcat = vec![0f32; rows * total];
        for i in 0..rows {
            dcat[i * total + 11..i * total + 19].copy_from_slice(&dy[i * 8..(i + 1) * 8]);
        }
        let want = copy_cols_backward_reference(&dcat, rows, total, c, off);
        let got = store.grad_to_vec(id);
        if k == 2 {
            assert_close("d part 2", &got, &want);
        } else {
            assert!(got.iter().all(|&x| x == 0.0), "part {k} gets no gradient");
        }
        off += c;
    }
}
