//! Issue #13 items 2, 3, 11, 12 and 15 through the `mtrec` binary: `predict` never
//! writes over the input or a run's files, never drops or shifts a row, refuses a
//! checkpoint holding NaN or a flipped bit; `eval` refuses changed data files, an empty
//! split (`--split cold` of a random split) and a split without labels.

use std::path::{Path, PathBuf};
use std::process::Command;

mod events_support;

use events_support::{events_config, temp_dir, write_events, THREE_TASKS};

fn mtrec(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mtrec"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn p(x: &Path) -> &str {
    x.to_str().unwrap()
}

/// A one-epoch run on `events.csv` (in `dir`) trained with `data_extra` lines in `[data]`
/// and `split` replacing the random split; returns the run folder.
fn train_run(dir: &Path, data_extra: &str, split: Option<&str>) -> PathBuf {
    write_events(dir);
    let mut cfg = events_config(THREE_TASKS, 1, "").replace(
        "missing_values = [\"\"]",
        &format!("missing_values = [\"\"]\n{data_extra}"),
    );
    if let Some(s) = split {
        let a = cfg.find("[split]").unwrap();
        let b = cfg.find("[model]").unwrap();
        cfg.replace_range(a..b, s);
    }
    std::fs::write(dir.join("run.toml"), cfg).unwrap();
    let run = dir.join("run");
    let (ok, _, err) = mtrec(&[
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
    ]);
    assert!(ok, "training failed: {err}");
    run
}

/// Rows to score: the first `n` data lines of events.csv (with its header).
fn input_rows(dir: &Path, n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("events.csv")).unwrap();
    text.lines().take(n + 1).map(str::to_string).collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

fn predict(run: &Path, input: &Path, output: &Path, extra: &[&str]) -> (bool, String) {
    let mut args = vec![
        "predict",
        "--run",
        p(run),
        "--input",
        p(input),
        "--output",
        p(output),
    ];
    args.extend_from_slice(extra);
    let (ok, _, err) = mtrec(&args);
    (ok, err)
}

#[test]
fn predict_never_writes_over_the_input_the_run_or_an_existing_file() {
    let dir = temp_dir("pg-output");
    let run = train_run(&dir, "", None);
    let input = dir.join("new.csv");
    write_lines(&input, &input_rows(&dir, 20));
    let before = std::fs::read(&input).unwrap();
    let model_before = std::fs::read(run.join("model.safetensors")).unwrap();

    // the input itself: refused even without --force (the old code overwrote it)
    let (ok, err) = predict(&run, &input, &input, &[]);
    assert!(!ok, "predict wrote over its own input");
    assert!(err.contains("is the input file"), "{err}");
    assert_eq!(std::fs::read(&input).unwrap(), before);
    // also with --force and under another spelling of its path
    for out in [input.clone(), dir.join(".").join("new.csv")] {
        let (ok, err) = predict(&run, &input, &out, &["--force"]);
        assert!(!ok && err.contains("is the input file"), "{err}");
    }
    assert_eq!(std::fs::read(&input).unwrap(), before);

    // a run file, or any path inside the run folder
    for out in [run.join("model.safetensors"), run.join("scores.csv")] {
        let (ok, err) = predict(&run, &input, &out, &["--force"]);
        assert!(!ok && err.contains("inside the run folder"), "{err}");
    }
    // links resolve to what they point at
    let to_model = dir.join("link_to_model.csv");
    let to_input = dir.join("link_to_input.csv");
    std::os::unix::fs::symlink(run.join("model.safetensors"), &to_model).unwrap();
    std::os::unix::fs::symlink(&input, &to_input).unwrap();
    let (ok, err) = predict(&run, &input, &to_model, &["--force"]);
    assert!(!ok && err.contains("inside the run folder"), "{err}");
    let (ok, err) = predict(&run, &input, &to_input, &["--force"]);
    assert!(!ok && err.contains("is the input file"), "{err}");
    assert_eq!(std::fs::read(&input).unwrap(), before);
    assert_eq!(
        std::fs::read(run.join("model.safetensors")).unwrap(),
        model_before
    );
    assert!(!run.join("scores.csv").exists());

    // an existing file needs --force
    let out = dir.join("scores.csv");
    std::fs::write(&out, "precious\n").unwrap();
    let (ok, err) = predict(&run, &input, &out, &[]);
    assert!(!ok && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "precious\n");
    let (ok, err) = predict(&run, &input, &out, &["--force"]);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 21, "{text}");
    // the id columns (the categorical features) are written beside the scores by default
    assert!(
        text.starts_with("line,user,item,click,buy,watch\n"),
        "{text}"
    );
    assert!(temp_files(&dir).is_empty(), "{:?}", temp_files(&dir));

    // a failing run leaves neither the output nor a temporary file
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "user,item,price,genres\n1,2,notanumber,a\n").unwrap();
    let out2 = dir.join("scores2.csv");
    let (ok, _) = predict(&run, &bad, &out2, &[]);
    assert!(!ok);
    assert!(!out2.exists());
    assert!(temp_files(&dir).is_empty(), "{:?}", temp_files(&dir));
}

