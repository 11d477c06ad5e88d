//! `mtrec tune`'s search space: parsing, the errors it names, grid enumeration and
//! seeded random sampling.

use mtrec::config::RunConfig;
use mtrec::tune::space::{Domain, Space};
use mtrec::tune::strategy::{grid, rungs, sample, Scheduler};
use mtrec::tune::{plan, Strategy};
use std::path::Path;
use toml::Value;

mod events_support;
use events_support::{events_config, temp_dir, THREE_TASKS};

const OBJECTIVE: &str = "[objective]\ntask = \"click\"\nmetric = \"auc\"\n";

/// The events run config in `dir` (`run.toml`) and the space text written beside it.
fn setup(tag: &str, space: &str) -> (std::path::PathBuf, RunConfig) {
    let dir = temp_dir(tag);
    std::fs::write(dir.join("run.toml"), events_config(THREE_TASKS, 2, "")).unwrap();
    std::fs::write(dir.join("space.toml"), space).unwrap();
    let cfg = RunConfig::from_file(dir.join("run.toml"), &[]).unwrap();
    (dir, cfg)
}

fn load(dir: &Path, cfg: &RunConfig) -> mtrec::error::Result<Space> {
    Space::from_file(&dir.join("space.toml"), &dir.join("run.toml"), cfg)
}

#[test]
fn a_space_reads_every_domain_nested_or_quoted() {
    let text = format!(
        "seed = 5\n{OBJECTIVE}[params]\n\"train.lr\" = {{ log_uniform = [1e-4, 1e-2], points = 3 }}\nmodel.num_experts = {{ int = [2, 6], step = 2 }}\ntrain.balance = [\"fixed\", \"uncertainty\"]\n\"train.weight_decay\" = {{ uniform = [0.0, 0.1] }}\n[halving]\nmin_epochs = 2\neta = 2\n"
    );
    let (dir, cfg) = setup("i18tune-parse", &text);
    let s = load(&dir, &cfg).unwrap();
    assert_eq!(s.seed, 5);
    let keys: Vec<&str> = s.params.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "model.num_experts",
            "train.balance",
            "train.lr",
            "train.weight_decay"
        ]
    );
    assert_eq!(
        s.params[0].domain,
        Domain::Int {
            lo: 2,
            hi: 6,
            step: 2
        }
    );
    assert_eq!(
        s.params[1].domain,
        Domain::Choice(vec![
            Value::String("fixed".into()),
            Value::String("uncertainty".into())
        ])
    );
    assert_eq!(
        s.params[2].domain,
        Domain::LogUniform {
            lo: 1e-4,
            hi: 1e-2,
            points: Some(3)
        }
    );
    assert_eq!(
        s.params[3].domain,
        Domain::Uniform {
            lo: 0.0,
            hi: 0.1,
            points: None
        }
    );
    assert_eq!((s.halving.min_epochs, s.halving.eta), (2, 2));
    assert!(s.objective.maximize, "auc defaults to max");
    assert_eq!(s.objective.terms, vec![("click".to_string(), 1.0)]);
}

fn error_of(tag: &str, space: &str) -> String {
    let (dir, cfg) = setup(tag, space);
    load(&dir, &cfg).unwrap_err().to_string()
}

#[test]
fn an_unknown_key_is_named_with_the_valid_keys() {
    let e = error_of(
        "i18tune-unknown",
        &format!("{OBJECTIVE}[params]\n\"train.lrr\" = [0.1]\n"),
    );
    assert!(e.contains("train.lrr"), "{e}");
    // the --set message lists the keys of [train]
    assert!(
        e.contains("lr") && e.contains("batch_size") && e.contains("epochs"),
        "{e}"
    );
    let e = error_of(
        "i18tune-type",
        &format!("{OBJECTIVE}[params]\n\"model.num_experts\" = {{ uniform = [1.5, 3.0] }}\n"),
    );
    assert!(e.contains("model.num_experts"), "{e}");
}

