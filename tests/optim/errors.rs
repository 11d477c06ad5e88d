//! Invalid settings are `Error::Config` values naming the field; optimisers as trait objects.

use super::*;

fn err_names(r: mtrec::Result<impl std::fmt::Debug>, field: &str) {
    let e = r.unwrap_err();
    assert!(matches!(e, mtrec::Error::Config { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains(field), "message {msg:?} should name `{field}`");
}

#[test]
fn bad_optimiser_configs_are_errors_naming_the_field() {
    err_names(
        Sgd::new(SgdConfig {
            momentum: 1.0,
            ..Default::default()
        }),
        "momentum",
    );
    err_names(
        Sgd::new(SgdConfig {
            momentum: -0.1,
            ..Default::default()
        }),
        "momentum",
    );
    err_names(
        Sgd::new(SgdConfig {
            weight_decay: -1e-4,
            ..Default::default()
        }),
        "weight_decay",
    );
    err_names(
        Sgd::new(SgdConfig {
            nesterov: true,
            ..Default::default()
        }),
        "nesterov",
    );
    err_names(
        Adam::new(AdamConfig {
            beta1: 1.0,
            ..Default::default()
        }),
        "beta1",
    );
    err_names(
        Adam::new(AdamConfig {
            beta2: -0.5,
            ..Default::default()
        }),
        "beta2",
    );
    err_names(
        Adam::new(AdamConfig {
            beta2: f32::NAN,
            ..Default::default()
        }),
        "beta2",
    );
    err_names(
        Adam::new(AdamConfig {
            eps: 0.0,
            ..Default::default()
        }),
        "eps",
    );
    err_names(Adam::adamw(-0.01), "weight_decay");

    let (mut store, _) = dense_store(&[1.0]);
    err_names(
        Sgd::new(SgdConfig::default())
            .unwrap()
            .step(&mut store, -0.1),
        "lr",
    );
    err_names(
        Adam::new(AdamConfig::default())
            .unwrap()
            .step(&mut store, f32::INFINITY),
        "lr",
    );
}

#[test]
fn stepping_a_store_of_another_layout_is_an_error() {
    let (mut a, _) = dense_store(&[1.0, 2.0]);
    let (mut b, _) = dense_store(&[1.0, 2.0, 3.0]);
    let mut opt = Adam::new(AdamConfig::default()).unwrap();
    opt.step(&mut a, 0.1).unwrap();
    err_names(opt.step(&mut b, 0.1), "Adam state");
    assert_eq!(opt.steps(), 1); // the failed step did not count
}

#[test]
fn bad_schedules_are_errors_naming_the_field() {
    let ok = LrSchedule::constant(0.1);
    err_names(
        LrSchedule {
            base_lr: -1.0,
            ..ok
        }
        .validate(),
        "base_lr",
    );
    err_names(LrSchedule { base_lr: 0.0, ..ok }.validate(), "base_lr");
    err_names(
        LrSchedule {
            schedule: Schedule::Step {
                every: 0,
                gamma: 0.5,
            },
            ..ok
        }
        .validate(),
        "every",
    );
    err_names(
        LrSchedule {
            schedule: Schedule::Step {
                every: 5,
                gamma: 0.0,
            },
            ..ok
        }
        .validate(),
        "gamma",
    );
    err_names(
        LrSchedule {
            schedule: Schedule::Step {
                every: 5,
                gamma: 1.5,
            },
            ..ok
        }
        .validate(),
        "gamma",
    );
    err_names(
        LrSchedule {
            schedule: Schedule::Cosine {
                total_steps: 0,
                min_lr: 0.0,
            },
            ..ok
        }
        .validate(),
        "total_steps",
    );
    err_names(
        LrSchedule {
            schedule: Schedule::Cosine {
                total_steps: 10,
                min_lr: 0.2,
            },
            ..ok
        }
        .validate(),
        "min_lr",
    );
}

#[test]
fn optimisers_work_as_trait_objects() {
    let mut opts: Vec<Box<dyn Optimizer>> = vec![
        Box::new(Sgd::new(SgdConfig::default()).unwrap()),
        Box::new(Adam::new(AdamConfig::default()).unwrap()),
        Box::new(Adam::adamw(0.01).unwrap()),
    ];
    let names: Vec<_> = opts.iter().map(|o| o.name()).collect();
    assert_eq!(names, ["sgd", "adam", "adamw"]);
    for opt in &mut opts {
        // Every optimiser moves θ against the gradient.
        let (mut store, w) = dense_store(&[1.0]);
        set_grad(&mut store, w, &[2.0]);
        opt.step(&mut store, 0.01).unwrap();
        assert!(store.value(w)[0] < 1.0, "{}", opt.name());
    }
}
