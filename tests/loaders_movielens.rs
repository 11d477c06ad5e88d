//! The MovieLens loader: the join of ratings with users and items (genres, Latin-1 titles,
//! missing ids), gzip and CRLF files, malformed lines, duplicates and the folder checks.

mod loaders_support;

use loaders_support::*;
use mtrec::config::data::Loader;
use mtrec::config::{BadRows, DataConfig};
use mtrec::data::loaders::{load_table, movielens};
use std::path::PathBuf;

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
