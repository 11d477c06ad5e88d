//! Issue #15, `mtrec seq` on any data set, end to end: a self-made sequences folder and an
//! interactions file train with `mtrec seq`; the run folders hold the id maps with the
//! original ids; `mtrec eval` on them prints the run's summary metrics; `mtrec predict`
//! scores pairs given with original ids (its ranks give the summary's HR@10 and MRR); an
//! unknown item is an error at file:line (or a marked row with `--bad-rows mark`).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod cli_support;

use cli_support::{mtrec, ok, predict, seq_train};

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

/// 60 users walking a cycle of 24 items with a user-specific stride.
fn sequences() -> Vec<(String, Vec<String>)> {
    (0..60usize)
        .map(|u| {
            let n = 3 + u % 8;
            let stride = 1 + u % 3;
            let items = (0..n)
                .map(|j| format!("sku-{:02}", (u * 5 + j * stride) % 24))
                .collect();
            (format!("user{u:02}"), items)
        })
        .collect()
}

struct Fixture {
    root: PathBuf,
    data: PathBuf,
    seq_run: PathBuf,
    log_run: PathBuf,
}

const MODEL: &str = "max_len = 6\n[model]\ndim = 16\nblocks = 1\nheads = 2\ndropout = 0.0\n\
[train]\nepochs = 3\nbatch_size = 16\nlr = 0.01\npatience = 0\nseed = 3\n";

fn train(root: &Path, data: &Path, name: &str, data_cfg: &str) -> PathBuf {
    let cfg = root.join(format!("{name}.toml"));
    std::fs::write(&cfg, format!("[data]\n{data_cfg}\n{MODEL}")).unwrap();
    let run = root.join(name);
    seq_train(&cfg, data, &run);
    run
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("mtrec-i15seq-cli-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let data = root.join("data");
        std::fs::create_dir_all(data.join("shop")).unwrap();
        let seqs = sequences();
        let lines: Vec<String> = seqs
            .iter()
            .map(|(u, s)| format!("{u} {}", s.join(" ")))
            .collect();
        std::fs::write(data.join("shop/user_sequence.txt"), lines.join("\n") + "\n").unwrap();
        // the same interactions as a log with timestamps, written newest first
        let mut log = vec!["user_id,item_id,unix_time".to_string()];
        for (u, s) in &seqs {
            for (j, i) in s.iter().enumerate() {
                log.push(format!("{u},{i},{}", 1_700_000_000 + j * 60));
            }
        }
        log[1..].reverse();
        std::fs::write(data.join("shop/log.csv"), log.join("\n") + "\n").unwrap();
        let seq_run = train(&root, &data, "seq_run", "format = \"sequences\"\ndir = \"shop\"\nseed = 5");
        let log_run = train(
            &root,
            &data,
            "log_run",
            "dataset = \"shop-log\"\nformat = \"interactions\"\ndir = \"shop\"\nfile = \"log.csv\"\nheader = true\nseed = 5",
        );
        Fixture {
            root,
            data,
            seq_run,
            log_run,
        }
    })
}

fn read_json(p: &Path) -> Value {
    json(&std::fs::read_to_string(p).unwrap())
}

#[test]
fn i15seq_run_folders_hold_the_id_maps_with_original_ids() {
    let f = fixture();
    let seqs = sequences();
    for run in [&f.seq_run, &f.log_run] {
        let ids = read_json(&run.join("ids.json"));
        let users: Vec<&str> = ids["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u.as_str().unwrap())
            .collect();
        let items: Vec<&str> = ids["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u.as_str().unwrap())
            .collect();
        assert_eq!(items[0], "<pad>");
        let mut want_items: Vec<&str> = seqs
            .iter()
            .flat_map(|(_, s)| s.iter().map(String::as_str))
            .collect();
        want_items.sort_unstable();
        want_items.dedup();
        let mut got = items[1..].to_vec();
        got.sort_unstable();
        assert_eq!(got, want_items, "every original item id once");
        let mut got_users = users.clone();
        got_users.sort_unstable();
        let mut want_users: Vec<&str> = seqs.iter().map(|(u, _)| u.as_str()).collect();
        want_users.sort_unstable();
        assert_eq!(got_users, want_users);
        let summary = read_json(&run.join("summary.json"));
        assert_eq!(summary["items"].as_u64().unwrap() as usize, items.len() - 1);
        assert!(!run.read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".tmp-")));
    }
    // both readers give the same item ids (same keys, same seed), whatever the line order
    assert_eq!(
        read_json(&f.seq_run.join("ids.json"))["items"],
        read_json(&f.log_run.join("ids.json"))["items"]
    );
    let summary = read_json(&f.log_run.join("summary.json"));
    assert_eq!(summary["dataset"], "shop-log");
    assert_eq!(
        read_json(&f.seq_run.join("summary.json"))["dataset"],
        "shop"
    );
}

