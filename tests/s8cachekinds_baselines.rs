//! Reference baselines in cached runs (issue #15 §2, #17 §1): `popularity` and `biases`
//! are fitted from the memory-mapped training set in chunks and reported exactly as in
//! the same run with `data.cache = "off"`.

mod s8cachekinds_support;

use mtrec::baselines::{Biases, ChunkFn, Columns, Popularity, Scan};
use mtrec::config::TaskType;
use s8cachekinds_support::{mem_and_cached, temp_dir, xorshift};
use std::path::Path;

/// `ratings.csv`: 900 rows of 30 users × 25 items, rating = 3 + a_u + c_i + noise (every
/// 5th rating unlabelled), like = rating ≥ 3.5.
fn write_ratings(dir: &Path) {
    let mut next = xorshift(41);
    let mut s = String::from("user_id,item_id,price,rating,like\n");
    for r in 0..900usize {
        let (u, i) = (next() % 30, next() % 25);
        let a = (u % 5) as f64 * 0.3 - 0.6;
        let c = (i % 7) as f64 * 0.25 - 0.75;
        let noise = ((next() % 1000) as f64 / 1000.0 - 0.5) * 0.4;
        let y = 3.0 + a + c + noise;
        let rating = if r.is_multiple_of(5) {
            String::new()
        } else {
            format!("{y:.3}")
        };
        s += &format!("{u},{i},{},{rating},{}\n", next() % 100, u8::from(y >= 3.5));
    }
    std::fs::write(dir.join("ratings.csv"), s).unwrap();
}

const CONFIG: &str = r#"
[data]
files = ["ratings.csv"]
header = true
missing_values = [""]

[[features]]
name = "user_id"
kind = "categorical"
dim = 4
[[features]]
name = "item_id"
kind = "categorical"
dim = 4
min_count = 2
[[features]]
name = "price"
kind = "numeric"

[[tasks]]
name = "rating"
type = "regression"
column = "rating"
[[tasks]]
name = "like"
type = "binary"
column = "like"

[split]
kind = "random"
seed = 5
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
threads = 1

[train.early_stopping]
task = "like"
metric = "auc"
patience = 10
"#;

#[test]
fn a_cached_run_reports_the_baselines_of_the_in_memory_run() {
    let dir = temp_dir("baselines");
    write_ratings(&dir);
    let (mem, cached) = mem_and_cached(&dir, CONFIG, &[]);
    let b = &mem["baselines"];
    assert!(
        b["popularity"].is_object() && b["biases"].is_object(),
        "the in-memory run has no baselines: {mem}"
    );
    assert!(
        cached.get("baselines_skipped").is_none(),
        "the cached run skipped them: {cached}"
    );
    // the same rows in the same order: the same sums, the same bits
    assert_eq!(mem["baselines"], cached["baselines"]);
    assert_eq!(mem["tasks"], cached["tasks"]);
    for t in ["rating", "like"] {
        assert!(
            cached["tasks"][t]["beats_baselines"].is_object()
                || cached["tasks"][t]["beats_baselines"].is_boolean(),
            "no verdict for {t}: {cached}"
        );
    }
}

/// Whole columns handed over `chunk` rows at a time.
struct Chunked<'a>(Columns<'a>, usize);

impl Scan for Chunked<'_> {
    fn scan(&self, f: &mut ChunkFn<'_>) {
        let (c, n) = (self.0, self.0.y.len());
        for s in (0..n).step_by(self.1) {
            let e = (s + self.1).min(n);
            f(&c.users[s..e], &c.items[s..e], &c.y[s..e], &c.mask[s..e]);
        }
    }
}

#[test]
fn a_fit_from_chunks_has_the_bits_of_the_fit_from_whole_columns() {
    let mut next = xorshift(7);
    let n = 1000;
    let users: Vec<u32> = (0..n).map(|_| (next() % 37) as u32).collect();
    let items: Vec<u32> = (0..n).map(|_| (next() % 53) as u32).collect();
    let y: Vec<f32> = (0..n).map(|i| ((users[i] + items[i]) % 2) as f32).collect();
    let mask: Vec<f32> = (0..n)
        .map(|_| f32::from(u8::from(!next().is_multiple_of(4))))
        .collect();
    let cols = Columns {
        users: &users,
        items: &items,
        y: &y,
        mask: &mask,
    };
    for kind in [TaskType::Binary, TaskType::Regression] {
        let whole = Biases::fit(&users, &items, &y, &mask, kind, 3.0, 5);
        let pop = Popularity::fit(&items, &y, &mask, kind, 2.0);
        for chunk in [1, 7, 999, 4096] {
            let c = Chunked(cols, chunk);
            assert_eq!(Biases::fit_scan(&c, kind, 3.0, 5), whole, "chunk {chunk}");
            assert_eq!(Popularity::fit_scan(&c, kind, 2.0), pop, "chunk {chunk}");
        }
        // and the fit is not trivial
        assert!(whole.user.iter().any(|&b| b.abs() > 1e-3));
    }
}
