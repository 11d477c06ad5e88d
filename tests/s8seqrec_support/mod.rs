//! Tiny `mtrec seq` runs for the s8seqrec tests (and tests/s7lead_seq_prior.rs), and the
//! independent reference their lists are checked against: each user encoded alone, every
//! item scored by its own dot product plus β·ln(1 + c(a, j)) with the counts taken here by
//! hand from the training part of each sequence (all but the last two items; the whole
//! sequence of a user with fewer than 3), history removed, a full sort.
#![allow(dead_code)]

#[path = "../cli_support/mod.rs"]
pub mod cli_support;

use mtrec::autograd::{Graph, ParamStore};
use mtrec::data::sequences::{Holdout, SeqBatch};
use mtrec::models::sasrec::SasRec;
use mtrec::train::seq::{load_data, model_config, SeqRunConfig};
use ndarray_rand::rand::rngs::StdRng;
use ndarray_rand::rand::SeedableRng;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One list: (item, score, next_item) best first.
pub type List = Vec<(String, f64, f64)>;

/// A scratch folder `root` with `data/beauty-tiny` (`users` users) and a run trained on
/// it with `config` (written to `root/run.toml`): (root, data, run).
pub fn train(tag: &str, config: &str, users: usize) -> (PathBuf, PathBuf, PathBuf) {
    let root = std::env::temp_dir().join(format!("mtrec-s8seqrec-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let data = root.join("data");
    cli_support::write_beauty_tiny(&data, users);
    let cfg = root.join("run.toml");
    std::fs::write(&cfg, config).unwrap();
    let run = root.join("run");
    cli_support::seq_train(&cfg, &data, &run);
    (root, data, run)
}

pub fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

pub fn summary(run: &Path) -> Value {
    json(&std::fs::read_to_string(run.join("summary.json")).unwrap())
}

/// `mtrec recommend --all-users --k k` on the run: user → [(item, score, next_item)].
pub fn cli_lists(
    root: &Path,
    data: &Path,
    run: &Path,
    k: usize,
    name: &str,
) -> Vec<(String, List)> {
    let out = root.join(name);
    let _ = std::fs::remove_file(&out);
    cli_support::ok(&cli_support::mtrec(&[
        "recommend",
        "--run",
        run.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--all-users",
        "--k",
        &k.to_string(),
        "--output",
        out.to_str().unwrap(),
        "--quiet",
    ]));
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), "user,rank,item,score,next_item");
    let mut lists: Vec<(String, List)> = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let row = (
            f[2].to_string(),
            f[3].parse().unwrap(),
            f[4].parse().unwrap(),
        );
        match lists.last_mut() {
            Some((u, l)) if u == f[0] => l.push(row),
            _ => lists.push((f[0].to_string(), vec![row])),
        }
    }
    lists
}

/// `mtrec recommend --eval --k k` on the run, as JSON.
pub fn cli_eval(data: &Path, run: &Path, k: usize) -> Value {
    json(&cli_support::ok(&cli_support::mtrec(&[
        "recommend",
        "--run",
        run.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--eval",
        "--k",
        &k.to_string(),
    ])))
}

/// c(a, b): how often b directly follows a in the training parts of the sequences.
pub fn train_counts(seqs: &[Vec<u32>]) -> HashMap<(u32, u32), u64> {
    let mut c = HashMap::new();
    for s in seqs {
        let cut = if s.len() < 3 { s.len() } else { s.len() - 2 };
        for w in s[..cut].windows(2) {
            *c.entry((w[0], w[1])).or_insert(0) += 1;
        }
    }
    c
}

/// Each user's top-`k` list by the reference of the module docs, prior weight `beta`:
/// user → [(item, score)]. For an ID-only run.
pub fn brute_lists(
    data_dir: &Path,
    run: &Path,
    beta: f32,
    k: usize,
) -> Vec<(String, Vec<(String, f32)>)> {
    let cfg = SeqRunConfig::from_file(&run.join("config.toml"), &[]).unwrap();
    let data = load_data(&cfg, data_dir).unwrap();
    let mcfg = model_config(&cfg, &data, 0).unwrap();
    let mut store = ParamStore::new();
    let model = SasRec::new(&mut store, &mcfg, &mut StdRng::seed_from_u64(99)).unwrap();
    mtrec::checkpoint::load_params(run.join("model.safetensors"), &mut store).unwrap();
    let counts = train_counts(&data.seqs);
    let (d, v) = (mcfg.dim, mcfg.num_items);
    let mut g = Graph::new(0);
    g.set_training(false);
    let mut out = Vec::new();
    for (u, seq) in data.seqs.iter().enumerate() {
        let h = Holdout {
            user: 0,
            history: seq.clone(),
            target: 1,
            rating: None,
        };
        let batch = SeqBatch::eval(&[&h], mcfg.max_len);
        g.reset();
        let hid = model.forward(&mut g, &store, &batch.input(), None).unwrap();
        let f = g.value(hid.h).to_vec();
        let m = g.value(hid.items).to_vec(); // (V+1, D)
        let last = *seq.last().unwrap();
        let mut scored: Vec<(f32, u32)> = (1..=v as u32)
            .filter(|i| !seq.contains(i))
            .map(|i| {
                let row = &m[i as usize * d..(i as usize + 1) * d];
                let logit: f32 = f.iter().zip(row).map(|(a, b)| a * b).sum();
                let c = counts.get(&(last, i)).copied().unwrap_or(0);
                (logit + beta * (c as f64).ln_1p() as f32, i)
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let list = scored
            .iter()
            .take(k)
            .map(|&(s, i)| (data.item_keys[i as usize].clone(), s))
            .collect();
        out.push((data.users[u].clone(), list));
    }
    out
}

/// Asserts that `mtrec recommend`'s lists equal the reference lists (items in order;
/// scores to the 6 decimals the command writes, next_item a decreasing probability).
pub fn assert_lists_equal(got: &[(String, List)], want: &[(String, Vec<(String, f32)>)]) {
    assert_eq!(got.len(), want.len(), "one list per user");
    for ((gu, gl), (wu, wl)) in got.iter().zip(want) {
        assert_eq!(gu, wu);
        let items = |l: Vec<&String>| l.into_iter().cloned().collect::<Vec<_>>();
        assert_eq!(
            items(gl.iter().map(|x| &x.0).collect()),
            items(wl.iter().map(|x| &x.0).collect()),
            "user {gu}: {gl:?} vs {wl:?}"
        );
        let mut p_prev = f64::INFINITY;
        for (g, w) in gl.iter().zip(wl) {
            assert!(
                (g.1 - w.1 as f64).abs() < 1e-4,
                "{gu} {}: {} vs {}",
                g.0,
                g.1,
                w.1
            );
            assert!(
                g.2 > 0.0 && g.2 < 1.0 && g.2 <= p_prev + 1e-9,
                "P(next) {}",
                g.2
            );
            p_prev = g.2;
        }
    }
}
