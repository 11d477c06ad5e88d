//! Data-set loaders: the MovieLens join (genres, Latin-1 titles, missing ids), the
//! Taobao per-pair aggregation (counts, cut-off last line), the header and funnel
//! checks of the Ali-CCP / AliExpress / KuaiRand readers, every preset in configs/
//! parsing, and (ignored by default) the real files in ../shared/data.

use mtrec::config::data::Loader;
use mtrec::config::{BadRows, DataConfig, RunConfig};
use mtrec::data::ingest::{read_table, RawTable};
use mtrec::data::loaders::{aliexpress_columns, load_table, movielens, taobao};
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh, empty folder in the temp folder.
fn temp_dir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("mtrec-loaders-{}-{n}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn texts(t: &RawTable, name: &str) -> Vec<String> {
    let c = t
        .column(name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", t.names));
    (0..c.len()).map(|r| c.get(r).to_string()).collect()
}

fn row(t: &RawTable, r: usize) -> Vec<String> {
    t.columns.iter().map(|c| c.get(r).to_string()).collect()
}

fn load_err(cfg: &DataConfig, dir: &Path, needed: &[&str]) -> String {
    match load_table(cfg, dir, needed) {
        Ok(t) => panic!("expected an error, read {} rows", t.num_rows()),
        Err(e) => e.to_string(),
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

// ---------------------------------------------------------------------------------
// MovieLens

const GENRES: &[u8] = b"unknown|0\nAction|1\nComedy|2\n\n";
const USERS: &[u8] = b"1|24|M|technician|85711\n2|53|F|other|94043\n";
/// Item 2's title is Latin-1: `Mis\xe9rables` is `Misérables`.
const ITEMS: &[u8] = b"1|Toy Story (1995)|01-Jan-1995||http://a|0|0|1\n\
2|Mis\xe9rables, Les (1995)|01-Jan-1995||http://b|0|1|1\n\
3|Nothing (1990)|||http://c|0|0|0\n";
const RATINGS: &[u8] = b"1\t2\t5\t881250949\n2\t1\t3\t891717742\n1\t3\t4\t878887116\n";

/// A MovieLens folder `ml` under a fresh data dir; `None` keeps the default file.
fn movielens_dir(
    tag: &str,
    users: Option<&[u8]>,
    items: Option<&[u8]>,
    ratings: Option<&[u8]>,
) -> PathBuf {
    let root = temp_dir(tag);
    let ml = root.join("ml");
    std::fs::create_dir_all(&ml).unwrap();
    std::fs::write(ml.join("u.genre"), GENRES).unwrap();
    std::fs::write(ml.join("u.user"), users.unwrap_or(USERS)).unwrap();
    std::fs::write(ml.join("u.item"), items.unwrap_or(ITEMS)).unwrap();
    std::fs::write(ml.join("u.data"), ratings.unwrap_or(RATINGS)).unwrap();
    root
}

fn movielens_cfg() -> DataConfig {
    DataConfig {
        files: vec!["ml".into()],
        loader: Loader::Movielens,
        ..Default::default()
    }
}

#[test]
fn movielens_joins_each_rating_with_its_user_and_item() {
    let dir = movielens_dir("join", None, None, None);
    let t = load_table(&movielens_cfg(), &dir, &[]).unwrap();
    assert_eq!(t.names, movielens::COLUMNS);
    assert_eq!(t.num_rows(), 3);
    assert_eq!(
        row(&t, 0),
        [
            "1",
            "2",
            "5",
            "881250949",
            "24",
            "M",
            "technician",
            "85711",
            "Misérables, Les (1995)",
            "01-Jan-1995",
            "Action|Comedy",
        ]
    );
    assert_eq!(
        row(&t, 1),
        [
            "2",
            "1",
            "3",
            "891717742",
            "53",
            "F",
            "other",
            "94043",
            "Toy Story (1995)",
            "01-Jan-1995",
            "Comedy"
        ]
    );
    // No genre flag set: empty (a missing value); no release date: empty.
    assert_eq!(texts(&t, "genres")[2], "");
    assert_eq!(texts(&t, "release_date")[2], "");
    assert_eq!(
        t.source.iter().map(|s| s.line).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(t.files.len(), 1);
    assert!(t.files[0].ends_with("u.data"), "{:?}", t.files);
    assert!(t.skipped.is_empty());
}

#[test]
fn movielens_keeps_the_needed_columns_in_order() {
    let dir = movielens_dir("needed", None, None, None);
    let t = load_table(
        &movielens_cfg(),
        &dir,
        &["genres", "user_id", "genres", "rating"],
    )
    .unwrap();
    assert_eq!(t.names, ["genres", "user_id", "rating"]);
    assert_eq!(texts(&t, "user_id"), ["1", "2", "1"]);
    // Interned: the user column holds 2 distinct texts for 3 rows.
    assert_eq!(t.column("user_id").unwrap().dict.len(), 2);
    let msg = load_err(&movielens_cfg(), &dir, &["genre"]);
    assert!(
        msg.contains("column `genre`") && msg.contains("user_id, item_id, rating"),
        "{msg}"
    );
}

#[test]
fn movielens_reads_gzip_and_crlf_files() {
    let crlf: Vec<u8> = String::from_utf8_lossy(RATINGS)
        .replace('\n', "\r\n")
        .into_bytes();
    let dir = movielens_dir("gz", None, None, Some(&gzip(&crlf)));
    let t = load_table(&movielens_cfg(), &dir, &["timestamp"]).unwrap();
    assert_eq!(
        texts(&t, "timestamp"),
        ["881250949", "891717742", "878887116"]
    );
}

#[test]
fn movielens_rating_of_an_unknown_item_or_user_is_an_error_naming_it() {
    let dir = movielens_dir("unknown", None, None, Some(b"1\t2\t5\t1\n1\t9\t4\t2\n"));
    let msg = load_err(&movielens_cfg(), &dir, &[]);
    assert!(
        msg.contains("u.data:2:2: field 2 (`item_id`): item 9 has no entry in u.item"),
        "{msg}"
    );
    assert!(msg.contains("3 items there"), "{msg}");
    let dir = movielens_dir("unknown-user", None, None, Some(b"7\t2\t5\t1\n"));
    let msg = load_err(&movielens_cfg(), &dir, &[]);
    assert!(
        msg.contains("u.data:1:1: field 1 (`user_id`): user 7 has no entry in u.user"),
        "{msg}"
    );
    // Under skip the rating is dropped and reported.
    let dir = movielens_dir(
        "unknown-skip",
        None,
        None,
        Some(b"1\t2\t5\t1\n1\t9\t4\t2\n"),
    );
    let cfg = DataConfig {
        bad_rows: BadRows::Skip,
        ..movielens_cfg()
    };
    let t = load_table(&cfg, &dir, &[]).unwrap();
    assert_eq!(t.num_rows(), 1);
    assert_eq!(t.skipped.count, 1);
    assert_eq!(t.skipped.first[0].line, 2);
    assert!(
        t.skipped.report().contains("item 9 has no entry"),
        "{}",
        t.skipped.report()
    );
}

#[test]
fn movielens_malformed_lines_name_file_line_and_field() {
    let dir = movielens_dir("short", None, None, Some(b"1\t2\t5\t1\n1\t3\t4\n"));
    let msg = load_err(&movielens_cfg(), &dir, &[]);
    assert!(msg.contains("u.data:2:1: row: 3 fields"), "{msg}");
    assert!(
        msg.contains("expected 4 fields (user_id, item_id, rating, timestamp)"),
        "{msg}"
    );
    assert!(msg.contains("bad_rows = \"skip\""), "{msg}");

    let dir = movielens_dir("rating", None, None, Some(b"1\t2\tfive\t1\n"));
    let msg = load_err(&movielens_cfg(), &dir, &[]);
    assert!(
        msg.contains("u.data:1:3: field 3 (`rating`): `five`; expected a number"),
        "{msg}"
    );

    let dir = movielens_dir(
        "uid",
        Some(b"1|24|M|technician|85711\nx|53|F|other|94043\n"),
        None,
        None,
    );
    let msg = load_err(&movielens_cfg(), &dir, &[]);
    assert!(
        msg.contains("u.user:2:1: field 1 (`id`): `x`; expected a whole number"),
        "{msg}"
    );

    let dir = movielens_dir(
        "dup",
        Some(b"1|24|M|technician|85711\n2|53|F|other|94043\n1|30|F|x|1\n"),
        None,
        None,
    );
    let msg = load_err(&movielens_cfg(), &dir, &[]);
    assert!(
        msg.contains("u.user:3:1") && msg.contains("line 1 defines user 1"),
        "{msg}"
    );

    let bad_flag =
        b"1|Toy Story (1995)|01-Jan-1995||http://a|0|0|1\n2|B|x||y|0|2|0\n3|C|||z|0|0|0\n";
    let dir = movielens_dir("flag", None, Some(bad_flag), None);
    let msg = load_err(&movielens_cfg(), &dir, &[]);
    assert!(
        msg.contains("u.item:2:7: field 7 (`Action`): `2`; expected a genre flag, 0 or 1"),
        "{msg}"
    );

    // Under skip the item line is reported, and so is the rating that refers to it.
    let cfg = DataConfig {
        bad_rows: BadRows::Skip,
        ..movielens_cfg()
    };
    let t = load_table(&cfg, &dir, &[]).unwrap();
    assert_eq!(t.num_rows(), 2);
    assert_eq!(t.skipped.count, 2);
    assert!(
        t.skipped.first[0].path.ends_with("u.item"),
        "{:?}",
        t.skipped.first
    );
    assert!(
        t.skipped.first[1].reason.contains("item 2 has no entry"),
        "{:?}",
        t.skipped.first
    );
}

#[test]
fn movielens_u_item_field_count_follows_u_genre() {
    let dir = movielens_dir("count", None, Some(b"1|A|||u|0|1\n"), None);
    let msg = load_err(&movielens_cfg(), &dir, &[]);
    assert!(msg.contains("u.item:1:1: row: 7 fields"), "{msg}");
    assert!(msg.contains("expected 8 fields"), "{msg}");
}

#[test]
fn movielens_dedup_drops_repeated_ratings() {
    let dir = movielens_dir(
        "dedup",
        None,
        None,
        Some(b"1\t2\t5\t1\n1\t2\t5\t1\n2\t1\t3\t2\n"),
    );
    let cfg = DataConfig {
        dedup: true,
        ..movielens_cfg()
    };
    let t = load_table(&cfg, &dir, &["user_id"]).unwrap();
    assert_eq!(t.num_rows(), 2);
    assert_eq!(t.skipped.duplicates, 1);
}

#[test]
fn movielens_checks_folder_header_and_columns() {
    let dir = movielens_dir("folder", None, None, None);
    let cfg = DataConfig {
        files: vec!["nope".into()],
        ..movielens_cfg()
    };
    let msg = load_err(&cfg, &dir, &[]);
    assert!(
        msg.contains("is not a folder") && msg.contains("u.data, u.user, u.item"),
        "{msg}"
    );

    let cfg = DataConfig {
        header: true,
        ..movielens_cfg()
    };
    let msg = load_err(&cfg, &dir, &[]);
    assert!(
        msg.contains("data.header") && msg.contains("columns = [\"user_id\""),
        "{msg}"
    );

    let cfg = DataConfig {
        columns: Some(vec!["user_id".into()]),
        ..movielens_cfg()
    };
    let msg = load_err(&cfg, &dir, &[]);
    assert!(
        msg.contains("data.columns") && msg.contains("\"genres\"]"),
        "{msg}"
    );

    // The loader's own list, in any order, is accepted.
    let mut cols: Vec<String> = movielens::COLUMNS
        .iter()
        .rev()
        .map(|s| s.to_string())
        .collect();
    cols.rotate_left(3);
    let cfg = DataConfig {
        columns: Some(cols),
        ..movielens_cfg()
    };
    assert_eq!(load_table(&cfg, &dir, &[]).unwrap().num_rows(), 3);
}

// ---------------------------------------------------------------------------------
// Taobao

/// Five events of three (user, item) pairs, then a line cut off mid-row.
const EVENTS: &[u8] = b"1,10,100,pv,1000\n1,10,100,cart,900\n1,11,101,pv,1100\n2,10,100,buy,1200\n1,10,100,pv,1300\n2,10";

fn taobao_cfg(policy: BadRows) -> DataConfig {
    DataConfig {
        files: vec!["ub.csv".into()],
        loader: Loader::Taobao,
        bad_rows: policy,
        ..Default::default()
    }
}

fn taobao_dir(tag: &str, bytes: &[u8]) -> PathBuf {
    let dir = temp_dir(tag);
    std::fs::write(dir.join("ub.csv"), bytes).unwrap();
    dir
}

#[test]
fn taobao_aggregates_events_per_user_and_item() {
    let dir = taobao_dir("agg", EVENTS);
    let t = load_table(&taobao_cfg(BadRows::Skip), &dir, &[]).unwrap();
    assert_eq!(t.names, taobao::COLUMNS);
    assert_eq!(t.num_rows(), 3);
    //            user  item  cat    click cart fav  buy  first   n
    assert_eq!(
        row(&t, 0),
        ["1", "10", "100", "1", "1", "0", "0", "900", "3"]
    );
    assert_eq!(
        row(&t, 1),
        ["1", "11", "101", "1", "0", "0", "0", "1100", "1"]
    );
    assert_eq!(
        row(&t, 2),
        ["2", "10", "100", "0", "0", "0", "1", "1200", "1"]
    );
    // Each pair's source is its first event's line.
    assert_eq!(
        t.source.iter().map(|s| s.line).collect::<Vec<_>>(),
        [1, 3, 4]
    );
}

#[test]
fn taobao_cut_off_last_line_is_reported_under_skip() {
    let dir = taobao_dir("cut-skip", EVENTS);
    let t = load_table(&taobao_cfg(BadRows::Skip), &dir, &["n_events"]).unwrap();
    assert_eq!(t.skipped.count, 1);
    let s = &t.skipped.first[0];
    assert_eq!(s.line, 6);
    assert_eq!(s.text, "2,10");
    assert!(
        s.reason.contains("2 fields") && s.reason.contains("looks cut off"),
        "{}",
        s.reason
    );
    // The cut event counts in no pair.
    let n: u64 = texts(&t, "n_events")
        .iter()
        .map(|x| x.parse::<u64>().unwrap())
        .sum();
    assert_eq!(n, 5);
    assert!(
        t.skipped.report().contains("skipped 1 malformed row"),
        "{}",
        t.skipped.report()
    );
}

#[test]
fn taobao_cut_off_last_line_stops_the_run_under_error() {
    let dir = taobao_dir("cut-error", EVENTS);
    let msg = load_err(&taobao_cfg(BadRows::Error), &dir, &[]);
    assert!(msg.contains("ub.csv:6:1: row: 2 fields `2,10`"), "{msg}");
    assert!(msg.contains("looks cut off"), "{msg}");
    assert!(
        msg.contains("expected 5 fields (user, item, category, behavior, timestamp)"),
        "{msg}"
    );
}

#[test]
fn taobao_bad_values_name_the_field() {
    let dir = taobao_dir("behavior", b"1,10,100,pv,1000\n1,10,100,click,1001\n");
    let msg = load_err(&taobao_cfg(BadRows::Error), &dir, &[]);
    assert!(
        msg.contains(
            "ub.csv:2:4: field 4 (`behavior`): `click`; expected one of pv, cart, fav, buy"
        ),
        "{msg}"
    );
    let dir = taobao_dir("time", b"1,10,100,pv,soon\n");
    let msg = load_err(&taobao_cfg(BadRows::Error), &dir, &[]);
    assert!(
        msg.contains("ub.csv:1:5: field 5 (`timestamp`): `soon`; expected a whole number"),
        "{msg}"
    );
}

#[test]
fn taobao_reads_gzip_dedups_and_spans_files() {
    let dir = temp_dir("multi");
    std::fs::write(
        dir.join("a.csv.gz"),
        gzip(b"1,10,100,pv,1000\n1,10,100,pv,1000\n"),
    )
    .unwrap();
    std::fs::write(dir.join("b.csv"), b"1,10,100,fav,500\n3,12,102,pv,7\n").unwrap();
    let cfg = DataConfig {
        files: vec!["a.csv.gz".into(), "b.csv".into()],
        dedup: true,
        ..taobao_cfg(BadRows::Error)
    };
    let t = load_table(&cfg, &dir, &["user_id", "fav", "first_time", "n_events"]).unwrap();
    assert_eq!(t.skipped.duplicates, 1);
    assert_eq!(row(&t, 0), ["1", "1", "500", "2"]);
    assert_eq!(row(&t, 1), ["3", "0", "7", "1"]);
    assert_eq!((t.source[0].file, t.source[1].file), (0, 1));
}

// ---------------------------------------------------------------------------------
// Ali-CCP, AliExpress, KuaiRand

fn csv_cfg(loader: Loader, files: &[&str]) -> DataConfig {
    DataConfig {
        files: files.iter().map(|s| s.to_string()).collect(),
        loader,
        header: true,
        ..Default::default()
    }
}

#[test]
fn ali_ccp_reads_with_header_and_checks_the_funnel() {
    let dir = temp_dir("ccp");
    // No line end after the last row, as in the published samples.
    std::fs::write(
        dir.join("a.csv"),
        "click,purchase,101,D508\n1,1,5,0.1\n0,0,6,0.2\n1,0,7,0.3",
    )
    .unwrap();
    std::fs::write(dir.join("b.csv"), "click,purchase,101,D508\n0,1,8,0.4\n").unwrap();
    let cfg = csv_cfg(Loader::AliCcp, &["a.csv"]);
    let t = load_table(&cfg, &dir, &[]).unwrap();
    assert_eq!(t.names, ["click", "purchase", "101", "D508"]);
    assert_eq!(t.num_rows(), 3);
    // Columns needed only for the funnel check are not kept.
    let t = load_table(&cfg, &dir, &["D508", "101"]).unwrap();
    assert_eq!(t.names, ["D508", "101"]);

    let cfg = csv_cfg(Loader::AliCcp, &["a.csv", "b.csv"]);
    let msg = load_err(&cfg, &dir, &["101"]);
    assert!(
        msg.contains("b.csv:2:2: column `purchase`: `1` while `click` is `0`"),
        "{msg}"
    );
    let cfg = DataConfig {
        bad_rows: BadRows::Skip,
        ..cfg
    };
    let t = load_table(&cfg, &dir, &["101"]).unwrap();
    assert_eq!(texts(&t, "101"), ["5", "6", "7"]);
    assert_eq!(t.skipped.count, 1);
    assert_eq!(t.skipped.first[0].line, 2);
}

#[test]
fn ali_ccp_wrong_header_fails_at_the_header() {
    let dir = temp_dir("ccp-header");
    std::fs::write(dir.join("a.csv"), "purchase,click,101\n0,0,1\n").unwrap();
    let msg = load_err(&csv_cfg(Loader::AliCcp, &["a.csv"]), &dir, &[]);
    assert!(
        msg.contains("a.csv:1:1: header: column 1 is `purchase`"),
        "{msg}"
    );
    assert!(msg.contains("`click, purchase`"), "{msg}");
}

fn aliexpress_file(header: &[String], rows: &[(u8, u8)]) -> String {
    let mut s = header.join(",");
    s.push('\n');
    for (i, (click, conv)) in rows.iter().enumerate() {
        let mut f: Vec<String> = vec![i.to_string()];
        f.extend((0..16).map(|c| (c % 3).to_string()));
        f.extend((0..63).map(|c| format!("0.{c}")));
        f.push(click.to_string());
        f.push(conv.to_string());
        s.push_str(&f.join(","));
        s.push('\n');
    }
    s
}

#[test]
fn aliexpress_checks_the_exact_layout_and_the_funnel() {
    let cols = aliexpress_columns();
    assert_eq!(cols.len(), 82);
    let dir = temp_dir("ae");
    std::fs::write(
        dir.join("ok.csv"),
        aliexpress_file(&cols, &[(1, 1), (1, 0), (0, 0)]),
    )
    .unwrap();
    let t = load_table(
        &csv_cfg(Loader::Aliexpress, &["ok.csv"]),
        &dir,
        &["categorical_3", "numerical_63"],
    )
    .unwrap();
    assert_eq!(t.num_rows(), 3);
    assert_eq!(t.names, ["categorical_3", "numerical_63"]);

    std::fs::write(
        dir.join("funnel.csv"),
        aliexpress_file(&cols, &[(1, 0), (0, 1)]),
    )
    .unwrap();
    let msg = load_err(&csv_cfg(Loader::Aliexpress, &["funnel.csv"]), &dir, &[]);
    assert!(
        msg.contains("funnel.csv:3:82: column `conversion`"),
        "{msg}"
    );

    let mut short = cols.clone();
    short.pop();
    let mut body = aliexpress_file(&short, &[]);
    body.push('\n');
    std::fs::write(dir.join("short.csv"), body).unwrap();
    let msg = load_err(&csv_cfg(Loader::Aliexpress, &["short.csv"]), &dir, &[]);
    assert!(
        msg.contains("short.csv:1:81: header: 81 columns, missing `conversion`"),
        "{msg}"
    );
}

#[test]
fn kuairand_requires_its_key_columns() {
    let dir = temp_dir("kr");
    std::fs::write(
        dir.join("ok.csv"),
        "user_id,video_id,is_click,play_time_ms,duration_ms,tab\n0,5,1,863,30066,1\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("bad.csv"),
        "user_id,video_id,is_click,duration_ms\n0,5,1,30066\n",
    )
    .unwrap();
    let t = load_table(
        &csv_cfg(Loader::Kuairand, &["ok.csv"]),
        &dir,
        &["is_click", "play_time_ms"],
    )
    .unwrap();
    assert_eq!(row(&t, 0), ["1", "863"]);
    let msg = load_err(&csv_cfg(Loader::Kuairand, &["bad.csv"]), &dir, &[]);
    assert!(
        msg.contains("bad.csv:1:1: header: no column `play_time_ms`"),
        "{msg}"
    );
}

#[test]
fn csv_loader_is_the_plain_reader() {
    let dir = temp_dir("csv");
    std::fs::write(dir.join("x.csv"), "a,b\n1,2\n3,4\n").unwrap();
    let cfg = csv_cfg(Loader::Csv, &["x.csv"]);
    assert_eq!(
        load_table(&cfg, &dir, &["b"]).unwrap(),
        read_table(&cfg, &dir, &["b"]).unwrap()
    );
}

// ---------------------------------------------------------------------------------
// Configuration

fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("configs")
}

#[test]
fn every_preset_parses() {
    let mut n = 0;
    for entry in std::fs::read_dir(configs_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            // `mtrec seq` presets have their own format (tests/sequences.rs parses them)
            if path.to_string_lossy().contains("sasrec") {
                continue;
            }
            if let Err(e) = RunConfig::from_file(&path, &[]) {
                panic!("{}: {e}", path.display());
            }
            n += 1;
        }
    }
    assert!(n >= 9, "found only {n} presets in configs/");
}

#[test]
fn presets_use_their_loaders() {
    let expect = [
        ("movielens_mmoe.toml", Loader::Movielens),
        ("taobao_mmoe.toml", Loader::Taobao),
        ("ali_ccp_esmm.toml", Loader::AliCcp),
        ("aliexpress_mmoe.toml", Loader::Aliexpress),
        ("kuairand_mmoe.toml", Loader::Kuairand),
        ("census_mmoe.toml", Loader::Csv),
    ];
    for (file, loader) in expect {
        let cfg = RunConfig::from_file(configs_dir().join(file), &[]).unwrap();
        assert_eq!(cfg.data.loader, loader, "{file}");
        // The resolved configuration keeps the loader.
        let again = RunConfig::from_str(&cfg.to_toml_string().unwrap(), file, &[]).unwrap();
        assert_eq!(again, cfg, "{file}");
    }
}

#[test]
fn loader_key_defaults_to_csv_and_rejects_unknown_names() {
    let text = "[data]\nfiles = [\"a.csv\"]\ncolumns = [\"x\", \"y\"]\n\n[[features]]\nname = \"x\"\nkind = \"numeric\"\n\n[[tasks]]\nname = \"y\"\ntype = \"binary\"\ncolumn = \"y\"\n";
    assert_eq!(
        RunConfig::from_str(text, "x.toml", &[])
            .unwrap()
            .data
            .loader,
        Loader::Csv
    );
    let cfg = RunConfig::from_str(text, "x.toml", &["data.loader=ali_ccp".into()]).unwrap();
    assert_eq!(cfg.data.loader, Loader::AliCcp);
    let bad = text.replace("[data]\n", "[data]\nloader = \"movielenz\"\n");
    let msg = RunConfig::from_str(&bad, "x.toml", &[])
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with("x.toml:2:10: key `data.loader`"), "{msg}");
    assert!(msg.contains("movielens"), "{msg}");
}

// ---------------------------------------------------------------------------------
// The real data sets in ../shared/data (run with MTREC_DATA=../shared/data --ignored)

/// `MTREC_DATA`: the shared data folder (`../shared/data` from the project root).
fn shared_data() -> PathBuf {
    let dir = std::env::var("MTREC_DATA").unwrap_or_else(|_| {
        panic!("set MTREC_DATA to the shared data folder (e.g. MTREC_DATA=../shared/data) to run this test")
    });
    let dir = PathBuf::from(dir);
    assert!(
        dir.is_dir(),
        "MTREC_DATA={} is not a folder; point it at ../shared/data",
        dir.display()
    );
    dir
}

/// The `[data]` section of a preset.
fn preset(file: &str) -> RunConfig {
    RunConfig::from_file(configs_dir().join(file), &[]).unwrap()
}

/// Rows per file of `t`, in file order.
fn rows_per_file(t: &RawTable) -> Vec<usize> {
    let mut n = vec![0; t.files.len()];
    for s in &t.source {
        n[s.file as usize] += 1;
    }
    n
}

fn distinct(t: &RawTable, name: &str) -> usize {
    t.column(name)
        .unwrap()
        .values
        .iter()
        .collect::<HashSet<_>>()
        .len()
}

#[test]
#[ignore = "needs ../shared/data (set MTREC_DATA)"]
fn real_movielens_100k() {
    let cfg = preset("movielens_mmoe.toml");
    let t = load_table(&cfg.data, &shared_data(), &[]).unwrap();
    assert_eq!(t.num_rows(), 100_000);
    assert_eq!(distinct(&t, "user_id"), 943);
    assert_eq!(distinct(&t, "item_id"), 1_682);
    assert!(t.skipped.is_empty(), "{}", t.skipped.report());
    let titles = texts(&t, "title");
    assert!(
        titles.iter().any(|x| x == "Misérables, Les (1995)"),
        "Latin-1 title not decoded"
    );
    let first = row(&t, 0); // u.data line 1: 196 242 3 881250949
    assert_eq!(&first[..4], ["196", "242", "3", "881250949"]);
    assert_eq!(first[8], "Kolya (1996)");
    assert_eq!(first[10], "Comedy");
    // With the preset's own needed columns.
    let t = load_table(&cfg.data, &shared_data(), &cfg.needed_columns()).unwrap();
    assert_eq!(t.num_rows(), 100_000);
    cfg.validate_columns(&t.names).unwrap();
}

#[test]
#[ignore = "needs ../shared/data (set MTREC_DATA)"]
fn real_taobao_pairs_and_cut_off_row() {
    let cfg = preset("taobao_mmoe.toml");
    assert_eq!(cfg.data.bad_rows, BadRows::Skip);
    let t = load_table(&cfg.data, &shared_data(), &[]).unwrap();
    eprintln!("taobao: {} (user, item) pairs", t.num_rows());
    eprint!("{}", t.skipped.report());
    assert_eq!(t.num_rows(), 63_988);
    assert_eq!(distinct(&t, "user_id"), 815);
    assert_eq!(t.skipped.count, 1);
    let cut = &t.skipped.first[0];
    assert_eq!(cut.line, 84_476);
    assert!(cut.reason.contains("cut off"), "{}", cut.reason);
    let sum = |name: &str| -> u64 {
        texts(&t, name)
            .iter()
            .map(|x| x.parse::<u64>().unwrap())
            .sum()
    };
    assert_eq!(sum("n_events"), 84_475);
    // Every pair has at least one behaviour; pairs with a page view ≤ 75,872 pv events.
    assert!(
        sum("click") <= 75_872 && sum("buy") <= 1_750,
        "click {} buy {}",
        sum("click"),
        sum("buy")
    );
    let error = DataConfig {
        bad_rows: BadRows::Error,
        ..cfg.data.clone()
    };
    let msg = load_err(&error, &shared_data(), &[]);
    assert!(
        msg.contains("UserBehavior-prefix.csv:84476:1: row: 4 fields"),
        "{msg}"
    );
}

#[test]
#[ignore = "needs ../shared/data (set MTREC_DATA)"]
fn real_samples_read_with_their_presets() {
    for (file, per_file) in [
        ("ali_ccp_esmm.toml", vec![100, 50, 50]),
        ("aliexpress_mmoe.toml", vec![100, 20]),
        ("kuairand_mmoe.toml", vec![200]),
    ] {
        let cfg = preset(file);
        let t = load_table(&cfg.data, &shared_data(), &cfg.needed_columns()).unwrap();
        assert_eq!(rows_per_file(&t), per_file, "{file}");
        assert!(t.skipped.is_empty(), "{file}: {}", t.skipped.report());
        cfg.validate_columns(&t.names)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
    }
}

#[test]
#[ignore = "needs ../shared/data (set MTREC_DATA)"]
fn real_presets_go_through_the_feature_pipeline() {
    for file in [
        "movielens_mmoe.toml",
        "taobao_mmoe.toml",
        "ali_ccp_esmm.toml",
        "aliexpress_mmoe.toml",
        "kuairand_mmoe.toml",
    ] {
        let cfg = preset(file);
        let t = load_table(&cfg.data, &shared_data(), &cfg.needed_columns()).unwrap();
        let p = mtrec::data::features::prepare(
            &t,
            &cfg.features,
            &cfg.tasks,
            &cfg.split,
            &cfg.data.missing_values,
        )
        .unwrap_or_else(|e| panic!("{file}: {e}"));
        eprintln!("== {file}\n{}", p.report);
        assert_eq!(
            p.train.len() + p.valid.len() + p.test.len(),
            t.num_rows(),
            "{file}"
        );
        assert!(!p.train.is_empty() && !p.test.is_empty(), "{file}");
    }
}
