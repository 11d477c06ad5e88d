//! `mtrec ensemble` refuses members that disagree on tasks or split (naming the
//! difference), an existing output folder, and `load_saved` (one model: compress, distillation's
//! teacher) refuses an ensemble; recommend and serve take it (tests/i14text_*.rs).

mod i19ens_support;

use i19ens_support::*;

#[test]
fn members_that_disagree_are_refused_and_the_error_names_the_difference() {
    let dir = temp_dir("i19ens-refuse");
    write_split_events(&dir);
    let good = dir.join("good");
    train_member(&dir, &config(THREE_TASKS, "mmoe", 1, ""), &good);
    let two_tasks = dir.join("two-tasks");
    train_member(&dir, &config(CLICK_BUY, "mmoe", 2, ""), &two_tasks);
    let swapped = dir.join("swapped");
    let cfg = config(THREE_TASKS, "shared_bottom", 3, "")
        .replace(r#"valid_files = ["valid.csv"]"#, r#"valid_files = ["x"]"#)
        .replace(
            r#"test_files = ["test.csv"]"#,
            r#"test_files = ["valid.csv"]"#,
        )
        .replace(r#"valid_files = ["x"]"#, r#"valid_files = ["test.csv"]"#);
    train_member(&dir, &cfg, &swapped);

    let g = good.display().to_string();
    let run = |other: &std::path::Path, out: &str| {
        mtrec(
            &dir,
            &[
                "ensemble",
                "--runs",
                &g,
                &other.display().to_string(),
                "--method",
                "mean",
                "--out",
                &dir.join(out).display().to_string(),
            ],
        )
    };
    let (ok, _, err) = run(&two_tasks, "e1");
    assert!(!ok);
    assert!(err.contains("tasks") && err.contains("watch"), "{err}");
    assert!(
        err.contains("two-tasks"),
        "the error names the member: {err}"
    );
    assert!(!dir.join("e1").join("ensemble.json").exists());

    let (ok, _, err) = run(&swapped, "e2");
    assert!(!ok);
    assert!(
        err.contains("[split]") && err.contains("test_files"),
        "{err}"
    );

    // agreeing members work; the output folder is then never overwritten
    let good2 = dir.join("good2");
    train_member(&dir, &config(THREE_TASKS, "shared_bottom", 4, ""), &good2);
    let (ok, _, err) = run(&good2, "e3");
    assert!(ok, "{err}");
    let (ok, _, err) = run(&good2, "e3");
    assert!(!ok && err.contains("--out"), "{err}");

    // load_saved loads one model: an ensemble folder is refused with what to use
    let e = mtrec::train::run::saved::load_saved(&dir.join("e3"))
        .err()
        .expect("refused");
    let msg = e.to_string();
    assert!(
        msg.contains("ensemble") && msg.contains("mtrec predict"),
        "{msg}"
    );
}
