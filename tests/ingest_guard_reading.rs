//! Reading data files within bounds (issue #13, items 4, 14 and 15): an unterminated
//! quote is one bad row at the line where it opened (the rows after it are kept);
//! lines, fields and gzip output have limits named in the errors; only regular files
//! are read; CR-only line ends and huge fields are reported with bounded excerpts.

use mtrec::config::{BadRows, DataConfig, Format, RunConfig};
use mtrec::data::ingest::{read_file, read_table, RawTable};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn temp_file(tag: &str, bytes: &[u8]) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let path = std::env::temp_dir().join(format!(
        "mtrec-ingest-guard-{}-{n}-{tag}",
        std::process::id()
    ));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn cfg(columns: &[&str], policy: BadRows) -> DataConfig {
    DataConfig {
        columns: Some(columns.iter().map(|s| s.to_string()).collect()),
        bad_rows: policy,
        ..Default::default()
    }
}

fn read_err(path: &Path, c: &DataConfig) -> String {
    match read_file(path, c, &[]) {
        Ok(t) => panic!("expected an error, read {} rows", t.num_rows()),
        Err(e) => e.to_string(),
    }
}

fn texts(t: &RawTable, name: &str) -> Vec<String> {
    let c = t.column(name).unwrap();
    (0..c.len()).map(|r| c.get(r).to_string()).collect()
}

/// 300 rows `i,v<i>,<i>`, line `bad_line` replaced by `bad`.
fn three_hundred(bad_line: usize, bad: &str) -> Vec<u8> {
    let mut s = String::new();
    for i in 1..=300 {
        if i == bad_line {
            s.push_str(bad);
        } else {
            s.push_str(&format!("{i},v{i},{i}"));
        }
        s.push('\n');
    }
    s.into_bytes()
}

#[test]
fn unterminated_quote_is_one_skipped_row_and_the_rest_are_kept() {
    for bad_line in [5, 250, 300] {
        let p = temp_file("quote.csv", &three_hundred(bad_line, "7,\"oops,7"));
        let t = read_file(&p, &cfg(&["a", "b", "c"], BadRows::Skip), &[]).unwrap();
        assert_eq!(t.num_rows(), 299, "quote at line {bad_line}");
        assert_eq!(t.skipped.count, 1);
        let r = &t.skipped.first[0];
        assert_eq!(r.line, bad_line as u64);
        assert!(r.reason.contains("unterminated quote"), "{}", r.reason);
        // Rows keep their own lines: the row after the bad one is read as itself.
        let lines: Vec<u64> = t.source.iter().map(|s| s.line).collect();
        let want: Vec<u64> = (1..=300).filter(|&l| l != bad_line as u64).collect();
        assert_eq!(lines, want);
        if bad_line < 300 {
            assert_eq!(texts(&t, "b")[bad_line - 1], format!("v{}", bad_line + 1));
        }
    }
}

#[test]
fn unterminated_quote_is_an_error_at_the_line_where_it_opened() {
    let p = temp_file("quote-err.csv", &three_hundred(5, "7,\"oops,7"));
    let msg = read_err(&p, &cfg(&["a", "b", "c"], BadRows::Error));
    assert!(msg.starts_with(&format!("{}:5:2: ", p.display())), "{msg}");
    assert!(msg.contains("unterminated quote"), "{msg}");
    assert!(msg.contains("data.max_quoted_lines = 100"), "{msg}");
}

#[test]
fn unterminated_quote_by_bytes_names_max_field_bytes() {
    let p = temp_file("quote-bytes.csv", &three_hundred(10, "7,\"oops,7"));
    let c = DataConfig {
        max_field_bytes: 200,
        max_quoted_lines: 1000,
        ..cfg(&["a", "b", "c"], BadRows::Skip)
    };
    let t = read_file(&p, &c, &[]).unwrap();
    assert_eq!((t.num_rows(), t.skipped.count), (299, 1));
    let r = &t.skipped.first[0];
    assert_eq!(r.line, 10);
    assert!(
        r.reason.contains("data.max_field_bytes = 200"),
        "{}",
        r.reason
    );
}

