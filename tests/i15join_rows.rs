//! Issue #15, side tables: `[[data.join]]` row by row through `load_table`: joined
//! values, a key missing from the side table (error at file:line, or skip and count),
//! a repeated side key (both lines), a clashing column (suggests `prefix`), missing
//! keys, the reader's formats and limits, and the data fingerprint.

use mtrec::config::RunConfig;
use mtrec::data::fingerprint::{changes_since_training, fingerprint, write_data_files};
use mtrec::data::loaders::load_table;
use std::io::Write;
use std::path::Path;

mod i15join_support;

use i15join_support::{config, tables, temp_dir, write_tables, JOINS};

fn cfg(data_extra: &str, joins: &str) -> RunConfig {
    RunConfig::from_str(&config("interactions.csv", data_extra, joins), "test", &[]).unwrap()
}

fn load(c: &RunConfig, dir: &Path) -> mtrec::Result<mtrec::data::ingest::RawTable> {
    load_table(&c.data, dir, &c.needed_columns())
}

fn col(t: &mtrec::data::ingest::RawTable, name: &str) -> Vec<String> {
    let c = t.column(name).unwrap_or_else(|| panic!("no column {name}"));
    (0..t.num_rows()).map(|r| c.get(r).to_string()).collect()
}

#[test]
fn joined_columns_equal_the_pre_joined_file_row_by_row() {
    let dir = temp_dir("rows-equal");
    write_tables(&dir, 50);
    let c = cfg("", JOINS);
    let t = load(&c, &dir).unwrap();
    let pre = RunConfig::from_str(&config("joined.csv", "", ""), "test", &[]).unwrap();
    let want = load(&pre, &dir).unwrap();
    assert_eq!(t.num_rows(), 50);
    assert_eq!(t.names, c.needed_columns(), "columns as needed, in order");
    for name in &want.names {
        assert_eq!(col(&t, name), col(&want, name), "column {name}");
    }
    // each row keeps its own file and line
    assert_eq!(
        t.locate(0),
        format!("{}:2", dir.join("interactions.csv").display())
    );
    assert!(t.skipped.is_empty());
}

#[test]
fn a_key_missing_from_the_side_table_is_an_error_at_its_file_and_line() {
    let dir = temp_dir("rows-missing");
    write_tables(&dir, 30);
    let path = dir.join("interactions.csv");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("u1,999,1,3.0\n"); // line 32
    std::fs::write(&path, text).unwrap();
    let err = load(&cfg("", JOINS), &dir).unwrap_err().to_string();
    assert!(
        err.contains(&format!("{}:32:2", path.display())),
        "file:line:field in {err}"
    );
    assert!(err.contains("`999`") && err.contains("items.csv"), "{err}");
    assert!(err.contains("bad_rows = \"skip\""), "the fix: {err}");
}

#[test]
fn under_skip_rows_with_unknown_keys_are_dropped_counted_and_listed() {
    let dir = temp_dir("rows-skip");
    write_tables(&dir, 30);
    let path = dir.join("interactions.csv");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("u1,999,1,3.0\nu77,100,0,2.0\nu2,101,1,4.0\n"); // lines 32, 33, 34
    std::fs::write(&path, text).unwrap();
    let t = load(&cfg("bad_rows = \"skip\"", JOINS), &dir).unwrap();
    assert_eq!(t.num_rows(), 31, "two rows dropped, the good one kept");
    assert_eq!(t.skipped.count, 2);
    let lines: Vec<u64> = t.skipped.first.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![32, 33]);
    assert!(t.skipped.first[0].reason.contains("`999`"));
    assert!(t.skipped.first[0].reason.contains("items.csv"));
    assert!(t.skipped.first[1].reason.contains("`u77`"));
    assert!(t.skipped.first[1].reason.contains("users.csv"));
    assert!(t.skipped.report().contains("skipped 2 malformed rows"));
    // the kept last row got its own item and user
    let last = t.num_rows() - 1;
    assert_eq!(col(&t, "item_id")[last], "101");
    assert_eq!(col(&t, "price")[last], "7.5");
    assert_eq!(col(&t, "user_age")[last], "28");
}

