//! Issue #17 §1: `ingest::read_table_chunked` hands the rows of `data.files` over in
//! chunks that, put together, are the table `read_table` reads: the same texts, lines,
//! dropped rows and reasons, at every chunk size (quoted fields across lines, blank
//! lines, bad rows, gzip, two files); no chunk holds more than its rows; the bytes read
//! reach the file's size.

use mtrec::config::{BadRows, DataConfig, Format};
use mtrec::data::ingest::{read_table, read_table_chunked, RawTable, TableChunks};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

mod parquet_fixture_support;
use parquet_fixture_support::Col;

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mtrec-s8pc-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// 300 rows `id,name,score` with quoted names (a comma, a line break, a doubled
/// quote), blank lines, rows with a wrong field count and invalid UTF-8.
fn write_input(path: &Path, gz: bool) {
    let mut s: Vec<u8> = b"id,name,score\n".to_vec();
    for i in 0..300 {
        let row: Vec<u8> = match i % 23 {
            3 => format!("{i},\"x, y\",{i}.5\n").into_bytes(),
            4 => format!("{i},\"first\nsecond\",1\n").into_bytes(),
            5 => format!("{i},\"say \"\"hi\"\"\",2\n").into_bytes(),
            6 => format!("{i},only two\n").into_bytes(),
            7 => [format!("{i},").as_bytes(), b"\xff\xfe", b",3\n"].concat(),
            8 => b"\n\n".to_vec(),
            _ => format!("{i},n{},{}\n", i % 17, i % 5).into_bytes(),
        };
        s.extend_from_slice(&row);
    }
    if gz {
        let f = std::fs::File::create(path).unwrap();
        let mut e = flate2::write::GzEncoder::new(f, flate2::Compression::default());
        e.write_all(&s).unwrap();
        e.finish().unwrap();
    } else {
        std::fs::write(path, s).unwrap();
    }
}

fn config(dir: &Path, files: &[&str]) -> DataConfig {
    DataConfig {
        files: files
            .iter()
            .map(|f| dir.join(f).display().to_string())
            .collect(),
        header: true,
        bad_rows: BadRows::Skip,
        list_every_bad_row: true,
        ..DataConfig::default()
    }
}

/// Each row as (file, line, texts), and each dropped row as (line, reason).
type Rows = Vec<(String, u64, Vec<String>)>;
fn rows_of(t: &RawTable) -> (Rows, Vec<(u64, String)>) {
    let rows = (0..t.num_rows())
        .map(|r| {
            let s = t.source[r];
            let texts = t.columns.iter().map(|c| c.get(r).to_string()).collect();
            (t.files[s.file as usize].clone(), s.line, texts)
        })
        .collect();
    let dropped = t
        .skipped
        .first
        .iter()
        .map(|d| (d.line, d.reason.clone()))
        .collect();
    (rows, dropped)
}

fn chunks_of(cfg: &DataConfig, needed: &[&str], rows: usize) -> Vec<RawTable> {
    let got: Arc<Mutex<Vec<RawTable>>> = Arc::default();
    let sink = {
        let got = Arc::clone(&got);
        Box::new(move |t: RawTable| {
            got.lock().unwrap().push(t);
            Ok(())
        })
    };
    let bytes = Arc::new(AtomicU64::new(0));
    read_table_chunked(cfg, Path::new("."), needed, rows, Some(bytes.clone()), sink).unwrap();
    let total: u64 = cfg
        .files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    let read = bytes.load(Ordering::Relaxed);
    if cfg.format == Format::Parquet {
        // Parquet: the row groups' compressed sizes (the file also holds its footer)
        assert!(read > 0 && read < total, "{read} of {total} bytes");
    } else {
        assert_eq!(read, total, "every byte of the files is counted");
    }
    let out = std::mem::take(&mut *got.lock().unwrap());
    out
}

