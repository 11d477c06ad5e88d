//! Issue #17 §1 through the CLI: `mtrec train` with `data.dedup` and `[[data.join]]`
//! streams its cache (the console says so) and trains to the in-memory run's metrics;
//! `mtrec predict --bad-rows mark` with a side table holding an unreadable row writes
//! one output row per input row, never one for the side row (src/cli/predict).

mod s9join_support;

use s9join_support::*;
use std::path::Path;
use std::process::Command;

/// The log with every 4th row repeated right away and every 5th repeated far later.
fn log_with_repeats(n: usize, bad: Bad) -> String {
    let log = log_csv(n, 300, bad);
    let mut lines = log.lines();
    let mut s = format!("{}\n", lines.next().unwrap());
    let rows: Vec<&str> = lines.collect();
    for (i, row) in rows.iter().enumerate() {
        s += &format!("{row}\n");
        if i % 4 == 0 {
            s += &format!("{row}\n");
        }
        if i >= 500 && i % 5 == 0 {
            s += &format!("{}\n", rows[i - 500]);
        }
    }
    s
}

#[test]
fn a_deduplicated_joined_run_streams_its_cache_and_trains_like_memory() {
    let dir = temp_dir("s10jd-train");
    let bad = Bad::ALL_BUT_SET;
    write_fixture(&dir, 2000, bad);
    std::fs::write(dir.join("log.csv"), log_with_repeats(2000, bad)).unwrap();
    let extra = "bad_rows = \"skip\"\ndedup = true";
    std::fs::write(dir.join("run.toml"), config_text(RANDOM, extra)).unwrap();
    assert_trains_like_memory(&dir, "");
    let bad_rows = std::fs::read_to_string(dir.join("cached/bad_rows.txt")).unwrap();
    assert!(bad_rows.contains("duplicate"), "{bad_rows}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn predict(dir: &Path, run: &Path, sides: &Path, mode: &str, whole: bool) -> (bool, String) {
    let out = dir.join(format!("out-{mode}-{whole}.csv"));
    let o = Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args(["predict", "--run", run.to_str().unwrap()])
        .args(["--input", dir.join("input.csv").to_str().unwrap()])
        .args(["--output", out.to_str().unwrap(), "--force"])
        .args(["--data-dir", sides.to_str().unwrap(), "--bad-rows", mode])
        .args(["--keep", "item,item_category"])
        .env("MTREC_PREDICT_WHOLE", if whole { "1" } else { "0" })
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    (o.status.success(), format!("{err}\n=====\n{text}"))
}

#[test]
fn a_side_tables_unreadable_row_never_becomes_an_output_row() {
    let dir = temp_dir("s10jd-predict");
    write_fixture(&dir, 1200, Bad::default());
    std::fs::write(dir.join("run.toml"), config_text(RANDOM, "")).unwrap();
    train(&dir, "run", &["train.epochs=1"]);
    // the scoring input: 200 rows of the log (labels and all), a few with a bad price
    let log = std::fs::read_to_string(dir.join("log.csv")).unwrap();
    let input: Vec<&str> = log.lines().take(201).collect();
    std::fs::write(dir.join("input.csv"), input.join("\n") + "\n").unwrap();
    // the side tables, the item of the input's first row on an unreadable line
    let item = input[1].split(',').nth(1).unwrap().to_string();
    assert!(item.starts_with('i'), "{item}");
    let sides = dir.join("sides");
    std::fs::create_dir_all(&sides).unwrap();
    let items = std::fs::read_to_string(dir.join("items.csv")).unwrap();
    let bad_line = items
        .lines()
        .position(|l| l.starts_with(&format!("{item},")))
        .unwrap()
        + 1;
    let items: Vec<String> = (items.lines().enumerate())
        .map(|(i, l)| match i + 1 == bad_line {
            true => format!("{l},extra"),
            false => l.to_string(),
        })
        .collect();
    std::fs::write(sides.join("items.csv"), items.join("\n") + "\n").unwrap();
    std::fs::copy(dir.join("categories.csv"), sides.join("categories.csv")).unwrap();
    let uses = input[1..]
        .iter()
        .filter(|l| l.split(',').nth(1) == Some(&item))
        .count();

    let run = dir.join("run");
    let (ok, streamed) = predict(&dir, &run, &sides, "mark", false);
    assert!(ok, "{streamed}");
    let (err, out) = streamed.split_once("\n=====\n").unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 201, "one output row per input row:\n{out}");
    let numbers: Vec<u64> = (lines[1..].iter())
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        numbers,
        (2..=201).collect::<Vec<u64>>(),
        "the input's lines, in order"
    );
    let marked: Vec<&&str> = (lines[1..].iter())
        .filter(|l| l.contains(&format!("`{item}` is not a key of the side table")))
        .collect();
    assert_eq!(marked.len(), uses, "{out}");
    assert!(marked[0].starts_with("2,,,,"), "{}", marked[0]);
    let shown = sides.join("items.csv").display().to_string();
    assert!(
        err.contains(&format!("note: {shown}: 1 unreadable row left out of the side table of data.join[0] (line {bad_line}:")),
        "{err}"
    );
    assert!(!err.contains("read whole"), "the input streams: {err}");
    // reading the input whole gives the same bytes (and the same note)
    let (ok, whole) = predict(&dir, &run, &sides, "mark", true);
    assert!(ok, "{whole}");
    let (werr, wout) = whole.split_once("\n=====\n").unwrap();
    assert_eq!(wout, out);
    assert!(werr.contains("1 unreadable row left out"), "{werr}");
    // --bad-rows error: the side table's row stops the run, naming it
    let (ok, failed) = predict(&dir, &run, &sides, "error", false);
    assert!(!ok, "{failed}");
    assert!(failed.contains(&format!("{shown}:{bad_line}")), "{failed}");
    let _ = std::fs::remove_dir_all(&dir);
}
