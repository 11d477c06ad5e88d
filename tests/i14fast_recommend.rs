//! `mtrec recommend` on a tiny self-made MovieLens folder: the default catalogue is every
//! movie of `u.item` (also movies nobody rated in the training split), `--catalogue`
//! still overrides it, and the default scoring of an MMoE run (the two-tower split)
//! gives the lists of `--plain` (every pair through the whole network) within 1e-5.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const GENRES: &str = "unknown|0\nAction|1\nComedy|2\nDrama|3\n\n";
const USERS: usize = 8;
/// Movies 1..=10 are rated; 11 and 12 are only in u.item.
const RATED: usize = 10;
const MOVIES: usize = 12;

const CONFIG: &str = r#"
[data]
files = ["ml"]
loader = "movielens"
header = false
columns = ["user_id", "item_id", "rating", "timestamp", "age", "gender",
           "occupation", "zip", "title", "release_date", "genres"]
missing_values = [""]

[[features]]
name = "user_id"
kind = "categorical"
dim = 4

[[features]]
name = "item_id"
kind = "categorical"
dim = 4

[[features]]
name = "gender"
kind = "categorical"
dim = 2

[[features]]
name = "genres"
kind = "multi_hot"
dim = 3
separator = "|"

[[features]]
name = "age"
kind = "numeric"
scale = "standard"

[[tasks]]
name = "rating"
type = "regression"
column = "rating"

[[tasks]]
name = "like"
type = "binary"
column = "rating"
threshold = 4

[split]
kind = "random"
seed = 7
train = 0.8
valid = 0.1

[model]
arch = "mmoe"
num_experts = 3
expert = [6]
tower = [4]

[train]
optimizer = "adam"
lr = 0.01
batch_size = 16
epochs = 3
seed = 1

[train.early_stopping]
task = "like"
metric = "auc"
direction = "max"
patience = 3

[recommend]
user_features = ["user_id", "gender", "age"]
item_features = ["item_id", "genres"]
[recommend.fusion]
kind = "product"
weights = { like = 1.0, rating = 0.5 }
"#;

fn write_movielens(root: &Path) {
    let ml = root.join("ml");
    std::fs::create_dir_all(&ml).unwrap();
    std::fs::write(ml.join("u.genre"), GENRES).unwrap();
    let mut users = String::new();
    for u in 1..=USERS {
        let g = if u % 2 == 0 { "M" } else { "F" };
        users += &format!("{u}|{}|{g}|other|0000{u}\n", 20 + 3 * u);
    }
    std::fs::write(ml.join("u.user"), users).unwrap();
    let mut items = String::new();
    for i in 1..=MOVIES {
        let flags: Vec<&str> = (0..4)
            .map(|g| if (i + g) % 3 == 0 { "1" } else { "0" })
            .collect();
        items += &format!(
            "{i}|Movie {i} (1995)|01-Jan-1995||http://m/{i}|{}\n",
            flags.join("|")
        );
    }
    std::fs::write(ml.join("u.item"), items).unwrap();
    let mut data = String::new();
    for u in 1..=USERS {
        for i in 1..=RATED {
            if (u + i) % 3 != 0 {
                let r = 1 + (u * 7 + i * 3) % 5;
                data += &format!("{u}\t{i}\t{r}\t{}\n", 880000000 + u * 100 + i);
            }
        }
    }
    std::fs::write(ml.join("u.data"), data).unwrap();
}

fn mtrec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "mtrec failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// (data dir, run dir) of the tiny MovieLens MMoE run, trained once per test binary.
fn trained() -> &'static (PathBuf, PathBuf) {
    static RUN: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("mtrec-i14fast-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        write_movielens(&dir);
        std::fs::write(dir.join("run.toml"), CONFIG).unwrap();
        let run = dir.join("run");
        ok(mtrec(&[
            "train",
            "--config",
            dir.join("run.toml").to_str().unwrap(),
            "--data-dir",
            dir.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
            "--quiet",
            "--threads",
            "1",
        ]));
        (dir, run)
    })
}

/// `mtrec recommend --all-users` with `extra`; returns (stderr, rows of the CSV without
/// the header).
fn recommend(out_name: &str, extra: &[&str]) -> (String, Vec<Vec<String>>) {
    let (dir, run) = trained();
    let out = dir.join(out_name);
    let mut args = vec![
        "recommend",
        "--run",
        run.to_str().unwrap(),
        "--data-dir",
        dir.to_str().unwrap(),
        "--all-users",
        "--k",
        "12",
        "--quiet",
        "--force",
        "--output",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let stderr = ok(mtrec(&args));
    let text = std::fs::read_to_string(&out).unwrap();
    let rows = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (stderr, rows)
}

#[test]
fn i14fast_movielens_catalogue_is_every_movie_of_u_item() {
    let (stderr, rows) = recommend("all.csv", &["--include-history"]);
    assert!(
        stderr.contains(&format!("catalogue: {MOVIES} items from")) && stderr.contains("u.item"),
        "{stderr}"
    );
    // the movies nobody rated are candidates, and every user gets the whole catalogue
    for unrated in ["11", "12"] {
        assert!(
            rows.iter().any(|r| r[2] == unrated),
            "movie {unrated} is in no list"
        );
    }
    assert_eq!(rows.len(), USERS * MOVIES);
}

#[test]
fn i14fast_catalogue_file_still_overrides_u_item() {
    let (dir, _) = trained();
    let cat = dir.join("catalogue.csv");
    std::fs::write(&cat, "item_id,genres\n1,Action\n2,Comedy\n3,\n").unwrap();
    let (stderr, rows) = recommend(
        "cat.csv",
        &["--include-history", "--catalogue", cat.to_str().unwrap()],
    );
    assert!(
        stderr.contains("catalogue: 3 items from") && stderr.contains("catalogue.csv"),
        "{stderr}"
    );
    assert!(!stderr.contains("u.item"), "{stderr}");
    assert_eq!(rows.len(), USERS * 3);
    assert!(rows
        .iter()
        .all(|r| ["1", "2", "3"].contains(&r[2].as_str())));
}

#[test]
fn i14fast_default_scoring_is_the_two_tower_split_and_equals_plain() {
    let (fast_err, fast) = recommend("fast.csv", &[]);
    let (plain_err, plain) = recommend("plain.csv", &["--plain"]);
    assert!(fast_err.contains("two-tower split"), "{fast_err}");
    assert!(plain_err.contains("plain"), "{plain_err}");
    assert!(!plain_err.contains("two-tower"), "{plain_err}");
    assert_eq!(fast.len(), plain.len());
    assert!(fast.len() > USERS, "{} rows", fast.len());
    let mut spread = (f64::MAX, f64::MIN); // of the last task column
    for (a, b) in fast.iter().zip(&plain) {
        assert_eq!(a[..3], b[..3], "user, rank, item");
        for (x, y) in a[3..].iter().zip(&b[3..]) {
            let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
            assert!((x - y).abs() <= 1e-5, "{a:?} vs {b:?}");
        }
        let s: f64 = a[a.len() - 1].parse().unwrap();
        spread = (spread.0.min(s), spread.1.max(s));
    }
    // the scores differ between pairs (a constant model would pass trivially)
    assert!(spread.1 - spread.0 > 1e-4, "{spread:?}");
    // --two-tower and --plain exclude each other
    let (dir, run) = trained();
    let out = mtrec(&[
        "recommend",
        "--run",
        run.to_str().unwrap(),
        "--data-dir",
        dir.to_str().unwrap(),
        "--all-users",
        "--two-tower",
        "--plain",
    ]);
    assert!(!out.status.success());
}
