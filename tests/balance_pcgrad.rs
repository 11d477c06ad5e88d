//! Gradient surgery and its diagnostics: PCGrad against the closed form, its projection
//! properties, end to end on a two-task graph and deterministic for a seed; the task
//! gradient cosines against separate backward passes.

mod balance_support;

use balance_support::*;
use mtrec::autograd::Graph;
use mtrec::balance::pcgrad::{pcgrad_surgery, project_if_conflicting, random_orders};
use mtrec::balance::*;
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;
use proptest::prelude::*;

// ------------------------------------------------------------------ PCGrad

#[test]
fn pcgrad_two_tasks_match_the_closed_form() {
    // g1 = (1, 0), g2 = (−1, 1): g1·g2 = −1, ‖g1‖² = 1, ‖g2‖² = 2
    // g1' = g1 + ½ g2 = (0.5, 0.5);  g2' = g2 + g1 = (0, 1);  Σ = (0.5, 1.5)
    // closed form: g1 + g2 − (g1·g2)(g1/‖g1‖² + g2/‖g2‖²) = (0, 1) + (1, 0) + (−0.5, 0.5)
    let grads = [1.0, 0.0, -1.0, 1.0];
    let (pc, n) = pcgrad_surgery(&grads, 2, &[vec![1], vec![0]]);
    assert_eq!(n, 2);
    assert_close(&pc, &[0.5, 0.5, 0.0, 1.0], 1e-7, "projected");
    // Not conflicting: unchanged.
    let (pc, n) = pcgrad_surgery(&[1.0, 0.0, 1.0, 1.0], 2, &[vec![1], vec![0]]);
    assert_eq!((pc, n), (vec![1.0, 0.0, 1.0, 1.0], 0));
}

