//! Learning-rate schedules (src/optim/schedule.rs).

use super::*;
use approx::assert_abs_diff_eq;

#[test]
fn schedule_linear_warmup_then_constant() {
    // η = 0.1, W = 4: η·(step+1)/4 = 0.025, 0.05, 0.075, 0.1; then 0.1
    let s = LrSchedule {
        base_lr: 0.1,
        warmup_steps: 4,
        schedule: Schedule::Constant,
    };
    s.validate().unwrap();
    for (step, want) in [
        (0, 0.025),
        (1, 0.05),
        (2, 0.075),
        (3, 0.1),
        (4, 0.1),
        (1000, 0.1),
    ] {
        assert_abs_diff_eq!(s.lr_at(step), want, epsilon = 1e-7);
    }
    assert_eq!(LrSchedule::constant(0.3).lr_at(7), 0.3);
}

#[test]
fn schedule_step_decay() {
    // η = 0.1, every 10, γ = 0.5, no warm-up: η·0.5^⌊s/10⌋
    let s = LrSchedule {
        base_lr: 0.1,
        warmup_steps: 0,
        schedule: Schedule::Step {
            every: 10,
            gamma: 0.5,
        },
    };
    s.validate().unwrap();
    for (step, want) in [
        (0, 0.1),
        (9, 0.1),
        (10, 0.05),
        (19, 0.05),
        (25, 0.025),
        (30, 0.0125),
    ] {
        assert_abs_diff_eq!(s.lr_at(step), want, epsilon = 1e-7);
    }
    // with W = 2 the decay counts from the end of warm-up: step 12 is s = 10
    let s = LrSchedule {
        warmup_steps: 2,
        ..s
    };
    assert_abs_diff_eq!(s.lr_at(11), 0.1, epsilon = 1e-7);
    assert_abs_diff_eq!(s.lr_at(12), 0.05, epsilon = 1e-7);
}

#[test]
fn schedule_cosine_endpoints_and_midpoint() {
    // η = 1, η_min = 0.1, T = 10, W = 2
    // step 0: warm-up 1·1/2 = 0.5;  step 2 (s = 0): 0.1 + 0.9·(1 + cos 0)/2 = 1
    // step 7 (s = 5): 0.1 + 0.9·(1 + cos π/2)/2 = 0.55;  step 12 (s = 10): 0.1 + 0.9·0 = 0.1; after: 0.1
    let s = LrSchedule {
        base_lr: 1.0,
        warmup_steps: 2,
        schedule: Schedule::Cosine {
            total_steps: 10,
            min_lr: 0.1,
        },
    };
    s.validate().unwrap();
    for (step, want) in [
        (0, 0.5),
        (1, 1.0),
        (2, 1.0),
        (7, 0.55),
        (12, 0.1),
        (100, 0.1),
    ] {
        assert_abs_diff_eq!(s.lr_at(step), want, epsilon = 1e-7);
    }
    // s = 1 of T = 4: 0.1 + 0.9·(1 + cos π/4)/2 = 0.1 + 0.45·1.7071068 = 0.8681981
    let s = LrSchedule {
        warmup_steps: 0,
        schedule: Schedule::Cosine {
            total_steps: 4,
            min_lr: 0.1,
        },
        ..s
    };
    assert_abs_diff_eq!(s.lr_at(1), 0.868_198_1, epsilon = 1e-6);
}