#[test]
fn empty_ranges_and_non_positive_log_bounds_are_refused() {
    for (tag, p, want) in [
        ("i18tune-e1", "{ uniform = [0.5, 0.1] }", "empty"),
        ("i18tune-e2", "{ log_uniform = [0.0, 0.1] }", "> 0"),
        ("i18tune-e3", "{ log_uniform = [-1.0, 0.1] }", "> 0"),
        ("i18tune-e4", "[]", "empty"),
        ("i18tune-e5", "{ int = [5, 2] }", "empty"),
        ("i18tune-e6", "0.1", "single value"),
    ] {
        let e = error_of(tag, &format!("{OBJECTIVE}[params]\n\"train.lr\" = {p}\n"));
        assert!(e.contains(want) && e.contains("train.lr"), "{p}: {e}");
    }
}

#[test]
fn the_objective_must_name_a_task_of_the_config_and_fit_its_type() {
    let e = error_of(
        "i18tune-obj1",
        "[objective]\ntask = \"clicks\"\nmetric = \"auc\"\n[params]\n\"train.lr\" = [0.1]\n",
    );
    assert!(
        e.contains("clicks") && e.contains("click, buy, watch"),
        "{e}"
    );
    let e = error_of(
        "i18tune-obj2",
        "[objective]\ntask = \"watch\"\nmetric = \"auc\"\n[params]\n\"train.lr\" = [0.1]\n",
    );
    assert!(e.contains("watch") && e.contains("rmse"), "{e}");
    let e = error_of("i18tune-obj3", "[params]\n\"train.lr\" = [0.1]\n");
    assert!(e.contains("[objective]"), "{e}");
    // a weighted sum of two tasks, minimised
    let (dir, cfg) = setup("i18tune-obj4", "[objective]\nweights = { click = 1.0, buy = 0.5 }\nmetric = \"logloss\"\n[params]\n\"train.lr\" = [0.1]\n");
    let s = load(&dir, &cfg).unwrap();
    assert!(!s.objective.maximize);
    let summary = serde_json::json!({"tasks": {"click": {"valid": {"logloss": 0.4}}, "buy": {"valid": {"logloss": 0.2}}}});
    assert_eq!(s.objective.of_summary(&summary), Some(0.4 + 0.5 * 0.2));
}

