//! Reading delimited files: malformed rows are reported with their place (or skipped
//! and listed), numbers are checked, gzip is recognised by content, and the real
//! files in ../shared/data read as documented.

use mtrec::config::{BadRows, DataConfig, Encoding, Format};
use mtrec::data::ingest::{read_file, read_table, RawTable, KEEP_FIRST};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh file in the temp folder holding `bytes`.
fn temp_file(tag: &str, bytes: &[u8]) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let path = std::env::temp_dir().join(format!("mtrec-ingest-{}-{n}-{tag}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn cfg(columns: &[&str]) -> DataConfig {
    DataConfig {
        columns: Some(columns.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    }
}

fn texts(t: &RawTable, name: &str) -> Vec<String> {
    let c = t.column(name).unwrap();
    (0..c.len()).map(|r| c.get(r).to_string()).collect()
}

fn read_err(path: &Path, c: &DataConfig) -> String {
    match read_file(path, c, &[]) {
        Ok(t) => panic!("expected an error, read {} rows", t.num_rows()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn wrong_field_count_names_place_text_and_expected() {
    let p = temp_file("count.csv", b"1,2,3\n4,5,6\n7,8\n9,10,11\n");
    let msg = read_err(&p, &cfg(&["a", "b", "c"]));
    assert!(
        msg.starts_with(&format!("{}:3:1: row: 2 fields `7,8`", p.display())),
        "{msg}"
    );
    assert!(msg.contains("expected 3 fields (a, b, c)"), "{msg}");
    assert!(msg.contains("bad_rows = \"skip\""), "{msg}");
}

#[test]
fn unparsable_number_names_place_text_and_expected() {
    let p = temp_file("num.csv", b"x,y\n1,2.5\n3,abc\n");
    let c = DataConfig {
        header: true,
        ..Default::default()
    };
    let t = read_file(&p, &c, &["x", "y"]).unwrap();
    assert_eq!(t.parse_f32("x", &c.missing_values).unwrap(), vec![1.0, 3.0]);
    let msg = t.parse_f32("y", &c.missing_values).unwrap_err().to_string();
    assert!(
        msg.starts_with(&format!(
            "{}:3:2: column `y`: `abc`; expected a number",
            p.display()
        )),
        "{msg}"
    );
}

#[test]
fn nan_and_inf_are_not_numbers_here() {
    for bad in ["nan", "NaN", "inf", "-inf", "infinity", "1e40"] {
        let p = temp_file("nan.csv", format!("1\n{bad}\n").as_bytes());
        let t = read_file(&p, &cfg(&["v"]), &[]).unwrap();
        let msg = t.parse_f32("v", &[]).unwrap_err().to_string();
        assert!(msg.contains(&format!("{}:2:1", p.display())), "{msg}");
        assert!(
            msg.contains(&format!("`{bad}`; expected a finite number")),
            "{msg}"
        );
    }
}

#[test]
fn missing_markers_become_nan_and_are_counted() {
    let p = temp_file("missing.csv", b"1\n?\n\nNA\n 2 \n");
    let c = DataConfig {
        trim: false,
        ..cfg(&["v"])
    };
    let t = read_file(&p, &c, &[]).unwrap();
    let parsed = t.column("v").unwrap().parse_f32(&c.missing_values);
    assert_eq!(
        parsed.missing, 2,
        "blank lines are not rows; `?` and `NA` are missing"
    );
    assert!(parsed.values[1].is_nan() && parsed.values[2].is_nan());
    assert_eq!(parsed.values[3], 2.0, "spaces around a number are ignored");
}

#[test]
fn header_and_no_header() {
    let p = temp_file("header.csv", b"id,name,score\n1,ann,3\n2,bob,4\n");
    let c = DataConfig {
        header: true,
        ..Default::default()
    };
    let t = read_file(&p, &c, &["score", "id"]).unwrap();
    assert_eq!(t.names, vec!["score", "id"]);
    assert_eq!(texts(&t, "score"), vec!["3", "4"]);
    assert_eq!(
        t.source.iter().map(|s| s.line).collect::<Vec<_>>(),
        vec![2, 3]
    );
    let msg = read_file(&p, &c, &["nope"]).unwrap_err().to_string();
    assert!(
        msg.contains("no column `nope`") && msg.contains("id, name, score"),
        "{msg}"
    );

    let t = read_file(&p, &cfg(&["a", "b", "c"]), &[]).unwrap();
    assert_eq!(t.num_rows(), 3, "without a header the first line is data");
    assert_eq!(texts(&t, "b"), vec!["name", "ann", "bob"]);
    assert_eq!(t.source[0].line, 1);
}

#[test]
fn tsv_with_quotes_as_text() {
    let p = temp_file("x.tsv", b"a b\t\"q\"\t3\nc\t d \t4\n");
    let c = DataConfig {
        format: Format::Tsv,
        ..cfg(&["s", "q", "n"])
    };
    let t = read_file(&p, &c, &[]).unwrap();
    assert_eq!(texts(&t, "s"), vec!["a b", "c"]);
    assert_eq!(
        texts(&t, "q"),
        vec!["\"q\"", "d"],
        "quotes are text in tsv; fields are trimmed"
    );
}

#[test]
fn gzip_is_recognised_by_content_not_name() {
    let body = b"1,a\n2,b\n";
    let gz_named_csv = temp_file("packed.csv", &gzip(body));
    let plain_named_gz = temp_file("plain.csv.gz", body);
    let mut two_members = gzip(b"1,a\n");
    two_members.extend(gzip(b"2,b\n"));
    let multi = temp_file("multi.gz", &two_members);
    for p in [&gz_named_csv, &plain_named_gz, &multi] {
        let t = read_file(p, &cfg(&["n", "s"]), &[]).unwrap();
        assert_eq!(texts(&t, "s"), vec!["a", "b"], "{}", p.display());
    }
    let mut cut = gzip(b"1,a\n2,b\n3,c\n");
    cut.truncate(cut.len() - 10);
    let p = temp_file("cut.gz", &cut);
    let msg = read_err(&p, &cfg(&["n", "s"]));
    assert!(msg.contains("gzip") && msg.contains("cut off"), "{msg}");
}

#[test]
fn skip_policy_counts_and_lists_the_first_ten() {
    let mut body = String::new();
    for i in 0..30 {
        body.push_str(if i % 2 == 0 { "1,2\n" } else { "1,2,3\n" });
    }
    let p = temp_file("skip.csv", body.as_bytes());
    let c = DataConfig {
        bad_rows: BadRows::Skip,
        ..cfg(&["a", "b"])
    };
    let t = read_file(&p, &c, &[]).unwrap();
    assert_eq!(t.num_rows(), 15);
    assert_eq!(t.skipped.count, 15);
    assert_eq!(t.skipped.first.len(), KEEP_FIRST);
    assert_eq!(t.skipped.first[0].line, 2);
    assert_eq!(t.skipped.first[9].line, 20);
    assert_eq!(t.skipped.first[0].text, "1,2,3");
    let report = t.skipped.report();
    assert!(
        report.starts_with("skipped 15 malformed rows (data.bad_rows = \"skip\"); the first 10:"),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "{}:2: row: 3 fields `1,2,3`; expected 2 fields",
            p.display()
        )),
        "{report}"
    );
}

#[test]
fn skip_policy_drops_unparsable_numbers_and_reports_them() {
    let p = temp_file("skipnum.csv", b"1,x\nabc,y\n3,z\ninf,w\n?,v\n");
    let c = DataConfig {
        bad_rows: BadRows::Skip,
        ..cfg(&["n", "s"])
    };
    let mut t = read_file(&p, &c, &[]).unwrap();
    let msg = t
        .clone()
        .drop_unparsable(&["n"], &c.missing_values, BadRows::Error)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains(":2:1: column `n`: `abc`; expected a number"),
        "{msg}"
    );
    assert_eq!(
        t.drop_unparsable(&["n"], &c.missing_values, BadRows::Skip)
            .unwrap(),
        2
    );
    assert_eq!(texts(&t, "s"), vec!["x", "z", "v"]);
    assert_eq!(
        t.source.iter().map(|s| s.line).collect::<Vec<_>>(),
        vec![1, 3, 5]
    );
    assert_eq!(t.skipped.count, 2);
    assert_eq!(t.skipped.first[1].line, 4);
    assert!(t.skipped.first[1]
        .reason
        .contains("expected a finite number"));
    let n = t.parse_f32("n", &c.missing_values).unwrap();
    assert_eq!(n.len(), 3);
    assert!(n[2].is_nan());
}

#[test]
fn cut_off_last_line_is_reported() {
    let p = temp_file("cut.csv", b"1,2,3\n4,5,6\n7,8");
    let msg = read_err(&p, &cfg(&["a", "b", "c"]));
    assert!(
        msg.starts_with(&format!("{}:3:1: row: 2 fields `7,8`", p.display())),
        "{msg}"
    );
    assert!(msg.contains("cut off"), "{msg}");
    // A complete last row without a final line end is fine.
    let p = temp_file("noeol.csv", b"1,2,3\n4,5,6");
    assert_eq!(
        read_file(&p, &cfg(&["a", "b", "c"]), &[])
            .unwrap()
            .num_rows(),
        2
    );
}

#[test]
fn dedup_drops_and_counts_exact_repeats() {
    let p = temp_file("dup.csv", b"1,a\n2,b\n1,a\n1,a \n1,b\n");
    let c = DataConfig {
        dedup: true,
        ..cfg(&["n", "s"])
    };
    let t = read_file(&p, &c, &["s"]).unwrap();
    assert_eq!(
        texts(&t, "s"),
        vec!["a", "b", "b"],
        "dedup compares all fields, after trimming"
    );
    assert_eq!(t.skipped.duplicates, 2);
    assert!(t
        .skipped
        .report()
        .contains("dropped 2 exact duplicate rows"));
}

#[test]
fn invalid_utf8_is_malformed_unless_latin1() {
    let p = temp_file("latin.csv", b"1,caf\xe9\n");
    let msg = read_err(&p, &cfg(&["n", "s"]));
    assert!(msg.contains(":1:2: field 2 (`s`): invalid UTF-8"), "{msg}");
    assert!(msg.contains("latin-1"), "{msg}");
    let c = DataConfig {
        encoding: Encoding::Latin1,
        ..cfg(&["n", "s"])
    };
    assert_eq!(texts(&read_file(&p, &c, &[]).unwrap(), "s"), vec!["café"]);
}

#[test]
fn crlf_and_quoted_fields() {
    let p = temp_file("crlf.csv", b"1,\"a, b\"\r\n2,c\r\n");
    let t = read_file(&p, &cfg(&["n", "s"]), &[]).unwrap();
    assert_eq!(texts(&t, "s"), vec!["a, b", "c"]);
    assert_eq!(t.source[1].line, 2);
}

#[test]
fn read_table_joins_files_under_data_dir() {
    let a = temp_file("part-a.csv", b"1,x\n2,y\n");
    let b = temp_file("part-b.csv", b"3,x\n");
    let dir = a.parent().unwrap().to_path_buf();
    let c = DataConfig {
        files: vec![
            a.file_name().unwrap().to_string_lossy().into(),
            b.display().to_string(),
        ],
        ..cfg(&["n", "s"])
    };
    let t = read_table(&c, &dir, &["s", "n", "s"]).unwrap();
    assert_eq!(
        t.names,
        vec!["s", "n"],
        "needed columns are kept once, in order"
    );
    assert_eq!(texts(&t, "n"), vec!["1", "2", "3"]);
    assert_eq!(
        t.column("s").unwrap().dict,
        vec!["x", "y"],
        "texts are interned"
    );
    assert_eq!(t.source[2].file, 1);
    assert_eq!(t.locate(2), format!("{}:1", b.display()));
    let missing = DataConfig {
        files: vec!["no-such-file.csv".into()],
        ..cfg(&["n", "s"])
    };
    let msg = read_table(&missing, &dir, &[]).unwrap_err().to_string();
    assert!(
        msg.contains("no-such-file.csv") && msg.contains("--data-dir"),
        "{msg}"
    );
}

/// `MTREC_DATA`: the shared data folder (`../shared/data` from the project root).
fn shared_data() -> PathBuf {
    let dir = std::env::var("MTREC_DATA")
        .expect("set MTREC_DATA to the shared data folder, e.g. MTREC_DATA=../shared/data");
    let dir = PathBuf::from(dir);
    assert!(
        dir.is_dir(),
        "MTREC_DATA={} is not a folder; point it at ../shared/data",
        dir.display()
    );
    dir
}

fn taobao(policy: BadRows) -> (DataConfig, PathBuf) {
    let c = DataConfig {
        files: vec!["taobao-userbehavior/UserBehavior-prefix.csv".into()],
        bad_rows: policy,
        ..cfg(&["user", "item", "category", "behavior", "timestamp"])
    };
    (c, shared_data())
}

#[test]
#[ignore = "needs ../shared/data (set MTREC_DATA)"]
fn taobao_cut_off_row_stops_the_error_policy() {
    let (c, dir) = taobao(BadRows::Error);
    let msg = read_table(&c, &dir, &[]).unwrap_err().to_string();
    assert!(
        msg.contains("UserBehavior-prefix.csv:84476:1: row: 4 fields `100370,1968385,1875258,pv`"),
        "{msg}"
    );
    assert!(
        msg.contains("cut off") && msg.contains("expected 5 fields"),
        "{msg}"
    );
}

#[test]
#[ignore = "needs ../shared/data (set MTREC_DATA)"]
fn taobao_cut_off_row_is_reported_by_the_skip_policy() {
    let (c, dir) = taobao(BadRows::Skip);
    let t = read_table(&c, &dir, &["user", "behavior", "timestamp"]).unwrap();
    assert_eq!(t.num_rows(), 84_475);
    assert_eq!(t.skipped.count, 1);
    assert_eq!(t.skipped.first[0].line, 84_476);
    assert_eq!(t.skipped.first[0].text, "100370,1968385,1875258,pv");
    let report = t.skipped.report();
    assert!(report.starts_with("skipped 1 malformed row"), "{report}");
    assert!(report.contains(":84476: row: 4 fields"), "{report}");
    let counts = |b: &str| texts(&t, "behavior").iter().filter(|x| *x == b).count();
    assert_eq!(
        (counts("pv"), counts("cart"), counts("fav"), counts("buy")),
        (75_872, 4_497, 2_356, 1_750)
    );
    assert_eq!(t.parse_f32("timestamp", &[]).unwrap().len(), 84_475);
}

#[test]
#[ignore = "needs ../shared/data (set MTREC_DATA)"]
fn census_reads_all_rows_and_columns() {
    let names: Vec<String> = (0..42).map(|i| format!("c{i}")).collect();
    let c = DataConfig {
        files: vec!["census-income/census-income.test.gz".into()],
        columns: Some(names),
        ..Default::default()
    };
    let t = read_table(&c, &shared_data(), &[]).unwrap();
    assert_eq!((t.num_rows(), t.columns.len()), (99_762, 42));
    assert!(t.skipped.is_empty());
    let income = t.column("c41").unwrap();
    assert_eq!(
        (0..income.len())
            .filter(|&r| income.get(r) == "50000+.")
            .count(),
        6_186
    );
    let marital = t.column("c7").unwrap();
    assert_eq!(
        (0..marital.len())
            .filter(|&r| marital.get(r) == "Never married")
            .count(),
        43_143
    );
    let age = t.parse_f32("c0", &c.missing_values).unwrap();
    assert!(age.iter().all(|a| (0.0..=100.0).contains(a)));
}

#[test]
#[ignore = "needs ../shared/data (set MTREC_DATA)"]
fn example_config_reads_census_and_its_numbers_parse() {
    use mtrec::config::{FeatureKind, RunConfig};
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/example.toml");
    let cfg = RunConfig::from_file(path, &[]).unwrap();
    let mut t = read_table(&cfg.data, &shared_data(), &cfg.needed_columns()).unwrap();
    assert_eq!(t.num_rows(), 99_762);
    assert_eq!(t.columns.len(), cfg.needed_columns().len());
    let numeric: Vec<&str> = cfg
        .features
        .iter()
        .filter(|f| f.kind == FeatureKind::Numeric)
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(
        t.drop_unparsable(&numeric, &cfg.data.missing_values, cfg.data.bad_rows)
            .unwrap(),
        0
    );
    for name in numeric {
        let v = t.parse_f32(name, &cfg.data.missing_values).unwrap();
        assert!(
            v.iter().all(|x| x.is_finite()),
            "{name} has no missing values in census"
        );
    }
}
