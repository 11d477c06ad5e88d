//! Issue #20 (SASRec beside PyTorch): `mtrec seq` with `MTREC_SEQ_ORDER_OUT` writes each
//! epoch's example order (indices into the leave-last-out training list), so a reference
//! implementation can train on exactly mtrec's batches (reference/sasrec/train_sasrec.py
//! `--orders`). The dump is one permutation per epoch, the epochs differ, a second run
//! rewrites the file, and training is unchanged by it (same losses with and without).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// 40 users, 3..=10 items each, over 20 items.
fn write_data(data: &Path) -> usize {
    std::fs::create_dir_all(data.join("shop")).unwrap();
    let mut text = String::new();
    let mut train = 0;
    for u in 0..40usize {
        let n = 3 + u % 8;
        // leave-last-out keeps s_1..s_{n-2}; a training example needs ≥ 2 items
        if n >= 4 {
            train += 1;
        }
        let items: Vec<String> = (0..n)
            .map(|j| format!("i{}", (u * 3 + j * (1 + u % 3)) % 20))
            .collect();
        text.push_str(&format!("u{u} {}\n", items.join(" ")));
    }
    std::fs::write(data.join("shop/user_sequence.txt"), text).unwrap();
    train
}

fn run(root: &Path, data: &Path, name: &str, order: Option<&Path>) -> PathBuf {
    let cfg = root.join("cfg.toml");
    std::fs::write(
        &cfg,
        "baselines = []\n[data]\nformat = \"sequences\"\ndir = \"shop\"\nmax_len = 5\n\
         [model]\ndim = 8\nblocks = 1\ndropout = 0.2\n\
         [train]\nepochs = 3\nbatch_size = 7\npatience = 0\nseed = 1\n",
    )
    .unwrap();
    let out = root.join(name);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mtrec"));
    cmd.args(["seq", "--config", cfg.to_str().unwrap()])
        .args(["--data-dir", data.to_str().unwrap()])
        .args(["--out", out.to_str().unwrap(), "--quiet"])
        .env_remove("MTREC_SEQ_ORDER_OUT");
    if let Some(p) = order {
        cmd.env("MTREC_SEQ_ORDER_OUT", p);
    }
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "mtrec seq failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    out
}

fn losses(run: &Path) -> Vec<f64> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["train_loss"]
                .as_f64()
                .unwrap()
        })
        .collect()
}

fn orders(path: &Path) -> Vec<Vec<usize>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn i20sas_seq_dumps_each_epochs_order_and_trains_the_same() {
    let root = std::env::temp_dir().join(format!("mtrec-i20sas-order-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let data = root.join("data");
    let n_train = write_data(&data);
    let order_file = root.join("orders.jsonl");
    let with = run(&root, &data, "with", Some(&order_file));
    let got = orders(&order_file);
    assert_eq!(got.len(), 3, "one line per epoch");
    for o in &got {
        let mut s = o.clone();
        s.sort_unstable();
        assert_eq!(
            s,
            (0..n_train).collect::<Vec<_>>(),
            "a permutation of the examples"
        );
    }
    assert_ne!(got[0], got[1], "each epoch reshuffles");
    assert_ne!(got[1], got[2], "each epoch reshuffles");
    // training does not depend on the dump
    let without = run(&root, &data, "without", None);
    assert_eq!(losses(&with), losses(&without));
    // a second run rewrites the file instead of appending to it
    run(&root, &data, "again", Some(&order_file));
    assert_eq!(
        orders(&order_file),
        got,
        "same seed, same orders, not appended"
    );
    let _ = std::fs::remove_dir_all(&root);
}
