//! Issue #17 §1: `[split] kind = "temporal"` and `"item_holdout"` stream into the cache
//! (src/data/cache/build/split_scan.rs, split_order.rs): the cache folder is the
//! in-memory build's (`MTREC_STREAM=0`) byte for byte at 1–3 threads, with rows out of
//! time order across chunks and files, equal times (ties), negative and fractional
//! times, bad rows (malformed, a time that is not a number, a bad price) skipped,
//! missing values, a multi-hot feature, a text feature, `min_count`, and `data.dedup`.

mod s9text_support;

use s9text_support::{assert_streams_like_memory, build, config, temp_dir, xorshift, ENV};
use s9text_support::{
    cache_meta, file_bytes, numeric, text_of, user_item, CLICK_BUY_TASKS, TINY_SHARED_BOTTOM,
};

/// `n` rows: user, item, tags (multi-hot), title (text), price, time, click, buy.
/// Times come from 40 values (many ties), not in file order; every 61st row is
/// malformed, every 67th has the time `soon`, every 71st the price `abc`; every 13th
/// price and every 17th tag list are missing (`NA`); `dup_every` > 0 repeats an
/// earlier row that often.
fn rows(seed: u64, n: usize, dup_every: usize) -> String {
    let mut next = xorshift(seed);
    let mut s = String::from("user,item,tags,title,price,time,click,buy\n");
    let mut lines: Vec<String> = Vec::new();
    for i in 0..n {
        if i % 61 == 5 {
            s += "u1,i2,3\n"; // malformed: 3 fields
            continue;
        }
        if dup_every > 0 && i % dup_every == 3 && !lines.is_empty() {
            let again = lines[(next() % lines.len() as u64) as usize].clone();
            s += &again;
            continue;
        }
        let (u, it) = (next() % 30, next() % 50);
        let tags = if i % 17 == 2 {
            "NA".to_string()
        } else {
            format!("t{}|t{}|NA", next() % 9, it % 6)
        };
        let price = match i {
            _ if i % 71 == 9 => "abc".to_string(),
            _ if i % 13 == 4 => "NA".to_string(),
            _ => format!("{}", (next() % 1000) as f64 / 8.0),
        };
        let time = if i % 67 == 8 {
            "soon".to_string()
        } else {
            let t = (next() % 40) as f64 * 0.5 - 3.0; // −3 .. 16.5, ties
            format!("{t}")
        };
        let click = (u + it) % 3 == 0;
        let buy = if i % 7 == 0 {
            "NA".to_string()
        } else {
            ((click && u % 2 == 0) as u8).to_string()
        };
        let line = format!(
            "u{u},i{it},{tags},title of i{},{price},{time},{},{buy}\n",
            it % 20,
            click as u8
        );
        lines.push(line.clone());
        s += &line;
    }
    s
}

fn config_text(split: &str, dedup: bool) -> String {
    let user_item = user_item(3);
    let (title, price) = (text_of("title", "text"), numeric("price"));
    format!(
        r#"
[data]
files = ["a.csv", "b.csv"]
header = true
missing_values = ["NA"]
bad_rows = "skip"
dedup = {dedup}

{user_item}[[features]]
name = "tags"
kind = "multi_hot"
separator = "|"
dim = 3
[[features]]
name = "title"
kind = "categorical"
dim = 4
{title}{price}
{CLICK_BUY_TASKS}
[split]
{split}

{TINY_SHARED_BOTTOM}"#
    )
}

pub const TEMPORAL: &str = "kind = \"temporal\"\ntime_column = \"time\"\ntrain = 0.6\nvalid = 0.2";
pub const HOLDOUT: &str =
    "kind = \"item_holdout\"\nitem_column = \"item\"\nholdout = 0.2\nseed = 11\ntrain = 0.7\nvalid = 0.1";