#[test]
fn chunks_put_together_are_the_table_read_whole() {
    let dir = temp_dir("whole");
    write_input(&dir.join("a.csv"), false);
    write_input(&dir.join("b.csv.gz"), true);
    for (files, needed) in [
        (vec!["a.csv"], vec!["name", "id"]),
        (vec!["b.csv.gz"], vec![]),
        (vec!["a.csv", "b.csv.gz"], vec!["score", "name"]),
    ] {
        let cfg = config(&dir, &files);
        let whole = read_table(&cfg, Path::new("."), &needed).unwrap();
        let (want_rows, want_dropped) = rows_of(&whole);
        assert!(want_dropped.len() >= 20, "the fixture has bad rows");
        for rows in [1, 7, 64, 100_000] {
            let chunks = chunks_of(&cfg, &needed, rows);
            let (mut got_rows, mut got_dropped) = (Vec::new(), Vec::new());
            for c in &chunks {
                assert_eq!(c.names, whole.names);
                assert!(
                    c.num_rows() + c.skipped.count <= rows,
                    "a chunk of {rows} rows holds {} kept + {} dropped",
                    c.num_rows(),
                    c.skipped.count
                );
                let (r, d) = rows_of(c);
                got_rows.extend(r);
                got_dropped.extend(d);
            }
            let least = (want_rows.len() + want_dropped.len()) / rows;
            assert!(
                chunks.len() >= least,
                "{} chunks of {rows} rows",
                chunks.len()
            );
            assert_eq!(got_rows, want_rows, "chunks of {rows} rows of {files:?}");
            assert_eq!(
                got_dropped, want_dropped,
                "chunks of {rows} rows of {files:?}"
            );
        }
    }
}

#[test]
fn the_reader_thread_yields_chunks_then_its_error() {
    let dir = temp_dir("thread");
    write_input(&dir.join("a.csv"), false);
    let mut cfg = config(&dir, &["a.csv"]);
    let whole = read_table(&cfg, Path::new("."), &[]).unwrap();
    let chunks: Vec<RawTable> = TableChunks::spawn(&cfg, Path::new("."), &[], 50)
        .collect::<mtrec::error::Result<_>>()
        .unwrap();
    let n: usize = chunks.iter().map(RawTable::num_rows).sum();
    assert_eq!(n, whole.num_rows());
    assert!(chunks.len() >= 6, "{} chunks", chunks.len());

    // under bad_rows = "error": the chunks before the first bad row, then its error
    cfg.bad_rows = BadRows::Error;
    let items: Vec<_> = TableChunks::spawn(&cfg, Path::new("."), &[], 2).collect();
    let (last, before) = items.split_last().unwrap();
    assert!(before.iter().all(Result::is_ok));
    assert_eq!(
        before.len(),
        3,
        "rows 0..6 in chunks of two before the bad row"
    );
    let err = last.as_ref().expect_err("the error comes last").to_string();
    assert!(err.contains("a.csv:9:"), "{err}");
}

/// 130 rows `id` (int64), `name` (UTF-8, every 9th null) in row groups of 50.
fn write_parquet(path: &Path) {
    let groups = (0..3i64).map(|g| {
        let ids: Vec<i64> = (g * 50..(g * 50 + 50).min(130)).collect();
        vec![
            Col::I64(ids.iter().map(|&i| Some(i)).collect()),
            Col::text(ids.iter().map(|i| (i % 9 != 0).then(|| format!("n, {i}")))),
        ]
    });
    parquet_fixture_support::write_parquet(
        path,
        "message m { required int64 id; optional binary name (UTF8); }",
        groups,
    );
}

#[test]
fn parquet_chunks_put_together_are_the_table_read_whole() {
    let dir = temp_dir("parquet");
    write_parquet(&dir.join("a.parquet"));
    let mut cfg = config(&dir, &["a.parquet"]);
    cfg.format = Format::Parquet;
    let whole = read_table(&cfg, Path::new("."), &["name", "id"]).unwrap();
    assert_eq!(whole.num_rows(), 130);
    let (want, _) = rows_of(&whole);
    for rows in [1, 7, 50, 1000] {
        let chunks = chunks_of(&cfg, &["name", "id"], rows);
        assert!(
            chunks.len() >= 130_usize.div_ceil(rows),
            "{} chunks of {rows} rows",
            chunks.len()
        );
        assert!(chunks.iter().all(|c| c.num_rows() <= rows));
        let got: Vec<_> = chunks.iter().flat_map(|c| rows_of(c).0).collect();
        assert_eq!(got, want, "chunks of {rows} rows");
    }
}