#[test]
fn i15seq_eval_on_a_seq_run_equals_its_summary() {
    let f = fixture();
    for run in [&f.seq_run, &f.log_run] {
        let summary = read_json(&run.join("summary.json"));
        for split in ["test", "valid"] {
            // no --data-dir: the folder recorded in ids.json
            let m = json(&ok(&mtrec(&[
                "eval",
                "--run",
                run.to_str().unwrap(),
                "--split",
                split,
            ])));
            let want = &summary[split];
            for k in ["users", "hr5", "ndcg5", "hr10", "ndcg10", "mrr"] {
                assert_eq!(m[k], want[k], "{split} {k} of {}", run.display());
            }
        }
        assert!(summary["test"]["users"].as_u64().unwrap() == 60);
    }
    let out = mtrec(&[
        "eval",
        "--run",
        f.seq_run.to_str().unwrap(),
        "--split",
        "cold",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("leave-last-out"));
}

#[test]
fn i15seq_predict_scores_histories_with_original_ids() {
    let f = fixture();
    // every user's test holdout, given by original ids: the ranks give the summary metrics
    let mut input = String::from("history,item\n");
    for (_, s) in sequences() {
        input.push_str(&format!(
            "{},{}\n",
            s[..s.len() - 1].join(" "),
            s[s.len() - 1]
        ));
    }
    let inp = f.root.join("holdouts.csv");
    std::fs::write(&inp, input).unwrap();
    let out = f.root.join("holdouts_scored.csv");
    ok(&predict(
        &f.seq_run,
        &inp,
        &out,
        &["--data-dir", f.data.to_str().unwrap()],
    ));
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "line,history,item,next_item_logit,next_item,rank"
    );
    let (mut hits, mut rr, mut n) = (0.0, 0.0, 0.0);
    for (k, l) in lines.enumerate() {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f[0], (k + 2).to_string(), "line of the input row");
        let p: f64 = f[4].parse().unwrap();
        assert!(p > 0.0 && p < 1.0, "{l}");
        let rank: usize = f[5].parse().unwrap();
        hits += f64::from(rank <= 10);
        rr += 1.0 / rank as f64;
        n += 1.0;
    }
    let test = &read_json(&f.seq_run.join("summary.json"))["test"];
    assert_eq!(n, 60.0);
    assert!((hits / n - test["hr10"].as_f64().unwrap()).abs() < 1e-12);
    assert!((rr / n - test["mrr"].as_f64().unwrap()).abs() < 1e-9);

    // (user, item) pairs: the user's whole sequence is the history; same item, same user
    // through a history equal to that sequence gives the same score
    let (u, s) = &sequences()[7];
    let inp = f.root.join("pairs.csv");
    std::fs::write(&inp, format!("user,item\n{u},sku-03\n\n{u},{}\n", s[0])).unwrap();
    let out = f.root.join("pairs_scored.csv");
    ok(&predict(&f.log_run, &inp, &out, &[]));
    let by_user = std::fs::read_to_string(&out).unwrap();
    let inp2 = f.root.join("pairs_hist.csv");
    std::fs::write(&inp2, format!("history,item\n{},sku-03\n", s.join(" "))).unwrap();
    let out2 = f.root.join("pairs_hist_scored.csv");
    ok(&predict(&f.log_run, &inp2, &out2, &[]));
    let by_hist = std::fs::read_to_string(&out2).unwrap();
    let row1: Vec<&str> = by_user.lines().nth(1).unwrap().split(',').collect();
    let row2: Vec<&str> = by_hist.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(row1[0], "2");
    // the same history (other batch shapes: equal up to float rounding)
    for c in [3, 4] {
        let (a, b): (f64, f64) = (row1[c].parse().unwrap(), row2[c].parse().unwrap());
        assert!(
            (a - b).abs() <= 1e-5 * (1.0 + a.abs()),
            "{by_user}\n{by_hist}"
        );
    }
    assert_eq!(row1[5], row2[5], "same rank: {by_user}\n{by_hist}");
    assert_eq!(
        by_user.lines().nth(2).unwrap().split(',').next(),
        Some("4"),
        "blank line 3 skipped, line numbers kept"
    );
}