/// Parses the output CSV (no quoted fields with commas in these tests).
fn parse(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = text.lines();
    let head = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    (head, rows)
}

#[test]
fn predict_keeps_every_row_in_place_on_a_run_trained_with_skip_and_dedup() {
    let dir = temp_dir("pg-rows");
    let run = train_run(&dir, "bad_rows = \"skip\"\ndedup = true", None);
    let mut rows = input_rows(&dir, 12);
    let clean = dir.join("clean.csv");
    write_lines(&clean, &rows);
    // a repeated row and a malformed row (too few fields) in the middle
    rows.insert(4, rows[3].clone());
    rows.insert(6, "1,2".to_string());
    let input = dir.join("input.csv");
    write_lines(&input, &rows);

    // default: the malformed row is an error naming its line; nothing is written
    let out = dir.join("scores.csv");
    let (ok, err) = predict(&run, &input, &out, &[]);
    assert!(!ok, "a malformed row was dropped silently");
    assert!(err.contains(":7:"), "{err}");
    assert!(!out.exists());

    // --bad-rows mark: one output row per input row, the bad one marked
    let (ok, err) = predict(
        &run,
        &input,
        &out,
        &["--bad-rows", "mark", "--keep", "user,item"],
    );
    assert!(ok, "{err}");
    let (head, got) = parse(&std::fs::read_to_string(&out).unwrap());
    assert_eq!(
        head,
        ["line", "user", "item", "click", "buy", "watch", "error"]
    );
    assert_eq!(got.len(), rows.len() - 1, "one output row per input row");
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r[0], (i + 2).to_string(), "input line numbers in order");
    }
    let bad = &got[5];
    assert_eq!(bad[0], "7");
    assert!(bad[1..6].iter().all(String::is_empty), "{bad:?}");
    assert!(!bad[6].is_empty(), "the reason is given");
    // the duplicate is scored twice, like the row it repeats
    assert_eq!(got[2][1..6], got[3][1..6]);

    // every other row's scores and keys equal those of the clean file, row for row
    let out_clean = dir.join("clean_scores.csv");
    let (ok, err) = predict(&run, &clean, &out_clean, &["--keep", "user,item"]);
    assert!(ok, "{err}");
    let (_, want) = parse(&std::fs::read_to_string(&out_clean).unwrap());
    let kept: Vec<&Vec<String>> = got
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 5)
        .map(|(_, r)| r)
        .collect();
    assert_eq!(kept.len(), want.len());
    for (g, w) in kept.iter().zip(&want) {
        assert_eq!(g[1..6], w[1..6]);
        assert!(g[6].is_empty());
    }
    // the keys are the input's own columns
    let first: Vec<&str> = rows[1].split(',').collect();
    assert_eq!(want[0][1], first[0]);
    assert_eq!(want[0][2], first[1]);
}