#[test]
fn a_repeated_key_in_a_side_table_names_both_lines() {
    let dir = temp_dir("rows-dup");
    write_tables(&dir, 10);
    let items = dir.join("items.csv");
    let mut text = std::fs::read_to_string(&items).unwrap();
    text.push_str("110,Other film,Drama,1.0\n"); // line 17; 110 is on line 6
    std::fs::write(&items, text).unwrap();
    let err = load(&cfg("", JOINS), &dir).unwrap_err().to_string();
    let shown = items.display().to_string();
    assert!(err.contains(&format!("{shown}:6")), "first line in {err}");
    assert!(err.contains(&format!("{shown}:17")), "second line in {err}");
    assert!(err.contains("`110`"), "{err}");
    // also under skip: a side table with two rows for a key is not a row problem
    let err = load(&cfg("bad_rows = \"skip\"", JOINS), &dir)
        .unwrap_err()
        .to_string();
    assert!(err.contains(&format!("{shown}:17")), "{err}");
}

#[test]
fn a_side_column_that_clashes_is_an_error_suggesting_a_prefix() {
    let dir = temp_dir("rows-clash");
    write_tables(&dir, 10);
    // users.csv without a prefix: no clash yet, but a users table with `click` clashes
    std::fs::write(dir.join("users.csv"), "user_id,click\nu1,3\n").unwrap();
    let joins = JOINS.replace("prefix = \"user_\"", "");
    let err = load(&cfg("", &joins), &dir).unwrap_err().to_string();
    assert!(
        err.contains("data.join[1]") && err.contains("`click`"),
        "{err}"
    );
    assert!(
        err.contains("prefix = \"user_\""),
        "suggests a prefix: {err}"
    );
    // two side tables giving the same name
    std::fs::write(dir.join("users.csv"), "user_id,genre\nu1,x\n").unwrap();
    let err = load(&cfg("", &joins), &dir).unwrap_err().to_string();
    assert!(
        err.contains("data.join[0]") && err.contains("`genre`"),
        "{err}"
    );
    assert!(err.contains("prefix"), "{err}");
}

#[test]
fn a_missing_key_joins_missing_values_and_take_left_on_right_on_work() {
    let dir = temp_dir("rows-take");
    std::fs::write(
        dir.join("interactions.csv"),
        "user_id,movie,click,rating\nu1,7,1,2.0\nu2,,0,3.0\nu1,8,1,4.0\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("movies.tsv"),
        "id\tgenre\tprice\tjunk\n8\tAction\t2.5\tx\n7\tDrama\t1.5\ty\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("users.csv"),
        "user_id,age,gender\nu1,30,F\nu2,40,M\n",
    )
    .unwrap();
    let joins = r#"
[[data.join]]
file = "movies.tsv"
format = "tsv"
left_on = "movie"
right_on = "id"
take = ["genre", "price"]
[[data.join]]
file = "users.csv"
on = "user_id"
prefix = "user_"
"#;
    let text = config("interactions.csv", "", joins).replace("\"item_id\"", "\"movie\"");
    let c = RunConfig::from_str(&text, "test", &[]).unwrap();
    let t = load(&c, &dir).unwrap();
    assert_eq!(col(&t, "genre"), vec!["Drama", "", "Action"]);
    assert_eq!(col(&t, "price"), vec!["1.5", "", "2.5"]);
    assert_eq!(col(&t, "user_gender"), vec!["F", "M", "F"]);
    assert!(t.column("junk").is_none());
    // the resolved config, joins included, loads back equal
    let again = RunConfig::from_str(&c.to_toml_string().unwrap(), "resolved", &[]).unwrap();
    assert_eq!(again, c);
}

