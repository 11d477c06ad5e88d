//! Gradient clipping by global norm (src/optim/clip.rs).

use super::*;
use approx::assert_abs_diff_eq;

/// Dense gradient [3, 0] and one touched table row [0, 4]: global norm 5.
fn clip_store() -> (ParamStore, ParamId, ParamId) {
    let mut store = ParamStore::new();
    let w = store.add_dense("w", 1, 2, vec![0.0; 2]).unwrap();
    let t = store.add_table("emb", 3, 2, vec![0.0; 6]).unwrap();
    set_grad(&mut store, w, &[3.0, 0.0]);
    store
        .sparse_grad_mut(t)
        .unwrap()
        .row_mut(2)
        .copy_from_slice(&[0.0, 4.0]);
    (store, w, t)
}

#[test]
fn clip_grad_norm_uses_dense_and_sparse_and_scales_all() {
    let (mut store, w, t) = clip_store();
    // ‖g‖ = √(3² + 4²) = 5 (dense 3, table row 4)
    assert_abs_diff_eq!(grad_norm(&store), 5.0, epsilon = TOL);
    // c = 1: s = 1/(5 + 1e-6); dense [3s, 0], table row 2: [0, 4s]
    let norm = clip_grad_norm(&mut store, 1.0).unwrap();
    assert_abs_diff_eq!(norm, 5.0, epsilon = TOL);
    let s = 1.0 / (5.0 + 1e-6);
    assert_all_close(store.grad(w).unwrap(), &[3.0 * s, 0.0]);
    assert_all_close(store.sparse_grad(t).unwrap().row(0), &[0.0, 4.0 * s]);
    assert_abs_diff_eq!(grad_norm(&store), 1.0, epsilon = TOL);
}

#[test]
fn clip_grad_norm_is_a_no_op_below_the_threshold() {
    let (mut store, w, t) = clip_store();
    for c in [5.0, 10.0] {
        // ‖g‖ = 5 ≤ c: nothing changes, bit for bit; the norm is still returned.
        assert_abs_diff_eq!(clip_grad_norm(&mut store, c).unwrap(), 5.0, epsilon = TOL);
        assert_eq!(store.grad(w).unwrap(), &[3.0, 0.0]);
        assert_eq!(store.sparse_grad(t).unwrap().row(0), &[0.0, 4.0]);
    }
}

#[test]
fn clip_grad_norm_rejects_bad_bound_and_non_finite_gradients() {
    let (mut store, w, _) = clip_store();
    for c in [0.0, -1.0, f32::NAN] {
        let e = clip_grad_norm(&mut store, c).unwrap_err().to_string();
        assert!(e.contains("max_norm"), "{e}");
    }
    set_grad(&mut store, w, &[f32::NAN, 0.0]);
    let e = clip_grad_norm(&mut store, 1.0).unwrap_err().to_string();
    assert!(e.contains("NaN"), "{e}");
}