/// Rewrites the run's model with one value replaced by `v` (a valid file otherwise).
fn poison_model(run: &Path, v: f32) {
    use mtrec::checkpoint::{read_safetensors, write_safetensors, TensorOut};
    let path = run.join("model.safetensors");
    let ckpt = read_safetensors(&path).unwrap();
    let mut tensors: Vec<(String, Vec<usize>, Vec<f32>)> = ckpt
        .tensors()
        .iter()
        .map(|(k, t)| (k.clone(), t.shape.clone(), t.data.clone()))
        .collect();
    tensors[0].2[0] = v;
    let outs: Vec<TensorOut<'_>> = tensors
        .iter()
        .map(|(k, s, d)| TensorOut::new(k.clone(), s.clone(), d))
        .collect();
    write_safetensors(&path, &outs, ckpt.metadata()).unwrap();
}

#[test]
fn predict_refuses_a_model_holding_nan_a_flipped_bit_or_a_folder() {
    let dir = temp_dir("pg-nan");
    let run = train_run(&dir, "", None);
    let input = dir.join("new.csv");
    write_lines(&input, &input_rows(&dir, 5));
    let out = dir.join("scores.csv");
    let model = run.join("model.safetensors");
    let good = std::fs::read(&model).unwrap();

    poison_model(&run, f32::NAN);
    let (ok, err) = predict(&run, &input, &out, &[]);
    assert!(!ok, "NaN scores with exit 0");
    assert!(err.contains("the checkpoint holds NaN/inf"), "{err}");
    assert!(err.contains("model.safetensors"), "{err}");
    assert!(!out.exists());

    // a flipped mantissa bit: finite, found by the checksum
    let mut bytes = good.clone();
    let n = bytes.len();
    bytes[n - 4] ^= 1;
    std::fs::write(&model, &bytes).unwrap();
    let (ok, err) = predict(&run, &input, &out, &[]);
    assert!(!ok, "a damaged model was used");
    assert!(
        err.contains("checksum") && err.contains("model.safetensors"),
        "{err}"
    );

    // cut off
    std::fs::write(&model, &good[..good.len() / 2]).unwrap();
    let (ok, err) = predict(&run, &input, &out, &[]);
    assert!(!ok);
    assert!(
        err.contains("the file is not a safetensors file or is cut off"),
        "{err}"
    );

    // a folder in its place
    std::fs::remove_file(&model).unwrap();
    std::fs::create_dir(&model).unwrap();
    let (ok, err) = predict(&run, &input, &out, &[]);
    assert!(!ok && err.contains("is a folder"), "{err}");
    assert!(!out.exists());
}

fn eval(run: &Path, dir: &Path, extra: &[&str]) -> (bool, String, String) {
    let mut args = vec!["eval", "--run", p(run), "--data-dir", p(dir)];
    args.extend_from_slice(extra);
    mtrec(&args)
}

#[test]
fn eval_refuses_changed_data_files_unless_allowed() {
    let dir = temp_dir("pg-changed");
    let run = train_run(&dir, "", None);
    assert!(run.join("data_files.json").is_file());
    let (ok, out, err) = eval(&run, &dir, &[]);
    assert!(ok, "{err}");
    assert!(out.contains("auc"), "{out}");

    // one value changed, same size
    let path = dir.join("events.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let i = text.rfind(",1,").or_else(|| text.rfind(",0,")).unwrap();
    let mut b = text.into_bytes();
    b[i + 1] = if b[i + 1] == b'1' { b'0' } else { b'1' };
    std::fs::write(&path, &b).unwrap();
    let (ok, _, err) = eval(&run, &dir, &[]);
    assert!(!ok, "eval split changed data silently");
    assert!(
        err.contains("events.csv") && err.contains("other contents"),
        "{err}"
    );
    assert!(err.contains("--allow-changed-data"), "{err}");

    // rows appended: the size differs
    let mut longer = b.clone();
    longer.extend_from_slice(b"1,2,3.5,a,1,1,0.4\n");
    std::fs::write(&path, &longer).unwrap();
    let (ok, _, err) = eval(&run, &dir, &[]);
    assert!(!ok && err.contains("bytes now"), "{err}");

    let (ok, out, err) = eval(&run, &dir, &["--allow-changed-data"]);
    assert!(ok, "{err}");
    assert!(err.contains("changed since training"), "{err}");
    assert!(out.contains("auc"), "{out}");
}

#[test]
fn eval_of_a_split_without_rows_or_labels_is_an_error() {
    let dir = temp_dir("pg-split");
    let run = train_run(&dir, "", None);
    let (ok, _, err) = eval(&run, &dir, &["--split", "cold"]);
    assert!(!ok, "--split cold of a random split gave exit 0");
    assert!(
        err.contains("no cold rows") && err.contains("item_holdout"),
        "{err}"
    );

    // a test file without any label
    let dir2 = temp_dir("pg-split-nolabel");
    write_events(&dir2);
    let rows = input_rows(&dir2, 30);
    let unlabelled: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                return l.clone();
            }
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{},{},{},,,", f[0], f[1], f[2], f[3])
        })
        .collect();
    let split = r#"[split]
