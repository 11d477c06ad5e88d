//! The tiny synthetic run of the recommend tests: 12 users, 30 items, a user and an
//! item feature, a binary and a regression task; written and trained in a temp dir.
#![allow(dead_code)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const USERS: usize = 12;
const ITEMS: usize = 30;

pub fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mtrec-recommend-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn segment(u: usize) -> &'static str {
    ["a", "b", "c"][u % 3]
}
pub fn genre(i: usize) -> String {
    format!("g{}", i % 4)
}

/// user_id,item_id,segment,age,genre,click,rating: each user rates 10 items.
pub fn write_data(dir: &Path) {
    let mut s = String::from("user_id,item_id,segment,age,genre,click,rating\n");
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for u in 0..USERS {
        let mut seen = HashSet::new();
        while seen.len() < 10 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = (x % ITEMS as u64) as usize;
            if !seen.insert(i) {
                continue;
            }
            let click = usize::from((u + i).is_multiple_of(3));
            let rating = 1 + (u * 7 + i * 3) % 5;
            s += &format!(
                "u{u},i{i},{},{},{},{click},{rating}\n",
                segment(u),
                20 + u * 3,
                genre(i)
            );
        }
    }
    std::fs::write(dir.join("inter.csv"), s).unwrap();
}

pub const CONFIG: &str = r#"
[data]
files = ["inter.csv"]
header = true

[[features]]
name = "user_id"
kind = "categorical"
dim = 4
[[features]]
name = "item_id"
kind = "categorical"
dim = 4
[[features]]
name = "segment"
kind = "categorical"
dim = 2
[[features]]
name = "age"
kind = "numeric"
[[features]]
name = "genre"
kind = "categorical"
dim = 2

[[tasks]]
name = "click"
type = "binary"
column = "click"
[[tasks]]
name = "rating"
type = "regression"
column = "rating"

[split]
kind = "random"
seed = 7
train = 0.8
valid = 0.1

[model]
arch = "mmoe"
num_experts = 2
expert = [8]
tower = [4]

[train]
lr = 0.01
batch_size = 16
epochs = 2
seed = 3
[train.early_stopping]
task = "click"

[recommend]
user_features = ["user_id", "segment", "age"]
item_features = ["item_id", "genre"]
[recommend.fusion]
kind = "product"
weights = { click = 1.0, rating = 1.0 }
"#;

pub fn mtrec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args(args)
        .output()
        .unwrap()
}

pub fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "mtrec failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Trains the tiny run; returns (data dir, run dir).
pub fn trained(test: &str) -> (PathBuf, PathBuf) {
    trained_with(test, &[])
}

/// [`trained`] with `--set` overrides.
pub fn trained_with(test: &str, set: &[&str]) -> (PathBuf, PathBuf) {
    let dir = scratch(test);
    write_data(&dir);
    std::fs::write(dir.join("run.toml"), CONFIG).unwrap();
    let run = dir.join("run");
    let (config, data, out) = (
        dir.join("run.toml"),
        dir.to_str().unwrap().to_string(),
        run.to_str().unwrap().to_string(),
    );
    let mut args = vec![
        "train",
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        &data,
        "--out",
        &out,
        "--quiet",
        "--threads",
        "1",
    ];
    for s in set {
        args.extend(["--set", s]);
    }
    ok(mtrec(&args));
    (dir, run)
}
