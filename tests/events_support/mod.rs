//! The small events table the `mtrec train` tests share (`mod events_support;`).

#![allow(dead_code)] // each test file uses a part

use std::path::{Path, PathBuf};

/// A fresh, empty folder under the system temp dir, named after `tag` and this process.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `events.csv` in `dir`, 600 rows: user, item (categorical), price (numeric), a genre
/// list (multi-hot), click (binary), buy (binary; every 7th row unlabelled) and watch
/// (regression), the labels depending on the features.
pub fn write_events(dir: &Path) {
    let mut s = String::from("user,item,price,genres,click,buy,watch\n");
    let mut next = xorshift(12345);
    for i in 0..600 {
        let (u, it) = (next() % 20, next() % 30);
        let price = (next() % 1000) as f64 / 100.0;
        let genres = ["a|b", "b", "c|a", ""][(next() % 4) as usize];
        let click = ((u + it) % 3 == 0) as u8;
        let buy = if i % 7 == 0 {
            String::new()
        } else {
            let bought = click == 1 && price < 5.0;
            if bought { "1" } else { "0" }.to_string()
        };
        let watch = (u as f64) * 0.1 + price * 0.05;
        s.push_str(&format!(
            "{u},{it},{price},{genres},{click},{buy},{watch:.3}\n"
        ));
    }
    std::fs::write(dir.join("events.csv"), s).unwrap();
}

/// The `[data]` and `[[features]]` sections of a run config for `events.csv`.
pub const EVENTS_INPUT: &str = r#"
[data]
files = ["events.csv"]
header = true
missing_values = [""]

[[features]]
name = "user"
kind = "categorical"
dim = 4
[[features]]
name = "item"
kind = "categorical"
dim = 4
[[features]]
name = "genres"
kind = "multi_hot"
dim = 3
separator = "|"
[[features]]
name = "price"
kind = "numeric"
"#;

/// The `[[tasks]]` click and buy (binary): what the funnel models need.
macro_rules! click_buy {
    () => {
        r#"
[[tasks]]
name = "click"
type = "binary"
column = "click"
[[tasks]]
name = "buy"
type = "binary"
column = "buy"
"#
    };
}

pub const CLICK_BUY: &str = click_buy!();

/// click, buy and watch (regression).
pub const THREE_TASKS: &str = concat!(
    click_buy!(),
    r#"[[tasks]]
name = "watch"
type = "regression"
column = "watch"
"#
);

/// A seeded xorshift64 stream: the tests' data without a random-number crate.
pub fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// A whole run config for `events.csv`: the input sections, `tasks`, a random split, a
/// small MMoE and `epochs` epochs of batches of 64; `train_extra` adds lines to `[train]`.
pub fn events_config(tasks: &str, epochs: usize, train_extra: &str) -> String {
    format!(
        r#"{EVENTS_INPUT}{tasks}
[split]
kind = "random"
seed = 7
train = 0.6
valid = 0.2

[model]
arch = "mmoe"
num_experts = 3
expert = [8]
tower = [4]

[train]
lr = 0.01
batch_size = 64
epochs = {epochs}
seed = 3
{train_extra}
[train.early_stopping]
task = "click"
metric = "auc"
patience = 10
"#
    )
}
