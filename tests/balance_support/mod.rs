//! Helpers of the loss-balancing tests (`tests/balance_*.rs`): closeness and dot
//! products, and a tiny two-task model with shared parameters whose task gradients conflict.
#![allow(dead_code)] // each test file uses a part

use mtrec::autograd::{Graph, ParamId, ParamStore, Var};
use mtrec::loss::LossOpts;
use mtrec::tensor::Tensor;

pub fn assert_close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}[{i}]: got {g}, expected {w}"
        );
    }
}

pub fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

/// A tiny two-task model: a shared embedding table and shared layer W, two towers.
///
/// ```text
/// h   = tanh(x·W + T[idx])     (4, 2)    W (3, 2), T (5, 2) shared
/// o_k = h·v_k                  (4, 1)    v_k (2, 1) task-specific
/// L_k = MSE(o_k, y_k)          y_1 = +3, y_2 = −3: the tasks pull h apart
/// ```
pub struct Tiny {
    pub store: ParamStore,
    pub w: ParamId,
    pub table: ParamId,
    pub towers: Vec<ParamId>,
}

pub fn tiny(k: usize) -> Tiny {
    let mut store = ParamStore::new();
    let w = store
        .add_dense("w", 3, 2, vec![0.3, -0.2, 0.1, 0.4, -0.5, 0.2])
        .unwrap();
    let table = store
        .add_table("t", 5, 2, (0..10).map(|i| 0.05 * i as f32 - 0.2).collect())
        .unwrap();
    let towers = (0..k)
        .map(|i| {
            let a = 0.5 + 0.3 * i as f32;
            let b = 0.8 - 0.6 * i as f32;
            store.add_dense(&format!("v{i}"), 2, 1, vec![a, b]).unwrap()
        })
        .collect();
    Tiny {
        store,
        w,
        table,
        towers,
    }
}

pub fn record(t: &Tiny, g: &mut Graph) -> Vec<Var> {
    g.reset();
    let x = g.input(
        &Tensor::from_vec(
            4,
            3,
            vec![1., 0.5, -0.3, 0.2, -1., 0.7, -0.4, 0.9, 0.1, 0.6, 0.3, -0.8],
        )
        .unwrap(),
    ); // (B, D) = (4, 3)
    let e = g.gather(&t.store, t.table, &[0, 2, 2, 4]).unwrap(); // (4, 2)
    let w = g.param(&t.store, t.w).unwrap(); // (3, 2)
    let h = g.mm(x, w).unwrap(); // (4, 2)
    let h = g.add(h, e).unwrap();
    let h = g.tanh(h).unwrap();
    t.towers
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let vv = g.param(&t.store, v).unwrap(); // (2, 1)
            let o = g.mm(h, vv).unwrap(); // (4, 1)
            let y = if i % 2 == 0 { 3.0 } else { -3.0 } + 0.5 * i as f32;
            g.mse_loss(o, &[y; 4], LossOpts::default()).unwrap() // (1, 1)
        })
        .collect()
}

/// `∇θ L_k` for every parameter of the store, one backward from a zeroed store.
pub fn task_grad(g: &mut Graph, store: &mut ParamStore, loss: Var) -> Vec<Vec<f32>> {
    store.zero_grad();
    g.backward(loss, store).unwrap();
    store.ids().map(|id| store.grad_to_vec(id)).collect()
}

pub fn all_grads(store: &ParamStore) -> Vec<Vec<f32>> {
    store.ids().map(|id| store.grad_to_vec(id)).collect()
}

pub fn fill_grads_with_garbage(store: &mut ParamStore) {
    store.dense_mut().1.fill(100.0);
}