#[test]
fn quoted_fields_spanning_lines_within_the_limits_are_kept() {
    let p = temp_file(
        "multi.csv",
        b"1,\"one\ntwo\r\nthree\",x\n2,\"a \"\"quoted\"\" word\",y\r\n3,\"c,d\"e,z\n4,plain,w",
    );
    let c = DataConfig {
        max_quoted_lines: 3,
        ..cfg(&["a", "b", "c"], BadRows::Error)
    };
    let t = read_file(&p, &c, &[]).unwrap();
    assert_eq!(
        texts(&t, "b"),
        ["one\ntwo\r\nthree", "a \"quoted\" word", "c,de", "plain"]
    );
    assert_eq!(texts(&t, "c"), ["x", "y", "z", "w"]);
    let lines: Vec<u64> = t.source.iter().map(|s| s.line).collect();
    assert_eq!(lines, [1, 4, 5, 6]);
    // One line more than the limit allows is an unterminated quote.
    let c = DataConfig {
        max_quoted_lines: 2,
        ..c
    };
    assert!(read_err(&p, &c).contains("unterminated quote"));
}

#[test]
fn tsv_quotes_are_text_and_never_open_a_field() {
    let p = temp_file("quote.tsv", b"1\t\"open\t3\n2\tb\t4\n");
    let c = DataConfig {
        format: Format::Tsv,
        ..cfg(&["a", "b", "c"], BadRows::Error)
    };
    let t = read_file(&p, &c, &[]).unwrap();
    assert_eq!(texts(&t, "b"), ["\"open", "b"]);
}

#[test]
fn an_over_long_line_is_an_error_naming_the_key_with_a_bounded_excerpt() {
    let mut bytes = b"1,2,3\n".to_vec();
    bytes.extend(vec![b'x'; 50_000]);
    bytes.extend(b",2,3\n4,5,6\n");
    let p = temp_file("long.csv", &bytes);
    let c = DataConfig {
        max_line_bytes: 1000,
        ..cfg(&["a", "b", "c"], BadRows::Skip)
    };
    let msg = read_err(&p, &c);
    assert!(
        msg.starts_with(&format!("{}:2:1: line", p.display())),
        "{msg}"
    );
    assert!(msg.contains("data.max_line_bytes = 1000"), "{msg}");
    assert!(msg.len() < 800, "unbounded message: {} bytes", msg.len());
    // Under the default limit (1 MiB) the same line is read.
    let t = read_file(&p, &cfg(&["a", "b", "c"], BadRows::Skip), &[]).unwrap();
    assert_eq!(t.num_rows(), 3);
}

#[test]
fn an_over_long_field_is_a_bad_row_with_a_bounded_excerpt() {
    let long = "y".repeat(5000);
    let p = temp_file(
        "field.csv",
        format!("1,a,3\n2,{long},3\n4,\"{long}\",6\n7,b,9\n").as_bytes(),
    );
    let c = DataConfig {
        max_field_bytes: 100,
        ..cfg(&["a", "b", "c"], BadRows::Skip)
    };
    let t = read_file(&p, &c, &[]).unwrap();
    assert_eq!(texts(&t, "a"), ["1", "7"]);
    assert_eq!(t.skipped.count, 2);
    let r = &t.skipped.first[0];
    assert_eq!(r.line, 2);
    assert!(
        r.reason.contains("data.max_field_bytes = 100"),
        "{}",
        r.reason
    );
    assert!(
        r.reason.len() < 400 && r.text.chars().count() <= 201,
        "{r:?}"
    );
    let msg = read_err(
        &p,
        &DataConfig {
            bad_rows: BadRows::Error,
            ..c
        },
    );
    assert!(msg.starts_with(&format!("{}:2:2:", p.display())), "{msg}");
    assert!(msg.len() < 800, "{msg}");
}

#[test]
fn cr_only_line_ends_are_named_with_the_fix() {
    // Small: the whole file would be one line.
    let p = temp_file("mac.csv", b"a,b\r1,2\r3,4\r");
    let c = DataConfig {
        header: true,
        ..Default::default()
    };
    let msg = read_err(&p, &c);
    assert!(
        msg.starts_with(&format!("{}:1:1: line ends", p.display())),
        "{msg}"
    );
    assert!(
        msg.contains("CR (\\r) alone") && msg.contains("tr '\\r' '\\n'"),
        "{msg}"
    );
    // Large: past max_line_bytes, still named as CR-only, with a bounded excerpt.
    let big: Vec<u8> = b"a,b\r"
        .iter()
        .copied()
        .chain(b"1,2\r".repeat(100_000))
        .collect();
    let p = temp_file("mac-big.csv", &big);
    let msg = read_err(
        &p,
        &DataConfig {
            max_line_bytes: 4096,
            ..c
        },
    );
    assert!(msg.contains("CR (\\r) alone"), "{msg}");
    assert!(msg.len() < 800, "{msg}");
}

