//! `mtrec recommend` on a seq run whose evaluation added a transition prior
//! (`model.transition_prior`) ranks with the weight its `summary.json` names (it was
//! refused before s8): the lists equal the brute-force ranking of logits + β·ln(1 + c)
//! at β = 4 and at β = 0 (the model alone), and the two differ.

#[path = "s8seqrec_support/mod.rs"]
mod s8seqrec_support;

use s8seqrec_support::{assert_lists_equal, brute_lists, cli_lists, train};
use serde_json::Value;
use std::path::Path;

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
fn recommend_ranks_with_the_transition_prior_weight_of_the_summary() {
    let (root, data, run) = train("s7lead-prior", CFG, 60);
    set_weight(&run, 4.0);
    let with = cli_lists(&root, &data, &run, 5, "a.csv");
    assert_lists_equal(&with, &brute_lists(&data, &run, 4.0, 5));
    set_weight(&run, 0.0);
    let alone = cli_lists(&root, &data, &run, 5, "b.csv");
    assert!(alone.len() > 50, "{} lists", alone.len());
    assert_lists_equal(&alone, &brute_lists(&data, &run, 0.0, 5));
    assert_ne!(with, alone, "β = 4 must change some list");
    let _ = std::fs::remove_dir_all(&root);
}