kind = "files"
train_files = ["events.csv"]
valid_files = ["valid.csv"]
test_files = ["unlabelled.csv"]

"#;
    // events.csv is the training split, valid.csv (labelled) the validation split and
    // unlabelled.csv the test split
    std::fs::write(dir2.join("unlabelled.csv"), unlabelled.join("\n") + "\n").unwrap();
    write_lines(&dir2.join("valid.csv"), &input_rows(&dir2, 100));
    let run2 = {
        let d = &dir2;
        let mut cfg = events_config(THREE_TASKS, 1, "").replace(
            "files = [\"events.csv\"]",
            "files = [\"events.csv\", \"valid.csv\", \"unlabelled.csv\"]",
        );
        let a = cfg.find("[split]").unwrap();
        let b = cfg.find("[model]").unwrap();
        cfg.replace_range(a..b, split);
        std::fs::write(d.join("run.toml"), cfg).unwrap();
        let run = d.join("run");
        let (ok, _, err) = mtrec(&[
            "train",
            "--config",
            p(&d.join("run.toml")),
            "--data-dir",
            p(d),
            "--out",
            p(&run),
            "--quiet",
            "--threads",
            "1",
        ]);
        assert!(ok, "training failed: {err}");
        run
    };
    let (ok, _, err) = eval(&run2, &dir2, &["--split", "test"]);
    assert!(!ok, "a split without labels gave exit 0");
    assert!(err.contains("has a label"), "{err}");
}

#[test]
fn predict_marks_every_bad_row_in_place_past_the_first_ten_and_bad_numbers_too() {
    let dir = temp_dir("pg-many-bad");
    let run = train_run(&dir, "", None);
    let good = input_rows(&dir, 40);
    let header = good[0].clone();
    let price = header.split(',').position(|c| c == "price").unwrap();
    // every third data row malformed (14 of 40: past the ten the report keeps), and
    // one row whose price is not a number
    let mut rows = vec![header];
    let mut bad_lines = Vec::new();
    for (i, r) in good[1..].iter().enumerate() {
        let line = i + 2;
        if i % 3 == 0 {
            rows.push("1,2".to_string());
            bad_lines.push(line);
        } else if i == 10 {
            let mut f: Vec<&str> = r.split(',').collect();
            f[price] = "abc";
            rows.push(f.join(","));
            bad_lines.push(line);
        } else {
            rows.push(r.clone());
        }
    }
    assert!(bad_lines.len() > 10);
    let input = dir.join("input.csv");
    write_lines(&input, &rows);
    let out = dir.join("scores.csv");
    let (ok, err) = predict(&run, &input, &out, &["--bad-rows", "mark"]);
    assert!(ok, "{err}");
    let (head, got) = parse(&std::fs::read_to_string(&out).unwrap());
    let error_col = head.iter().position(|h| h == "error").unwrap();
    assert_eq!(got.len(), rows.len() - 1, "one output row per input row");
    for (i, r) in got.iter().enumerate() {
        let line = i + 2;
        assert_eq!(r[0], line.to_string(), "input line numbers in order");
        let marked = !r[error_col].is_empty();
        assert_eq!(marked, bad_lines.contains(&line), "line {line}: {r:?}");
        if marked {
            assert!(r[1..error_col].iter().all(String::is_empty), "{r:?}");
        }
    }
    let abc = &got[10][error_col];
    assert!(abc.contains("price") && abc.contains("abc"), "{abc}");
}
