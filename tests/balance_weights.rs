//! Loss balancing (src/balance/): fixed task weights and the errors of bad settings and
//! inputs.
//!
//! `cargo test --release --test balance_weights` (and `balance_uncertainty`,
//! `balance_adaptive`, `balance_pcgrad` for the other methods)

mod balance_support;

use balance_support::*;
use mtrec::autograd::Graph;
use mtrec::balance::*;
use mtrec::error::Error;

// ------------------------------------------------------------------ fixed weights

#[test]
fn fixed_weights_give_the_weighted_sum_of_task_gradients_and_zero_the_store_first() {
    let mut t = tiny(2);
    let mut g = Graph::new(0);
    let losses = record(&t, &mut g);
    let g1 = task_grad(&mut g, &mut t.store, losses[0]);
    let g2 = task_grad(&mut g, &mut t.store, losses[1]);
    let mut b = Balancer::new(
        Method::Fixed(vec![0.3, 2.0]),
        &[TaskForm::Regression; 2],
        &mut t.store,
    )
    .unwrap();
    fill_grads_with_garbage(&mut t.store);
    let info = b.backward(&mut g, &mut t.store, &losses, &[t.w]).unwrap();
    let (l1, l2) = (g.scalar(losses[0]), g.scalar(losses[1]));
    assert!((info.objective - (0.3 * l1 + 2.0 * l2)).abs() < 1e-5);
    assert_eq!(info.weights, vec![0.3, 2.0]);
    assert_eq!(info.task_losses, vec![l1, l2]);
    for (p, got) in all_grads(&t.store).iter().enumerate() {
        let want: Vec<f32> = g1[p]
            .iter()
            .zip(&g2[p])
            .map(|(a, b)| 0.3 * a + 2.0 * b)
            .collect();
        assert_close(got, &want, 1e-5, "∇(0.3 L1 + 2 L2)");
    }
}

#[test]
fn bad_settings_and_inputs_are_errors_that_say_what_to_fix() {
    let mut t = tiny(2);
    let forms = [TaskForm::Regression; 2];
    let cases = [
        Method::Fixed(vec![1.0]),
        Method::Fixed(vec![1.0, -1.0]),
        Method::Fixed(vec![1.0, f32::NAN]),
        Method::Uncertainty(UncertaintyConfig {
            init_log_var: f32::INFINITY,
        }),
        Method::GradNorm(GradNormConfig {
            alpha: -1.0,
            ..Default::default()
        }),
        Method::GradNorm(GradNormConfig {
            lr: 0.0,
            ..Default::default()
        }),
        Method::GradNorm(GradNormConfig {
            min_weight: 0.0,
            ..Default::default()
        }),
        Method::Dwa(DwaConfig { temperature: 0.0 }),
    ];
    for m in cases {
        let e = Balancer::new(m.clone(), &forms, &mut t.store).unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{m:?}: {e}");
    }
    assert!(Balancer::new(Method::PcGrad(Default::default()), &[], &mut t.store).is_err());
    assert!(Method::by_name("nope", 2)
        .unwrap_err()
        .to_string()
        .contains("pcgrad"));
    assert_eq!(Method::by_name("dwa", 2).unwrap().name(), "dwa");

    let mut g = Graph::new(0);
    let losses = record(&t, &mut g);
    let mut pc = Balancer::new(Method::PcGrad(Default::default()), &forms, &mut t.store).unwrap();
    // wrong number of losses
    assert!(matches!(
        pc.backward(&mut g, &mut t.store, &losses[..1], &[t.w]),
        Err(Error::Length { .. })
    ));
    // no shared parameters
    let e = pc.backward(&mut g, &mut t.store, &losses, &[]).unwrap_err();
    assert!(e.to_string().contains("shared"), "{e}");
    // a table listed as shared
    let e = pc
        .backward(&mut g, &mut t.store, &losses, &[t.table])
        .unwrap_err();
    assert!(e.to_string().contains("embedding table"), "{e}");
    // a loss that is not (1, 1)
    let x = g.input_slice(1, 2, &[1.0, 2.0]).unwrap();
    let e = pc
        .backward(&mut g, &mut t.store, &[losses[0], x], &[t.w])
        .unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    // DWA: losses must be positive and one per task
    let mut dwa = Balancer::new(Method::Dwa(Default::default()), &forms, &mut t.store).unwrap();
    assert!(dwa.end_epoch(&[1.0]).is_err());
    assert!(dwa.end_epoch(&[1.0, 0.0]).is_err());
}