#[test]
fn side_tables_are_read_by_the_ingest_reader_gzip_and_limits_included() {
    let dir = temp_dir("rows-gzip");
    write_tables(&dir, 20);
    let t = tables(20);
    let gz = std::fs::File::create(dir.join("items.csv.gz")).unwrap();
    let mut enc = flate2::write::GzEncoder::new(gz, flate2::Compression::default());
    enc.write_all(t.items.as_bytes()).unwrap();
    enc.finish().unwrap();
    let joins = JOINS.replace("items.csv", "items.csv.gz");
    let zipped = load(&cfg("", &joins), &dir).unwrap();
    let plain = load(&cfg("", JOINS), &dir).unwrap();
    assert_eq!(col(&zipped, "genre"), col(&plain, "genre"));

    // [data]'s limits hold for side tables: an over-long line names the key
    let long = format!(
        "item_id,title,genre,price\n100,\"{}\",Drama,1.0\n",
        "x".repeat(300)
    );
    std::fs::write(dir.join("items.csv"), long).unwrap();
    let err = load(&cfg("max_line_bytes = 200", JOINS), &dir)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("items.csv:2") && err.contains("data.max_line_bytes"),
        "{err}"
    );

    // a malformed side row under skip is dropped and counted with the rows
    let mut items = t.items.clone();
    items.push_str("bad,row\n");
    std::fs::write(dir.join("items.csv"), items).unwrap();
    let t = load(&cfg("bad_rows = \"skip\"", JOINS), &dir).unwrap();
    assert_eq!(t.skipped.count, 1);
    assert!(t.skipped.first[0].path.ends_with("items.csv"));
}

#[test]
fn the_data_fingerprint_covers_side_tables() {
    let dir = temp_dir("rows-fingerprint");
    write_tables(&dir, 10);
    let c = cfg("", JOINS);
    let fp = fingerprint(&c.data, &dir).unwrap();
    let files: Vec<&str> = fp.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(files, vec!["interactions.csv", "items.csv", "users.csv"]);
    let run = dir.join("run");
    std::fs::create_dir_all(&run).unwrap();
    write_data_files(&run, &c.data, &dir).unwrap();
    assert_eq!(
        changes_since_training(&run, &c.data, &dir).unwrap(),
        Some(vec![])
    );
    let items = dir.join("items.csv");
    let text = std::fs::read_to_string(&items)
        .unwrap()
        .replace("Film 3", "Film 4");
    std::fs::write(&items, text).unwrap();
    let changes = changes_since_training(&run, &c.data, &dir)
        .unwrap()
        .unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(changes[0].contains("items.csv") && changes[0].contains("other contents"));
    std::fs::remove_file(dir.join("users.csv")).unwrap();
    let changes = changes_since_training(&run, &c.data, &dir)
        .unwrap()
        .unwrap();
    assert!(
        changes.iter().any(|c| c.contains("users.csv")),
        "{changes:?}"
    );
}

#[test]
fn join_keys_are_checked_when_the_config_is_loaded() {
    let bad = |joins: &str| {
        RunConfig::from_str(&config("interactions.csv", "", joins), "test", &[])
            .unwrap_err()
            .to_string()
    };
    let e = bad("[[data.join]]\nfile = \"items.csv\"\n");
    assert!(e.contains("data.join[0].on"), "{e}");
    let e = bad("[[data.join]]\nfile = \"items.csv\"\nleft_on = \"item_id\"\n");
    assert!(e.contains("right_on"), "{e}");
    let e = bad("[[data.join]]\nfile = \"items.csv\"\non = \"item_id\"\ntake = [\"item_id\"]\n");
    assert!(e.contains("data.join[0].take"), "{e}");
    let e = bad("[[data.join]]\nfile = \"items.csv\"\non = \"item_id\"\nheader = false\n");
    assert!(e.contains("data.join[0].columns"), "{e}");
}
