//! `data.dedup = true` in the streamed cache build (issue #17 §1,
//! src/data/cache/build/dedup.rs): the rows kept, their numbering (the random split's
//! draws), the skipped-row list and the duplicate count are the in-memory reader's, and
//! the cache folder is its bytes, at 1–3 threads; with duplicates across chunk
//! boundaries and across files, bad rows in between, repeats of bad rows, and rows
//! equal only after unquoting and trimming.

mod s9text_support;

use s9text_support::{assert_streams_like_memory, config, temp_dir, xorshift, ENV};
use s9text_support::{random_split, user_item_tags_price, CLICK_TASK};

/// `n` rows drawn from a pool of 60 distinct rows (so most are repeats, far apart):
/// user, item, tags, price, note, click. Some repeats are written quoted or padded
/// (the same row once unquoted and trimmed); `note` is read by no feature but makes
/// rows distinct; every 89th row is malformed, every 53rd has a bad price (and those
/// repeat too).
fn rows(seed: u64, n: usize) -> String {
    let mut next = xorshift(seed);
    let mut s = String::from("user,item,tags,price,note,click\n");
    for i in 0..n {
        let k = next() % 60;
        if i % 89 == 7 {
            s += "1,2,3\n"; // malformed: 3 fields
            continue;
        }
        let price = if k % 53 == 4 {
            "oops".to_string()
        } else {
            format!("{}", k as f64 / 4.0)
        };
        let (user, item) = (format!("u{}", k % 13), format!("i{}", k % 17));
        let user = match next() % 4 {
            0 => format!("\"{user}\""),
            1 => format!("  {user} "),
            _ => user,
        };
        let note = if k.is_multiple_of(10) { next() % 2 } else { 0 };
        let tags = format!("t{}|t{}", k % 5, k % 7);
        // quoted or not: the same field (a plain line takes the parser's fast path)
        let tags = if next().is_multiple_of(2) {
            format!("\"{tags}\"")
        } else {
            tags
        };
        s += &format!("{user},{item},{tags},{price},n{note},{}\n", k % 2);
    }
    s
}

fn config_text() -> String {
    let features = user_item_tags_price("");
    let split = random_split(9, 0.6, 0.2);
    format!(
        r#"
[data]
files = ["a.csv", "b.csv"]
header = true
bad_rows = "skip"
dedup = true

{features}
{CLICK_TASK}
{split}
[model]
arch = "shared_bottom"
bottom = [4]
tower = [4]
"#
    )
}

#[test]
fn a_deduplicated_stream_keeps_the_in_memory_rows_and_bytes() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let dir = temp_dir("dedup", 300);
    std::fs::write(dir.join("a.csv"), rows(3, 1500)).unwrap();
    std::fs::write(dir.join("b.csv"), rows(4, 900)).unwrap();
    let cfg = config(&dir, &config_text());
    let (skipped, files) = assert_streams_like_memory(&cfg, &dir);
    // at most 2 · 60 distinct rows (note 0/1 on some): nearly everything is a repeat
    assert!(skipped.duplicates > 2000, "{}", skipped.duplicates);
    assert!(
        skipped.count > 20,
        "malformed and bad-price rows: {}",
        skipped.count
    );
    let meta = &files.iter().find(|f| f.0 == "meta.json").unwrap().1;
    let meta: serde_json::Value = serde_json::from_slice(meta).unwrap();
    let kept: u64 = ["train", "valid", "test"]
        .iter()
        .map(|s| meta["rows"][s].as_u64().unwrap())
        .sum();
    assert!((60..=120).contains(&kept), "{kept} rows kept");
}

#[test]
fn without_dedup_the_same_files_keep_every_row() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let dir = temp_dir("nodedup", 300);
    std::fs::write(dir.join("a.csv"), rows(3, 600)).unwrap();
    std::fs::write(dir.join("b.csv"), rows(4, 300)).unwrap();
    let cfg = config(&dir, &config_text().replace("dedup = true\n", ""));
    let (skipped, _) = assert_streams_like_memory(&cfg, &dir);
    assert_eq!(skipped.duplicates, 0);
}
