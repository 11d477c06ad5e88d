//! A real `mtrec seq` run for the export tests: a cycle of items walked by each user with
//! a user-specific stride, written in the `sequences` format and trained through the CLI.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_mtrec");

/// A fresh folder `mtrec-<prefix>-<tag>-<pid>` under the temp dir.
pub fn temp_dir(prefix: &str, tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-{prefix}-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `o` after asserting that the command succeeded (its stderr in the message if not).
pub fn ok(o: Output) -> Output {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

/// 40 users; user u has `min_len + u % 7` items `sku-NN` walking 15 items with stride
/// `1 + u % 3` from item `5u`.
pub fn sequences(min_len: usize) -> Vec<(String, Vec<String>)> {
    (0..40usize)
        .map(|u| {
            let n = min_len + u % 7;
            let stride = 1 + u % 3;
            let items = (0..n)
                .map(|j| format!("sku-{:02}", (u * 5 + j * stride) % 15))
                .collect();
            (format!("user{u:02}"), items)
        })
        .collect()
}

/// `mtrec seq` of `seqs` (written to `dir/data/shop/user_sequence.txt`) with the config
/// `[data]` format, dir, seed and `config` (the rest: max_len, `[model]`, `[train]`);
/// returns the run folder `dir/run`.
pub fn seq_run(dir: &Path, seqs: &[(String, Vec<String>)], config: &str) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(data.join("shop")).unwrap();
    let lines: Vec<String> = seqs
        .iter()
        .map(|(u, s)| format!("{u} {}", s.join(" ")))
        .collect();
    std::fs::write(data.join("shop/user_sequence.txt"), lines.join("\n") + "\n").unwrap();
    let cfg = dir.join("seq.toml");
    let text = format!("[data]\nformat = \"sequences\"\ndir = \"shop\"\nseed = 5\n{config}");
    std::fs::write(&cfg, text).unwrap();
    let run = dir.join("run");
    ok(Command::new(BIN)
        .args(["seq", "--quiet", "--config"])
        .arg(&cfg)
        .arg("--data-dir")
        .arg(&data)
        .arg("--out")
        .arg(&run)
        .output()
        .unwrap());
    run
}

/// `mtrec predict --run run` of every (history of `hist`, catalogue item `items[1..]`)
/// pair, histories and items as original ids; returns the scored CSV (a header, then
/// one line per pair, history-major).
pub fn predict_pairs(run: &Path, dir: &Path, hist: &[Vec<String>], items: &[String]) -> String {
    let mut input = String::from("history,item\n");
    for h in hist {
        for k in &items[1..] {
            input.push_str(&format!("{},{k}\n", h.join(" ")));
        }
    }
    std::fs::write(dir.join("pairs.csv"), input).unwrap();
    ok(Command::new(BIN)
        .args(["predict", "--run"])
        .arg(run)
        .arg("--input")
        .arg(dir.join("pairs.csv"))
        .arg("--output")
        .arg(dir.join("scored.csv"))
        .output()
        .unwrap());
    std::fs::read_to_string(dir.join("scored.csv")).unwrap()
}
