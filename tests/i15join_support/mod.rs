//! A tiny interactions table with an item table and a user table, for the
//! `[[data.join]]` tests (`mod i15join_support;`).

#![allow(dead_code)] // each test file uses a part

use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh, empty folder under the system temp dir, named after `tag` and this process.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-i15join-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A seeded xorshift64 stream.
fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

pub const USERS: u64 = 12;
pub const ITEMS: u64 = 15;

/// The three tables as text: `interactions.csv` (user_id, item_id, click, rating),
/// `items.csv` (item_id, title, genre, price), `users.csv` (user_id, age, gender),
/// and the same interactions pre-joined (`joined.csv`, columns as the join names them).
pub struct Tables {
    pub interactions: String,
    pub items: String,
    pub users: String,
    pub joined: String,
}

pub fn tables(rows: usize) -> Tables {
    let genres = ["Drama|Comedy", "Action", "Comedy", "Horror|Action"];
    let mut items = String::from("item_id,title,genre,price\n");
    let item_row = |i: u64| {
        (
            format!("Film {i}"),
            genres[(i % 4) as usize].to_string(),
            format!("{}.5", (i * 7) % 20),
        )
    };
    // written in a shuffled order: the join must not depend on it
    for i in (0..ITEMS).rev() {
        let (t, g, p) = item_row(i);
        items.push_str(&format!("{},\"{t}\",{g},{p}\n", 100 + i));
    }
    let mut users = String::from("user_id,age,gender\n");
    let user_row = |u: u64| {
        (
            18 + (u * 5) % 40,
            if u.is_multiple_of(3) { "F" } else { "M" },
        )
    };
    for u in 0..USERS {
        let (a, g) = user_row(u);
        users.push_str(&format!("u{u},{a},{g}\n"));
    }
    let mut interactions = String::from("user_id,item_id,click,rating\n");
    let mut joined =
        String::from("user_id,item_id,click,rating,title,genre,price,user_age,user_gender\n");
    let mut next = xorshift(99);
    for _ in 0..rows {
        let (u, i) = (next() % USERS, next() % ITEMS);
        let (a, g) = user_row(u);
        let (t, genre, p) = item_row(i);
        let click = (genre.contains("Action") == (g == "M")) as u8;
        let rating = 1.0 + ((a as f64) / 20.0) + ((i % 4) as f64) * 0.5;
        interactions.push_str(&format!("u{u},{},{click},{rating:.2}\n", 100 + i));
        joined.push_str(&format!(
            "u{u},{},{click},{rating:.2},\"{t}\",{genre},{p},{a},{g}\n",
            100 + i
        ));
    }
    Tables {
        interactions,
        items,
        users,
        joined,
    }
}

/// Writes the tables of [`tables`] into `dir`.
pub fn write_tables(dir: &Path, rows: usize) {
    let t = tables(rows);
    std::fs::write(dir.join("interactions.csv"), t.interactions).unwrap();
    std::fs::write(dir.join("items.csv"), t.items).unwrap();
    std::fs::write(dir.join("users.csv"), t.users).unwrap();
    std::fs::write(dir.join("joined.csv"), t.joined).unwrap();
}

/// `[[data.join]]` of items (on item_id) and users (on user_id, prefix `user_`).
pub const JOINS: &str = r#"
[[data.join]]
file = "items.csv"
on = "item_id"

[[data.join]]
file = "users.csv"
on = "user_id"
prefix = "user_"
"#;

/// A run config on `files` with `joins` (a string of `[[data.join]]` tables, maybe
/// empty) and `data_extra` lines in `[data]`: features from both side tables.
pub fn config(files: &str, data_extra: &str, joins: &str) -> String {
    format!(
        r#"
[data]
files = ["{files}"]
header = true
{data_extra}
{joins}
[[features]]
name = "user_id"
kind = "categorical"
dim = 4
[[features]]
name = "item_id"
kind = "categorical"
dim = 4
[[features]]
name = "genre"
kind = "multi_hot"
dim = 3
[[features]]
name = "price"
kind = "numeric"
[[features]]
name = "user_age"
kind = "numeric"
[[features]]
name = "user_gender"
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
train = 0.6
valid = 0.2

[model]
arch = "mmoe"
num_experts = 2
expert = [8]
tower = [4]

[train]
lr = 0.01
batch_size = 32
epochs = 2
seed = 3

[train.early_stopping]
task = "click"
metric = "auc"
patience = 10
"#
    )
}

/// Runs the `mtrec` binary; (success, stdout, stderr).
pub fn mtrec(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn p(x: &Path) -> &str {
    x.to_str().unwrap()
}

/// Trains `cfg` (written to `dir/<name>.toml`) with `--data-dir dir` into `dir/<name>`.
pub fn train(dir: &Path, name: &str, cfg: &str) -> Result<PathBuf, String> {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, cfg).unwrap();
    let run = dir.join(name);
    let (ok, _, err) = mtrec(&[
        "train",
        "--config",
        p(&path),
        "--data-dir",
        p(dir),
        "--out",
        p(&run),
        "--quiet",
        "--threads",
        "1",
    ]);
    if ok {
        Ok(run)
    } else {
        Err(err)
    }
}
