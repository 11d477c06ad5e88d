//! `mtrec gen aliexpress`: the AliExpress layout, deterministic for a seed at any
//! thread count, gzip when asked, Zipf ids with large vocabularies, and labels a model
//! can learn (test AUC above 0.5 with the AliExpress preset).

mod cli_support;

use cli_support::{mtrec, ok};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-i17gen-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn gen(out: &Path, rows: u64, seed: u64, threads: usize) -> serde_json::Value {
    let o = mtrec(&[
        "gen",
        "aliexpress",
        "--rows",
        &rows.to_string(),
        "--out",
        out.to_str().unwrap(),
        "--seed",
        &seed.to_string(),
        "--threads",
        &threads.to_string(),
    ]);
    serde_json::from_str(ok(&o).trim()).unwrap()
}

#[test]
fn same_seed_same_bytes_at_any_thread_count_and_gzip_holds_the_same_text() {
    let dir = temp_dir("det");
    // more rows than one chunk, not a multiple of it
    let n = 40_000;
    let a = gen(&dir.join("a.csv"), n, 7, 1);
    gen(&dir.join("b.csv"), n, 7, 3);
    gen(&dir.join("c.csv"), n, 8, 2);
    gen(&dir.join("a.csv.gz"), n, 7, 2);
    let read = |f: &str| std::fs::read(dir.join(f)).unwrap();
    assert_eq!(read("a.csv"), read("b.csv"), "threads change the output");
    assert_ne!(read("a.csv"), read("c.csv"), "the seed has no effect");
    let mut unzipped = Vec::new();
    use std::io::Read;
    flate2::read::MultiGzDecoder::new(&read("a.csv.gz")[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, read("a.csv"));
    assert_eq!(a["csv_bytes"].as_u64().unwrap(), read("a.csv").len() as u64);
    assert!(!dir.join("a.csv.partial").exists());

    let text = String::from_utf8(read("a.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    assert_eq!(header, mtrec::data::loaders::aliexpress_columns());
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len() as u64, n);
    assert!(rows.iter().all(|r| r.len() == 82));
    let distinct = |c: usize| rows.iter().map(|r| r[c]).collect::<HashSet<_>>().len();
    // categorical_7 (1e6 values, Zipf): thousands of ids in 40k rows, id 0 the commonest
    assert!(distinct(7) > 5_000, "categorical_7: {} ids", distinct(7));
    assert!(distinct(10) <= 3, "categorical_10 is small");
    let zeros7 = rows.iter().filter(|r| r[7] == "0").count();
    assert!(zeros7 > 1_000, "id 0 of categorical_7 in {zeros7} rows");
    let clicks = rows.iter().filter(|r| r[80] == "1").count() as f64 / n as f64;
    assert!((0.02..0.2).contains(&clicks), "click rate {clicks}");
    let convs = rows.iter().filter(|r| r[81] == "1").count();
    assert!(convs > 50, "{convs} conversions");
    assert!(
        rows.iter().all(|r| r[81] == "0" || r[80] == "1"),
        "conversion without click"
    );
    for r in rows.iter().take(200) {
        for v in &r[17..80] {
            let x: f64 = v.parse().unwrap();
            assert!((0.0..=1.0).contains(&x), "{v}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_aliexpress_preset_learns_the_generated_labels() {
    let dir = temp_dir("learn");
    gen(&dir.join("ae.csv"), 30_000, 3, 2);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = dir.join("run");
    let o = mtrec(&[
        "train",
        "--config",
        root.join("configs/aliexpress_mmoe.toml").to_str().unwrap(),
        "--data-dir",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--set",
        "data.files=[\"ae.csv\"]",
        "--set",
        "train.epochs=2",
        "--set",
        "train.batch_size=256",
        "--set",
        "train.early_stopping.patience=5",
    ]);
    ok(&o);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let click = s["tasks"]["click"]["test"]["auc"].as_f64().unwrap();
    let conv = s["tasks"]["conversion"]["test"]["auc"].as_f64().unwrap();
    assert!(click > 0.6, "click AUC {click}");
    assert!(conv > 0.55, "conversion AUC {conv}");
    std::fs::remove_dir_all(&dir).ok();
}