#[test]
fn only_regular_files_are_read() {
    let c = cfg(&["a"], BadRows::Skip);
    let msg = read_err(Path::new("/dev/zero"), &c);
    assert!(msg.starts_with("/dev/zero: is not a regular file"), "{msg}");
    let dir = std::env::temp_dir();
    let msg = read_err(&dir, &c);
    assert!(msg.contains("is a directory"), "{msg}");
    // A FIFO would block the reader forever.
    let fifo = temp_file("fifo", b"");
    std::fs::remove_file(&fifo).unwrap();
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let msg = read_err(&fifo, &c);
        assert!(msg.contains("is not a regular file"), "{msg}");
        std::fs::remove_file(&fifo).unwrap();
    }
    // Through data.files too.
    let c = DataConfig {
        files: vec!["/dev/zero".into()],
        ..c
    };
    let msg = read_table(&c, Path::new("."), &[]).unwrap_err().to_string();
    assert!(msg.contains("/dev/zero: is not a regular file"), "{msg}");
}

#[test]
fn gzip_output_is_bounded_by_max_decompressed_bytes() {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for i in 0..100_000 {
        writeln!(e, "{},{}", i % 7, i % 3).unwrap();
    }
    let p = temp_file("many.csv.gz", &e.finish().unwrap());
    let c = DataConfig {
        max_decompressed_bytes: 100_000,
        ..cfg(&["a", "b"], BadRows::Skip)
    };
    let msg = read_err(&p, &c);
    assert!(
        msg.contains("data.max_decompressed_bytes = 100000"),
        "{msg}"
    );
    let t = read_file(&p, &cfg(&["a", "b"], BadRows::Skip), &[]).unwrap();
    assert_eq!(t.num_rows(), 100_000);
}

#[test]
fn limits_are_config_keys_and_zero_is_refused() {
    let text = r#"
[data]
files = ["x.csv"]
header = true
max_line_bytes = 4096
max_field_bytes = 512
max_quoted_lines = 7
max_decompressed_bytes = 1000000
[[features]]
name = "a"
kind = "categorical"
[[tasks]]
name = "y"
type = "binary"
column = "y"
"#;
    let run = RunConfig::from_str(text, "limits.toml", &[]).unwrap();
    let d = &run.data;
    assert_eq!(
        (
            d.max_line_bytes,
            d.max_field_bytes,
            d.max_quoted_lines,
            d.max_decompressed_bytes
        ),
        (4096, 512, 7, 1_000_000)
    );
    let p = temp_file("zero.csv", b"1\n");
    let msg = read_err(
        &p,
        &DataConfig {
            max_quoted_lines: 0,
            ..cfg(&["a"], BadRows::Skip)
        },
    );
    assert!(
        msg.contains("data.max_quoted_lines") && msg.contains("is 0"),
        "{msg}"
    );
}

#[test]
fn structured_loaders_bound_lines_and_refuse_non_regular_files() {
    use mtrec::config::data::Loader;
    use mtrec::data::loaders::load_table;
    let dir =
        std::env::temp_dir().join(format!("mtrec-ingest-guard-taobao-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut bytes = b"1,10,100,pv,1000\n".to_vec();
    bytes.extend(vec![b'9'; 20_000]);
    bytes.extend(b",10,100,pv,1000\n");
    std::fs::write(dir.join("ub.csv"), &bytes).unwrap();
    let c = DataConfig {
        files: vec!["ub.csv".into()],
        loader: Loader::Taobao,
        bad_rows: BadRows::Skip,
        max_line_bytes: 1000,
        ..Default::default()
    };
    let msg = load_table(&c, &dir, &[]).unwrap_err().to_string();
    assert!(
        msg.contains("ub.csv:2:1: line: longer than data.max_line_bytes = 1000"),
        "{msg}"
    );
    assert!(msg.len() < 800, "{msg}");
    let c = DataConfig {
        files: vec!["/dev/zero".into()],
        ..c
    };
    let msg = load_table(&c, &dir, &[]).unwrap_err().to_string();
    assert!(msg.contains("/dev/zero: is not a regular file"), "{msg}");
}

#[test]
fn invalid_utf8_in_a_huge_field_is_shown_as_a_bounded_excerpt() {
    let mut bytes = b"1,".to_vec();
    bytes.extend(vec![0xff; 100_000]);
    bytes.extend(b",3\n");
    let p = temp_file("utf8.csv", &bytes);
    let msg = read_err(&p, &cfg(&["a", "b", "c"], BadRows::Error));
    assert!(msg.starts_with(&format!("{}:1:2:", p.display())), "{msg}");
    assert!(msg.contains("invalid UTF-8"), "{msg}");
    assert!(msg.len() < 1200, "{} bytes", msg.len());
}
