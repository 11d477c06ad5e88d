//! Issue #17 §1 (predict on a file larger than memory): `mtrec predict` reads --input in
//! chunks (`MTREC_PREDICT_CHUNK_ROWS` forces small ones) and writes the same bytes as
//! reading it whole: marked rows, --keep columns, unseen ids, quoted fields (a comma, a
//! line break), blank lines, gzip, chunk boundaries inside the 4096-row scoring batches.
//! An error in a later chunk names its file:line:field and leaves nothing behind.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

mod events_support;

use events_support::{events_config, temp_dir, write_events, xorshift, THREE_TASKS};

fn p(x: &Path) -> &str {
    x.to_str().unwrap()
}

/// Runs `mtrec` with `MTREC_PREDICT_CHUNK_ROWS = chunk` (unset: `None`).
fn mtrec(args: &[&str], chunk: Option<usize>) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mtrec"));
    cmd.args(args).env_remove("MTREC_PREDICT_CHUNK_ROWS");
    if let Some(c) = chunk {
        cmd.env("MTREC_PREDICT_CHUNK_ROWS", c.to_string());
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A one-epoch MMoE run on events.csv (user, item, genres, price; three tasks).
fn train_run(dir: &Path) -> PathBuf {
    write_events(dir);
    std::fs::write(dir.join("run.toml"), events_config(THREE_TASKS, 1, "")).unwrap();
    let run = dir.join("run");
    let (ok, err) = mtrec(
        &[
            "train",
            "--config",
            p(&dir.join("run.toml")),
            "--data-dir",
            p(dir),
            "--out",
            p(&run),
            "--quiet",
            "--threads",
            "1",
        ],
        None,
    );
    assert!(ok, "training failed: {err}");
    run
}

/// `n` rows in the events layout with what scoring must keep in place: unseen users
/// and genres, quoted fields holding a comma or a line break, blank lines, and (with
/// `bad`) rows with a wrong field count and prices that are not numbers.
fn input_text(n: usize, bad: bool) -> String {
    let mut s = String::from("user,item,price,genres,click,buy,watch\n");
    let mut next = xorshift(99);
    for i in 0..n {
        let (u, it) = (next() % 23, next() % 30); // users 20..22 are unseen
        let price = (next() % 1000) as f64 / 100.0;
        let genres = match i % 97 {
            5 => "\"a,b\"".to_string(),         // a comma inside quotes
            6 => "\"c\nline two\"".to_string(), // a line break inside quotes
            7 => "zz|a".to_string(),            // an unseen genre
            _ => ["a|b", "b", "c|a", ""][(next() % 4) as usize].to_string(),
        };
        if bad && i % 401 == 17 {
            s.push_str("1,2\n"); // two fields
            continue;
        }
        let price = if bad && i % 613 == 40 {
            "cheap".to_string()
        } else {
            price.to_string()
        };
        s.push_str(&format!("{u},{it},{price},{genres},,,\n"));
        if i % 331 == 0 {
            s.push('\n'); // blank lines are not rows
        }
    }
    s
}

fn predict(
    run: &Path,
    input: &Path,
    out: &Path,
    extra: &[&str],
    chunk: Option<usize>,
) -> (bool, String) {
    let mut args = vec![
        "predict",
        "--run",
        p(run),
        "--input",
        p(input),
        "--output",
        p(out),
        "--force",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    mtrec(&args, chunk)
}

fn gzip(path: &Path, text: &str) {
    let f = std::fs::File::create(path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap();
}

/// The number of chunks `predict` reports reading (1 when it says nothing).
fn chunks_read(stderr: &str) -> usize {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("read --input in "))
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// The unseen users `predict` reports: `... user N of M rows ...`.
fn unseen_users(stderr: &str) -> usize {
    let at = stderr.find(": user ").expect("an unseen-id line") + ": user ".len();
    stderr[at..].split(' ').next().unwrap().parse().unwrap()
}

/// stderr without the chunk line: the rows written and the unseen ids.
fn summary(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| !l.starts_with("read --input in "))
        .collect()
}

#[test]
fn predict_in_chunks_writes_the_bytes_of_reading_the_input_whole() {
    let dir = temp_dir("s8ps-bytes");
    let run = train_run(&dir);
    // 9000 rows: the 4096-row scoring batches end inside chunks of 700 and 4097 rows
    let text = input_text(9000, true);
    let input = dir.join("input.csv");
    std::fs::write(&input, &text).unwrap();
    let input_gz = dir.join("input.csv.gz");
    gzip(&input_gz, &text);
    let modes: [&[&str]; 3] = [
        &["--bad-rows", "mark", "--keep", "user,genres"],
        &["--bad-rows", "mark"],
        &["--bad-rows", "mark", "--no-keys"],
    ];
    for extra in modes {
        let whole = dir.join("whole.csv");
        let (ok, err_whole) = predict(&run, &input, &whole, extra, None);
        assert!(ok, "{err_whole}");
        assert_eq!(chunks_read(&err_whole), 1, "{err_whole}");
        let want = std::fs::read(&whole).unwrap();
        let text_out = String::from_utf8_lossy(&want);
        if extra.contains(&"user,genres") {
            assert!(
                text_out.contains("\"c\nline two\""),
                "a quoted line break is kept"
            );
            assert!(text_out.contains("\"a,b\""), "a quoted comma is kept");
        }
        assert!(err_whole.contains("unreadable rows marked"), "{err_whole}");
        assert!(
            unseen_users(&err_whole) > 0,
            "unseen users are counted: {err_whole}"
        );
        for (file, chunk) in [(&input, 700), (&input, 4097), (&input_gz, 700)] {
            let out = dir.join("chunked.csv");
            let (ok, err) = predict(&run, file, &out, extra, Some(chunk));
            assert!(ok, "{err}");
            assert!(
                chunks_read(&err) >= 9000 / chunk,
                "--input was not read in chunks of {chunk} rows: {err}"
            );
            assert!(
                std::fs::read(&out).unwrap() == want,
                "chunks of {chunk} rows of {} ({extra:?}) wrote other bytes than reading it whole",
                file.display()
            );
            // the same rows written, marked and unseen, summed over the chunks
            let (a, b) = (summary(&err), summary(&err_whole));
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(
                    x.replace(p(&out), "OUT").replace(".gz", ""),
                    y.replace(p(&whole), "OUT")
                );
            }
        }
    }
}

#[test]
fn predict_in_one_row_chunks_keeps_quoted_fields_and_blank_lines_whole() {
    let dir = temp_dir("s8ps-tiny");
    let run = train_run(&dir);
    let text = input_text(200, true);
    let input = dir.join("input.csv");
    std::fs::write(&input, &text).unwrap();
    let extra: &[&str] = &["--bad-rows", "mark", "--keep", "genres,item"];
    let whole = dir.join("whole.csv");
    let (ok, err) = predict(&run, &input, &whole, extra, None);
    assert!(ok, "{err}");
    let out = dir.join("chunked.csv");
    let (ok, err) = predict(&run, &input, &out, extra, Some(1));
    assert!(ok, "{err}");
    assert!(chunks_read(&err) >= 200, "{err}");
    assert_eq!(
        String::from_utf8(std::fs::read(&out).unwrap()).unwrap(),
        String::from_utf8(std::fs::read(&whole).unwrap()).unwrap()
    );
}

#[test]
fn an_error_in_a_later_chunk_names_its_line_and_leaves_nothing_behind() {
    let dir = temp_dir("s8ps-error");
    let run = train_run(&dir);
    let text = input_text(3000, true);
    let input = dir.join("input.csv");
    std::fs::write(&input, &text).unwrap();
    // the first malformed row ("1,2") is data row 18: line 19 plus the blank line
    // written after row 0
    let line = text.lines().position(|l| l == "1,2").unwrap() + 1;
    let out = dir.join("scores.csv");
    for chunk in [None, Some(5)] {
        let (ok, err) = predict(&run, &input, &out, &[], chunk);
        assert!(!ok, "a malformed row was scored");
        let at = format!("{}:{line}:", p(&input));
        assert!(err.contains(&at), "expected `{at}` in: {err}");
        assert!(!out.exists(), "an output was written");
        let tmp: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(tmp.is_empty(), "temporary files left: {tmp:?}");
    }
    // a bad number past the first chunks: an error too, at its line and field
    let text = input_text(3000, false);
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // a plain row (seven fields, no quotes) past line 2500
    let k = (2500..lines.len())
        .find(|&i| lines[i].split(',').count() == 7 && !lines[i].contains('"'))
        .unwrap();
    let fields: Vec<&str> = lines[k].split(',').collect();
    lines[k] = format!("{},{},dear,{}", fields[0], fields[1], fields[3..].join(","));
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let (ok, err) = predict(&run, &input, &out, &[], Some(100));
    assert!(!ok, "a price that is not a number was scored");
    assert!(err.contains(&format!(":{}:", k + 1)), "{err}");
    assert!(err.contains("dear"), "{err}");
    assert!(!out.exists());
}