#[test]
fn a_temporal_split_streams_to_the_in_memory_bytes() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let dir = temp_dir("s10-temporal", 700);
    // the first bad row: a time that is not a number
    let a = rows(3, 1500, 0).replacen('\n', "\nu1,i1,t1,title of i1,2.5,soon,1,0\n", 1);
    std::fs::write(dir.join("a.csv"), a).unwrap();
    std::fs::write(dir.join("b.csv"), rows(4, 900, 0)).unwrap();
    let cfg = config(&dir, &config_text(TEMPORAL, false));
    let (skipped, files) = assert_streams_like_memory(&cfg, &dir);
    // malformed rows, `soon` times and `abc` prices
    assert!(skipped.count > 60, "{} skipped", skipped.count);
    // the rows whose time is `soon` are skipped too: more than under a random split
    let random = "kind = \"random\"\nseed = 1";
    let cfg = config(&dir, &config_text(random, false));
    let (_, _, random) = build(&cfg, &dir, "random", 1, false).unwrap();
    assert!(
        skipped.count > random.count + 30,
        "{} vs {}",
        skipped.count,
        random.count
    );
    let rows = cache_meta(&files)["rows"].clone();
    assert!(rows["train"].as_u64().unwrap() > 1000, "{rows}");
    assert_eq!(rows["cold"], 0);
}

#[test]
fn a_temporal_split_with_dedup_streams_to_the_in_memory_bytes() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let dir = temp_dir("s10-temporal-dedup", 500);
    std::fs::write(dir.join("a.csv"), rows(5, 1200, 4)).unwrap();
    std::fs::write(dir.join("b.csv"), rows(6, 600, 5)).unwrap();
    let cfg = config(&dir, &config_text(TEMPORAL, true));
    let (skipped, _) = assert_streams_like_memory(&cfg, &dir);
    assert!(
        skipped.duplicates > 200,
        "{} duplicates",
        skipped.duplicates
    );
}

#[test]
fn an_item_holdout_split_streams_to_the_in_memory_bytes() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let dir = temp_dir("s10-holdout", 700);
    std::fs::write(dir.join("a.csv"), rows(7, 1500, 0)).unwrap();
    std::fs::write(dir.join("b.csv"), rows(8, 900, 6)).unwrap();
    for dedup in [false, true] {
        let cfg = config(&dir, &config_text(HOLDOUT, dedup));
        let (_, files) = assert_streams_like_memory(&cfg, &dir);
        let rows = cache_meta(&files)["rows"].clone();
        assert!(rows["cold"].as_u64().unwrap() > 100, "{rows}");
        let report = String::from_utf8_lossy(file_bytes(&files, "meta.json"));
        assert!(report.contains("cold"), "the report lists no cold set");
        for d in ["mem", "t1", "t2", "t3"] {
            let _ = std::fs::remove_dir_all(dir.join(d));
        }
    }
}

#[test]
fn a_missing_time_is_the_in_memory_error_in_both_builds() {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let dir = temp_dir("s10-notime", 700);
    let mut a = rows(9, 900, 0);
    a += "u1,i1,t1,title of i1,2.5,NA,1,0\n"; // a missing time: no row may lack one
    std::fs::write(dir.join("a.csv"), a).unwrap();
    std::fs::write(dir.join("b.csv"), rows(10, 300, 0)).unwrap();
    let cfg = config(&dir, &config_text(TEMPORAL, false));
    let Err(mem) = build(&cfg, &dir, "mem", 2, false) else {
        panic!("the in-memory build accepted a row without a time")
    };
    for threads in 1..=3 {
        let Err(got) = build(&cfg, &dir, &format!("t{threads}"), threads, true) else {
            panic!("the streamed build accepted a row without a time")
        };
        assert_eq!(got.to_string(), mem.to_string());
    }
    assert!(mem.to_string().contains("a.csv:"), "{mem}");
    assert!(mem.to_string().contains("temporal split"), "{mem}");
}
