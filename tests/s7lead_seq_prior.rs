//! `mtrec recommend` on a seq run whose evaluation added a transition prior
//! (`model.transition_prior`, β > 0 chosen on validation) is refused with the reason,
//! since its lists would rank by the model alone, not as the run's metrics describe;
//! with β = 0 chosen it recommends as before.

use serde_json::Value;
use std::path::Path;

mod cli_support;

use cli_support::{mtrec, ok, seq_train, write_beauty_tiny};

const CFG: &str = "[data]\nformat = \"sequences\"\ndir = \"beauty-tiny\"\nseed = 5\nmax_len = 6\n\
[model]\ndim = 16\nblocks = 1\nheads = 1\ndropout = 0.0\ntransition_prior = [0.5, 4]\n\
[train]\nepochs = 1\nbatch_size = 16\nlr = 0.01\npatience = 0\nseed = 3\n";

fn set_weight(run: &Path, w: f64) {
    let path = run.join("summary.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["transition_prior"]["weight"] = w.into();
    std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

#[test]
fn recommend_refuses_a_run_ranked_with_a_transition_prior_and_says_why() {
    let root = std::env::temp_dir().join(format!("mtrec-s7lead-prior-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let data = root.join("data");
    write_beauty_tiny(&data, 60);
    let cfg = root.join("run.toml");
    std::fs::write(&cfg, CFG).unwrap();
    let run = root.join("run");
    seq_train(&cfg, &data, &run);
    let recommend = |out: &str| {
        mtrec(&[
            "recommend",
            "--run",
            run.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "--all-users",
            "--k",
            "5",
            "--output",
            root.join(out).to_str().unwrap(),
            "--quiet",
        ])
    };

    set_weight(&run, 4.0);
    let refused = recommend("a.csv");
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("transition_prior.weight = 4"), "{err}");
    assert!(err.contains("model.transition_prior = []"), "{err}");
    assert!(!root.join("a.csv").exists());

    set_weight(&run, 0.0);
    ok(&recommend("b.csv"));
    let lists = std::fs::read_to_string(root.join("b.csv")).unwrap();
    assert!(lists.lines().count() > 60, "{lists}");
    let _ = std::fs::remove_dir_all(&root);
}