#[test]
fn pcgrad_with_three_tasks_can_leave_a_conflict_when_the_others_conflict() {
    // The paper's guarantee is per projection; a later projection can undo an earlier one.
    // g_k = (−1, −1), order [g_a = (1, 0), g_b = (−1, 1)] (g_a·g_b = −1):
    // against g_a: (0, −1); against g_b: (0, −1) − (−1/2)(−1, 1) = (−0.5, −0.5)
    // which again conflicts with g_a: (−0.5, −0.5)·(1, 0) = −0.5.
    let grads = [-1.0, -1.0, 1.0, 0.0, -1.0, 1.0];
    let (pc, _) = pcgrad_surgery(&grads, 3, &[vec![1, 2], vec![0, 2], vec![0, 1]]);
    assert_close(&pc[0..2], &[-0.5, -0.5], 1e-7, "g_k^PC");
    assert!(dot(&pc[0..2], &grads[2..4]) < 0.0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Each single projection leaves g orthogonal to the g_j it was projected against
    /// (or g unchanged, when they did not conflict).
    #[test]
    fn pcgrad_each_projection_removes_the_conflict(
        p in 1usize..9,
        vals in prop::collection::vec(-1.0f32..1.0, 16),
    ) {
        let (a, b) = (&vals[..p], &vals[8..8 + p]);
        let mut g = a.to_vec();
        let before = dot(a, b);
        let projected = project_if_conflicting(&mut g, b);
        prop_assert_eq!(projected, before < 0.0);
        if projected {
            let scale = dot(a, a).sqrt() * dot(b, b).sqrt();
            prop_assert!(dot(&g, b).abs() <= 1e-5 * scale.max(1e-6), "g'·g_j = {}", dot(&g, b));
        } else {
            prop_assert_eq!(&g[..], a);
        }
    }

    /// With two tasks, or when the other tasks' gradients do not conflict among
    /// themselves, every g_k^PC has a non-negative dot product with every original g_j,
    /// and two tasks give the closed form.
    #[test]
    fn pcgrad_projected_gradients_do_not_conflict_with_the_originals(
        k in 2usize..6,
        p in 1usize..8,
        vals in prop::collection::vec(-1.0f32..1.0, 40),
        seed in 0u64..1000,
    ) {
        let grads = &vals[..k * p];
        let orders = random_orders(k, &mut StdRng::seed_from_u64(seed));
        let (pc, _) = pcgrad_surgery(grads, k, &orders);
        let row = |m: &[f32], i: usize| m[i * p..(i + 1) * p].to_vec();
        let tol = 1e-5;
        for i in 0..k {
            let others_agree = (0..k).filter(|&a| a != i).all(|a| {
                (0..k).filter(|&b| b != i && b != a).all(|b| dot(&row(grads, a), &row(grads, b)) >= 0.0)
            });
            if k == 2 || others_agree {
                for j in (0..k).filter(|&j| j != i) {
                    let d = dot(&row(&pc, i), &row(grads, j));
                    prop_assert!(d >= -tol, "task {i} vs {j}: {d}");
                }
            }
        }
        // Others made non-conflicting (|g_j|, all in one orthant): always holds for task 0.
        let mut agree = grads.to_vec();
        agree[p..].iter_mut().for_each(|v| *v = v.abs());
        let (pc, _) = pcgrad_surgery(&agree, k, &orders);
        for j in 1..k {
            prop_assert!(dot(&row(&pc, 0), &row(&agree, j)) >= -tol);
        }
        if k == 2 {
            let (g1, g2) = (row(grads, 0), row(grads, 1));
            let d = dot(&g1, &g2);
            let (n1, n2) = (dot(&g1, &g1), dot(&g2, &g2));
            let sum: Vec<f32> = (0..p).map(|i| pc_sum(&pcgrad_surgery(grads, 2, &orders).0, p, i)).collect();
            let want: Vec<f32> = (0..p)
                .map(|i| {
                    let base = g1[i] as f64 + g2[i] as f64;
                    (if d < 0.0 { base - d * (g1[i] as f64 / n1 + g2[i] as f64 / n2) } else { base }) as f32
                })
                .collect();
            for i in 0..p {
                prop_assert!((sum[i] - want[i]).abs() <= 1e-4, "{} vs {}", sum[i], want[i]);
            }
        }
    }
}

fn pc_sum(pc: &[f32], p: usize, i: usize) -> f32 {
    pc.chunks_exact(p).map(|r| r[i]).sum()
}

#[test]
fn pcgrad_end_to_end_on_a_two_task_graph() {
    let mut t = tiny(2);
    let mut g = Graph::new(0);
    let losses = record(&t, &mut g);
    let g1 = task_grad(&mut g, &mut t.store, losses[0]);
    let g2 = task_grad(&mut g, &mut t.store, losses[1]);
    let (iw, it, iv1, iv2) = (
        t.w.index(),
        t.table.index(),
        t.towers[0].index(),
        t.towers[1].index(),
    );
    let d = dot(&g1[iw], &g2[iw]);
    assert!(d < 0.0, "the toy tasks must conflict on W: {d}");
    let mut b = Balancer::new(
        Method::PcGrad(PcGradConfig { seed: 3 }),
        &[TaskForm::Regression; 2],
        &mut t.store,
    )
    .unwrap();
    fill_grads_with_garbage(&mut t.store);
    let info = b.backward(&mut g, &mut t.store, &losses, &[t.w]).unwrap();
    // Shared W: the closed form.
    let (n1, n2) = (dot(&g1[iw], &g1[iw]), dot(&g2[iw], &g2[iw]));
    let want: Vec<f32> = (0..6)
        .map(|i| {
            (g1[iw][i] as f64 + g2[iw][i] as f64
                - d * (g1[iw][i] as f64 / n1 + g2[iw][i] as f64 / n2)) as f32
        })
        .collect();
    assert_close(t.store.grad(t.w).unwrap(), &want, 1e-5, "∇W PCGrad");
    // Towers: their own task's gradient; the shared table: the plain sum.
    assert_close(t.store.grad(t.towers[0]).unwrap(), &g1[iv1], 1e-6, "∇v1");
    assert_close(t.store.grad(t.towers[1]).unwrap(), &g2[iv2], 1e-6, "∇v2");
    let table_sum: Vec<f32> = g1[it].iter().zip(&g2[it]).map(|(a, c)| a + c).collect();
    assert_close(
        &t.store.grad_to_vec(t.table),
        &table_sum,
        1e-6,
        "∇T plain sum",
    );
    assert_eq!(t.store.sparse_grad(t.table).unwrap().touched(), &[0, 2, 4]);
    // The step's cosines are those of the original task gradients on W.
    let cos = (d / (n1.sqrt() * n2.sqrt())) as f32;
    assert_close(
        info.cosines.as_ref().unwrap(),
        &[1.0, cos, cos, 1.0],
        1e-5,
        "cosines",
    );
    assert_eq!(info.weights, vec![1.0, 1.0]);
}

#[test]
fn pcgrad_is_deterministic_for_a_seed() {
    let run = |seed: u64| {
        let mut t = tiny(4);
        let mut g = Graph::new(0);
        let mut b = Balancer::new(
            Method::PcGrad(PcGradConfig { seed }),
            &[TaskForm::Regression; 4],
            &mut t.store,
        )
        .unwrap();
        let mut out = Vec::new();
        for _ in 0..5 {
            let losses = record(&t, &mut g);
            b.backward(&mut g, &mut t.store, &losses, &[t.w]).unwrap();
            out.extend_from_slice(t.store.grad(t.w).unwrap());
        }
        out
    };
    assert_eq!(run(11), run(11));
}

// ------------------------------------------------------------------ diagnostics

#[test]
fn task_gradient_cosines_match_separate_backward_passes() {
    let mut t = tiny(3);
    let mut g = Graph::new(0);
    let losses = record(&t, &mut g);
    let grads: Vec<Vec<f32>> = losses
        .iter()
        .map(|&l| {
            let all = task_grad(&mut g, &mut t.store, l);
            [all[t.w.index()].clone(), all[t.towers[0].index()].clone()].concat()
        })
        .collect();
    let cos = task_gradient_cosines(&mut g, &mut t.store, &losses, &[t.w, t.towers[0]]).unwrap();
    for i in 0..3 {
        for j in 0..3 {
            let want = dot(&grads[i], &grads[j])
                / (dot(&grads[i], &grads[i]) * dot(&grads[j], &grads[j])).sqrt();
            assert!(
                (cos[i * 3 + j] as f64 - want).abs() < 1e-5,
                "cos[{i}][{j}] = {} vs {want}",
                cos[i * 3 + j]
            );
        }
    }
    // A zero gradient (task 1 and 2 do not reach tower 0) has no direction: cosine 0.
    assert_eq!(
        cosine_matrix(&[1.0, 0.0, 0.0, 0.0], 2),
        vec![1.0, 0.0, 0.0, 1.0]
    );
}
