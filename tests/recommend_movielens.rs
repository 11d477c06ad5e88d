//! `mtrec recommend --eval` on MovieLens 100K with the preset's `[recommend]` section:
//! a 2-epoch run, then lists for every test user. Needs `../shared/data` (or
//! `$MTREC_DATA`): `cargo test --release --test recommend_movielens -- --ignored`.

use std::path::PathBuf;
use std::process::Command;

fn data_dir() -> PathBuf {
    std::env::var_os("MTREC_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"))
}

#[test]
#[ignore = "needs ../shared/data"]
fn movielens_lists_beat_chance_and_cover_the_tasks() {
    let data = data_dir();
    assert!(
        data.join("ml-100k/u.data").is_file(),
        "no MovieLens 100K under {}",
        data.display()
    );
    let run = std::env::temp_dir().join(format!("mtrec-recommend-ml-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&run);
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/movielens_mmoe.toml");
    let bin = env!("CARGO_BIN_EXE_mtrec");
    let out = Command::new(bin)
        .args([
            "train",
            "--config",
            config,
            "--data-dir",
            data.to_str().unwrap(),
            "--out",
        ])
        .arg(&run)
        .args(["--set", "train.epochs=2", "--quiet"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(bin)
        .args(["recommend", "--run"])
        .arg(&run)
        .args([
            "--data-dir",
            data.to_str().unwrap(),
            "--eval",
            "--k",
            "10",
            "--quiet",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("no catalogue file given"), "{stderr}");
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let users = m["users"].as_u64().unwrap();
    assert!(users > 800, "{users} test users");
    // chance: ~11 test items of ~1650 per user, 10 guesses → HR@10 ≈ 1 − (1 − 11/1650)^10 ≈ 0.065
    let hr = m["hr"].as_f64().unwrap();
    assert!(hr > 0.1, "HR@10 = {hr}");
    let tasks = m["tasks"].as_array().unwrap();
    let like = tasks.iter().find(|t| t["task"] == "like").unwrap();
    let p = like["mean_predicted"].as_f64().unwrap();
    assert!(
        p > 0.5 && p < 1.0,
        "listed items should be likely likes: {p}"
    );
    assert!(like["observed_n"].as_u64().unwrap() > 100);
    let _ = std::fs::remove_dir_all(&run);
}