#[test]
fn i15seq_predict_unknown_item_is_an_error_at_its_line_or_a_marked_row() {
    let f = fixture();
    let inp = f.root.join("unknown.csv");
    std::fs::write(
        &inp,
        "user,item\nuser01,sku-01\nuser02,no-such-sku\nuser03,sku-02\n",
    )
    .unwrap();
    let out = f.root.join("unknown_scored.csv");
    let run = &f.seq_run;
    let r = predict(run, &inp, &out, &[]);
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("unknown.csv:3:2") && err.contains("no-such-sku"),
        "{err}"
    );
    assert!(!out.exists(), "nothing written on error");
    ok(&predict(run, &inp, &out, &["--bad-rows", "mark"]));
    let text = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 4, "{text}");
    assert!(rows[0].ends_with(",error"));
    assert!(
        rows[2].starts_with("3,user02,no-such-sku,,,,") && rows[2].contains("no-such-sku"),
        "{text}"
    );
    assert!(
        rows[1].ends_with(','),
        "scored rows have an empty error: {text}"
    );
    // an unknown user is an error too; unknown history items are left out and counted
    std::fs::write(&inp, "user,item\nnobody,sku-01\n").unwrap();
    let r = predict(run, &inp, &out, &["--force"]);
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("unknown.csv:2:1"),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    std::fs::write(&inp, "history,item\nsku-01 ghost sku-02,sku-03\n").unwrap();
    let r = predict(run, &inp, &out, &["--force"]);
    ok(&r);
    assert!(String::from_utf8_lossy(&r.stderr)
        .contains("1 history item id(s) are not in the run's catalogue"));
}

#[test]
fn i15seq_changed_data_is_refused_by_the_id_maps() {
    let f = fixture();
    let copy = f.root.join("changed");
    std::fs::create_dir_all(copy.join("shop")).unwrap();
    let text = std::fs::read_to_string(f.data.join("shop/user_sequence.txt")).unwrap();
    std::fs::write(
        copy.join("shop/user_sequence.txt"),
        text.replace("sku-05", "sku-99"),
    )
    .unwrap();
    let r = mtrec(&[
        "eval",
        "--run",
        f.seq_run.to_str().unwrap(),
        "--data-dir",
        copy.to_str().unwrap(),
    ]);
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("ids.json") && err.contains("other item ids"),
        "{err}"
    );
}

#[test]
fn i15seq_latin1_item_text_is_an_error_unless_asked_and_then_feeds_the_keyword_head() {
    let f = fixture();
    // item texts in Latin-1 bytes ("crème" with 0xE8), one keyword per item parity
    let mut bytes = Vec::new();
    for i in 0..24 {
        bytes.extend_from_slice(format!("sku-{i:02}\t").as_bytes());
        bytes.extend_from_slice(if i % 2 == 0 {
            b"cr\xE8me soap\n"
        } else {
            b"lipstick red\n"
        });
    }
    let dir = f.root.join("latin");
    std::fs::create_dir_all(dir.join("shop")).unwrap();
    std::fs::copy(
        f.data.join("shop/user_sequence.txt"),
        dir.join("shop/user_sequence.txt"),
    )
    .unwrap();
    std::fs::write(dir.join("shop/items.tsv"), bytes).unwrap();
    let cfg = f.root.join("latin.toml");
    std::fs::write(
        &cfg,
        format!(
            "[data]\nformat = \"sequences\"\ndir = \"shop\"\nitem_text = \"items.tsv\"\n{MODEL}"
        ),
    )
    .unwrap();
    let run = |name: &str, set: &[&str]| {
        let out = f.root.join(name);
        let mut args = vec![
            "seq",
            "--config",
            cfg.to_str().unwrap(),
            "--data-dir",
            dir.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
            "--set",
            "model.keywords=3",
        ];
        for s in set {
            args.extend(["--set", s]);
        }
        (mtrec(&args), out)
    };
    let (r, _) = run("latin_utf8", &[]);
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("items.tsv:1:10") && err.contains("data.encoding = \"latin-1\""),
        "{err}"
    );
    let (r, out) = run("latin_latin1", &["data.encoding=latin-1"]);
    ok(&r);
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(
        summary["keywords"], 3,
        "crème, soap, lipstick/red: {summary}"
    );
}