#[test]
fn grid_enumerates_the_product_in_key_order() {
    let (dir, cfg) = setup(
        "i18tune-grid",
        &format!("{OBJECTIVE}[params]\n\"train.lr\" = {{ log_uniform = [1e-3, 1e-1], points = 3 }}\n\"model.num_experts\" = {{ int = [2, 3] }}\n"),
    );
    let s = load(&dir, &cfg).unwrap();
    let g = grid(&s).unwrap();
    let shown: Vec<String> = g
        .iter()
        .map(|t| {
            t.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(
        shown,
        [
            "model.num_experts=2 train.lr=0.001",
            "model.num_experts=2 train.lr=0.01",
            "model.num_experts=2 train.lr=0.1",
            "model.num_experts=3 train.lr=0.001",
            "model.num_experts=3 train.lr=0.01",
            "model.num_experts=3 train.lr=0.1",
        ]
    );
    // trial 0 is the preset; --trials takes the first N points
    let p = plan(&s, Strategy::Grid, Some(4)).unwrap();
    assert_eq!(p.len(), 5);
    assert!(p[0].is_empty());
    assert_eq!(p[1..], g[..4]);
    // a range without points has no grid
    let (dir, cfg) = setup(
        "i18tune-grid2",
        &format!("{OBJECTIVE}[params]\n\"train.lr\" = {{ uniform = [0.001, 0.1] }}\n"),
    );
    let e = grid(&load(&dir, &cfg).unwrap()).unwrap_err().to_string();
    assert!(e.contains("points"), "{e}");
}

#[test]
fn random_sampling_is_seeded_and_stays_in_the_domain() {
    let space = |seed: u64| {
        format!("seed = {seed}\n{OBJECTIVE}[params]\n\"train.lr\" = {{ log_uniform = [1e-4, 1e-1] }}\n\"model.num_experts\" = {{ int = [2, 8] }}\n\"train.balance\" = [\"fixed\", \"uncertainty\", \"dwa\"]\n")
    };
    let (dir, cfg) = setup("i18tune-rand", &space(11));
    let a = load(&dir, &cfg).unwrap();
    let draws: Vec<_> = (1..=20).map(|i| sample(&a, i)).collect();
    assert_eq!(
        draws,
        (1..=20).map(|i| sample(&a, i)).collect::<Vec<_>>(),
        "same seed, same trials"
    );
    let p = plan(&a, Strategy::Random, Some(20)).unwrap();
    assert_eq!(p[1..], draws[..]);
    for d in &draws {
        let n = d[0].1.as_integer().unwrap();
        assert!((2..=8).contains(&n));
        let b = d[1].1.as_str().unwrap();
        assert!(["fixed", "uncertainty", "dwa"].contains(&b));
        let lr = d[2].1.as_float().unwrap();
        assert!((1e-4..=1e-1).contains(&lr));
    }
    // log-uniform: about as many draws below 1e-2.5 as above (uniform would put ~3 %)
    let low = (1..=400)
        .filter(|&i| sample(&a, i)[2].1.as_float().unwrap() < 10f64.powf(-2.5))
        .count();
    assert!(
        (140..=260).contains(&low),
        "{low} of 400 below the log midpoint"
    );
    let distinct: std::collections::BTreeSet<String> =
        draws.iter().map(|d| format!("{d:?}")).collect();
    assert!(distinct.len() > 15);
    std::fs::write(dir.join("space.toml"), space(12)).unwrap();
    let b = load(&dir, &cfg).unwrap();
    assert_ne!(
        draws,
        (1..=20).map(|i| sample(&b, i)).collect::<Vec<_>>(),
        "another seed, other trials"
    );
}

#[test]
fn halving_promotes_the_best_of_each_rung() {
    assert_eq!(rungs(1, 3, 9), vec![1, 3, 9]);
    assert_eq!(rungs(1, 2, 5), vec![1, 2, 4, 5]);
    assert_eq!(rungs(3, 3, 2), vec![2]);
    // objectives by trial (higher is better); one worker
    let score = |t: usize| [0.0, 0.50, 0.90, 0.60, 0.95, 0.10, 0.70, 0.20, 0.30][t];
    let mut s = Scheduler::new(vec![1, 3, 9], 3, true, 8);
    let mut log = Vec::new();
    while let Some(job) = s.next_job() {
        log.push((job.trial, job.epochs));
        // a promoted trial improves a little with more epochs
        s.report(
            job.trial,
            job.epochs,
            Some(score(job.trial) + job.epochs as f64 * 1e-3),
        );
    }
    // preset first at the full budget; once 3 trials finished rung 0 the best of them
    // (2) goes on to 3 epochs before trial 4 starts; trial 4, best of 4, follows it
    assert_eq!(log[0], (0, 9));
    assert_eq!(log[1..4], [(1, 1), (2, 1), (3, 1)]);
    assert_eq!(log[4..7], [(2, 3), (4, 1), (4, 3)]);
    let promoted: Vec<usize> = log.iter().filter(|j| j.1 == 3).map(|j| j.0).collect();
    // 8 trials at rung 0: ⌊8/3⌋ = 2 promoted, the two best (4 and 2)
    let mut p = promoted.clone();
    p.sort();
    assert_eq!(p, vec![2, 4], "{log:?}");
    // rung 1 holds 2 trials: ⌊2/3⌋ = 0 promoted to 9 epochs by ASHA's rule; with no
    // trial left to start, the best of rung 1 (4) is carried on to the full budget
    let full: Vec<_> = log.iter().filter(|j| j.1 == 9).collect();
    assert_eq!(full, [&(0, 9), &(4, 9)], "{log:?}");
    assert_eq!(*log.last().unwrap(), (4, 9));
    assert_eq!(s.results[0].len(), 8);
    // resuming from the journal does not run a finished job again
    let mut r = Scheduler::new(vec![1, 3, 9], 3, true, 8);
    for &(t, e) in &log[..6] {
        r.report(t, e, Some(score(t) + e as f64 * 1e-3));
    }
    let mut rest = Vec::new();
    while let Some(job) = r.next_job() {
        rest.push((job.trial, job.epochs));
        r.report(
            job.trial,
            job.epochs,
            Some(score(job.trial) + job.epochs as f64 * 1e-3),
        );
    }
    for j in &log[..6] {
        assert!(!rest.contains(j), "{j:?} ran again: {rest:?}");
    }
    assert_eq!(log.len(), 6 + rest.len());
}
